import type { JobOf } from '../domain/jobs.js';
import { countedRows } from '../domain/members.js';
import type { DeliveryRow, NotificationRow } from '../domain/records.js';
import type { Store } from '../store/types.js';

export interface RecallResult {
  /** Deliveries now recalled (taken back at DingTalk, or cancelled before they were sent). */
  recalled: number;
  /** Being recalled: a send or a recall call is in flight; GET the notification for the outcome. */
  pending: { recipient: string; channel: string; reason: string }[];
  notRecalled: { recipient: string; channel: string; reason: string }[];
  /** Other notifications DingTalk recalled too: they went out in one message with this one (merging). */
  alsoRecalled: string[];
}

export interface RecallDeps {
  store: Store;
  now(): number;
  wake(): void;
  /** How long to wait for DingTalk's answers before answering with what is still pending. */
  waitMs: number;
}

const DELIVERED = new Set(['sent', 'unread', 'read']);

/**
 * A recall: recorded first (so a send in flight recalls what it sends as soon as DingTalk answers), what was not
 * sent yet is cancelled in the same transaction, and a recall job takes back what was delivered. The answer waits a
 * little for DingTalk and says, per recipient, what was recalled, what is still pending and what cannot be.
 * Asking again is safe: recall jobs have deterministic ids.
 */
export async function recallNotification(deps: RecallDeps, n: NotificationRow): Promise<RecallResult> {
  await deps.store.transact(null, deps.now(), async (tx) => {
    // Not sent yet, surely: cancelled. A delivery whose earlier send lost its answer may have arrived: it is sent
    // again (which proves or delivers it) and then recalled where DingTalk allows, or reported not recalled.
    const queued = (await tx.deliveries({ notificationId: n.id, statuses: ['queued'] })).filter((d) => !d.ambiguous);
    await tx.move(
      queued.map((d) => d.id),
      'cancelled',
      { reason: 'recalled before it was sent' },
    );
    // Deliveries first, then the notification, in the order sends lock them (fewer deadlocks to retry).
    await tx.requestRecall(n.id);
    await tx.addJobs([{ id: `rcp_${n.id}`, kind: 'recall', notificationId: n.id, channel: null, destination: null, mergeKey: null, runAt: tx.now, payload: { step: 'plan' } }]);
  });
  deps.wake();
  const deadline = Date.now() + deps.waitMs;
  let state = await recallState(deps.store, n.id);
  while (state.busy && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 50));
    state = await recallState(deps.store, n.id);
  }
  return summarise(deps.store, n.id, state);
}

async function recallState(store: Store, notificationId: string) {
  const [deliveries, jobs] = await Promise.all([store.deliveries({ notificationId }), store.jobs({ notificationId, kinds: ['recall'] }) as Promise<JobOf<'recall'>[]>]);
  const pendingJobs = jobs.filter((j) => j.state !== 'dead');
  const dead = jobs.filter((j) => j.state === 'dead');
  const uncertain = (d: DeliveryRow) => d.status === 'sending' || (d.status === 'queued' && d.ambiguous);
  return { deliveries, pendingJobs, dead, busy: pendingJobs.length > 0 || deliveries.some(uncertain) };
}

/** Other notifications whose deliveries went out in the same DingTalk message as a recalled one of this notification. */
async function recalledAlongside(store: Store, notificationId: string, deliveries: DeliveryRow[]): Promise<string[]> {
  const messages = new Map<string, { destination: string; taskId?: string; processQueryKey?: string }>();
  for (const d of deliveries) {
    if (d.status !== 'recalled') continue;
    if (d.taskId) messages.set(`t|${d.destination}|${d.taskId}`, { destination: d.destination, taskId: d.taskId });
    else if (d.processQueryKey) messages.set(`k|${d.destination}|${d.processQueryKey}`, { destination: d.destination, processQueryKey: d.processQueryKey });
  }
  const others = new Set<string>();
  for (const task of messages.values())
    for (const d of await store.deliveries({ task, statuses: ['recalled'] })) if (d.notificationId !== notificationId) others.add(d.notificationId);
  return [...others].sort();
}

async function summarise(store: Store, notificationId: string, state: Awaited<ReturnType<typeof recallState>>): Promise<RecallResult> {
  const { deliveries, pendingJobs, dead } = state;
  const result: RecallResult = { recalled: 0, pending: [], notRecalled: [], alsoRecalled: await recalledAlongside(store, notificationId, deliveries) };
  const planning = pendingJobs.some((j) => j.payload.step === 'plan');
  const covered = new Set(pendingJobs.flatMap((j) => (j.payload.step === 'message' ? j.payload.deliveryIds : [])));
  // One per recipient, as `counts` has it: a department row whose people have rows of their own is represented by them.
  for (const d of countedRows(deliveries)) {
    const who = { recipient: d.recipient, channel: d.channel };
    if (d.status === 'recalled') result.recalled++;
    else if (d.status === 'sending') result.pending.push({ ...who, reason: 'being sent right now; recalled as soon as DingTalk answers' });
    else if (d.status === 'queued' && d.ambiguous)
      result.pending.push({ ...who, reason: 'an earlier send lost its answer and may have arrived: sent again to find out, then recalled where DingTalk allows' });
    else if (DELIVERED.has(d.status)) {
      if (planning || covered.has(d.id)) result.pending.push({ ...who, reason: 'recall in progress at DingTalk' });
      else if (d.recallError) result.notRecalled.push({ ...who, reason: d.recallError });
      else result.notRecalled.push({ ...who, reason: dead[0]?.lastError ? `recall failed: ${dead[0].lastError}` : 'not recalled' });
    }
  }
  return result;
}
