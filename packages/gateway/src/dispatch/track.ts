import { DingTalkError } from '@dingpush/dingtalk';
import { newId } from '../domain/ids.js';
import { fenceOf, type JobOf, type TrackPayload } from '../domain/jobs.js';
import { isGroup } from '../domain/members.js';
import type { DeliveryRow } from '../domain/records.js';
import { CHANNEL_DESCRIPTORS } from './channels/index.js';
import { DAY_MS, nextShanghaiMidnight, shanghaiDay } from './day.js';
import { describe } from './describe.js';
import { moveToNewJob } from './job-writes.js';
import { callInOwnSlot } from './own-slot.js';
import type { JobContext } from './runtime.js';
import { work } from './unit-of-work.js';

const MAX_POLL_DELAY_MS = 30_000;

/**
 * Follows one DingTalk send until each recipient has an outcome (read, unread, throttled, invalid, failed), then
 * looks again for reads while DingTalk still answers (24 h), within a daily budget of re-checks: each look costs a
 * call of DingTalk's monthly quota. Every move is guarded, so a recall that got there first stays recalled.
 */
export async function runTrack(ctx: JobContext, job: JobOf<'track'>): Promise<void> {
  const { rt } = ctx;
  const p = job.payload;
  const app = rt.apps.get(p.app);
  const tracking = CHANNEL_DESCRIPTORS[p.channel].tracking!;
  const fence = [fenceOf(job)];
  // Only deliveries still carried by this send (a lost-answer proof or a re-send moves them elsewhere).
  const deliveries = (await rt.store.deliveries({ ids: p.deliveryIds, statuses: ['sent', 'unread'] })).filter((d) =>
    p.taskId !== undefined ? d.taskId === String(p.taskId) : d.processQueryKey === p.processQueryKey,
  );
  if (!app || deliveries.length === 0) {
    await work(rt, fence, (tx) => tx.complete([job.id]));
    return;
  }
  if (p.readChecks > 0 && !(await withinReadCheckBudget(ctx, job, app.appKey))) return;

  let result: Awaited<ReturnType<typeof tracking.look>>;
  try {
    const called = await callInOwnSlot(ctx, job, [rt.quotas.appCall(app.appKey, tracking.api)], () => tracking.look(rt, p, deliveries));
    if (!called) return;
    result = called.value;
  } catch (err) {
    if (!(err instanceof DingTalkError) || err.retryable) throw err; // the dispatcher backs off, then gives up into a dead letter
    await work(rt, fence, async (tx) => {
      await tx.move(
        deliveries.filter((d) => d.status === 'sent').map((d) => d.id),
        'unread',
        { reason: `delivered; DingTalk gave no result (${describe(err)})` },
      );
      await tx.complete([job.id]);
    });
    return;
  }

  await work(rt, fence, async (tx) => {
    const now = tx.now;
    const members = result.members ?? [];
    if (members.length) {
      // Touching the aggregate rows first waits for (and then sees) a recall writing them: people are added only to a
      // department send that is still delivered, and a recall that follows finds them (dispatch/recall.ts).
      const live = new Set((await tx.patch([...new Set(members.map((m) => m.of.id))], {}, ['sent', 'unread', 'read'])).map((d) => d.id));
      await tx.addMembers(members.filter((m) => live.has(m.of.id)));
    }
    for (const m of result.moves) {
      const rowIds = m.rows.map((d) => d.id);
      if (m.move === null) await tx.patch(rowIds, { reason: m.reason, ...(m.clearTask ? { taskId: null, processQueryKey: null } : {}) }, ['sent', 'unread']);
      else await tx.move(rowIds, m.move, { reason: m.reason });
    }
    if (result.learnt) {
      const before = await tx.counters([...result.learnt.keys()]);
      await tx.addToCounters(new Map([...result.learnt].map(([k, v]) => [k, v - (before.get(k) ?? 0)])), now + 7 * DAY_MS);
    }
    for (const h of result.heldBack) {
      await moveToNewJob(tx, h.rows, 'heldBack', { channel: p.channel, destination: p.app, mergeKey: p.mergeKey, body: p.body }, h.at, h.reason);
    }
    const next = [];
    if (result.unfinished.length) {
      const delay = Math.min(MAX_POLL_DELAY_MS, rt.config.tracking.firstCheckMs * 2 ** p.polls);
      next.push(followUp(job, { ...p, deliveryIds: result.unfinished.map((d) => d.id), polls: p.polls + 1 }, now + delay));
    }
    const waiting = new Set(result.unfinished.map((d) => d.id));
    const unreadRows = (await tx.deliveries({ ids: [...p.deliveryIds, ...members.map((m) => m.id)], statuses: ['unread'] })).filter((d) => !waiting.has(d.id) && sameSend(d, p));
    // People are looked at again for reads (not a member whose copy came from a send whose answer was lost: its task
    // is not this one), and so is a department or all-users row whose people are, to keep its summary current.
    const people = unreadRows.filter((d) => d.recipientKind === 'userid' || d.recipientKind === 'mobile' || (d.recipientKind === 'member' && !d.ambiguous));
    const unread = people.some((d) => d.recipientKind === 'member') ? [...people, ...unreadRows.filter(isGroup)] : people;
    const at = p.sentAt + (rt.config.tracking.readChecksMs[p.readChecks] ?? Number.POSITIVE_INFINITY);
    if (unread.length && at < p.sentAt + DAY_MS) next.push(followUp(job, { ...p, deliveryIds: unread.map((d) => d.id), readChecks: p.readChecks + 1 }, Math.max(at, now)));
    await tx.addJobs(next);
    await tx.complete([job.id]);
  });
}

const sameSend = (d: DeliveryRow, p: TrackPayload) => (p.taskId !== undefined ? d.taskId === String(p.taskId) : d.processQueryKey === p.processQueryKey);

function followUp(job: JobOf<'track'>, payload: TrackPayload, runAt: number) {
  return { id: newId('job'), kind: 'track' as const, notificationId: job.notificationId, channel: job.channel, destination: job.destination, mergeKey: null, runAt, payload };
}

/**
 * Read re-checks spend DingTalk's monthly call quota, so each app has a daily budget of them
 * (`tracking.readChecksPerDay`); past it, recipients stay `unread` and no more looks are made today.
 */
async function withinReadCheckBudget(ctx: JobContext, job: JobOf<'track'>, appKey: string): Promise<boolean> {
  const { rt } = ctx;
  return work(rt, [fenceOf(job)], async (tx) => {
    const key = `readchecks|${appKey}|${shanghaiDay(tx.now)}`;
    const used = (await tx.counters([key])).get(key) ?? 0;
    if (used >= rt.config.tracking.readChecksPerDay) {
      rt.log.info({ app: job.payload.app, used }, 'read re-check budget for today is spent; recipients stay unread');
      await tx.complete([job.id]);
      return false;
    }
    await tx.addToCounters(new Map([[key, 1]]), nextShanghaiMidnight(tx.now) + DAY_MS);
    return true;
  });
}
