import { DingTalkError, type SendResult } from '@dingpush/dingtalk';
import { newId } from '../ids.js';
import type { DeliveryPatch, DeliveryRow, JobRow } from '../store/types.js';
import { DAY_MS, nextShanghaiMidnight } from './day.js';
import { describe, retryDelay, setOutcome } from './outcomes.js';
import type { Runtime } from './runtime.js';
import type { TrackPayload } from './track-payload.js';
import { requeue } from './work-notice.js';

const MAX_POLL_DELAY_MS = 30_000;

/** What DingTalk's silent filters mean for a recipient (getsendresult forbidden_list codes, §11.2). */
const FILTER_REASONS: Record<string, string> = {
  '143103': 'DingTalk per-minute recipient limit (143103)',
  '143104': 'DingTalk per-minute recipient limit for the organisation (143104)',
  '143105': 'DingTalk daily cap of messages per user (143105)',
  '143106': 'DingTalk filtered identical content already sent to this user today (143106)',
  '1430002': 'DingTalk found prohibited content (1430002)',
  '1430004': 'DingTalk executive protection (1430004)',
};

/**
 * Follows a sent work notification or app-robot message until each recipient has an outcome (read, unread,
 * throttled, invalid, failed), then looks again for reads while DingTalk still answers (24 h).
 */
export async function track(rt: Runtime, job: JobRow): Promise<void> {
  const p = job.payload as TrackPayload;
  const app = rt.apps.get(p.app);
  const deliveries = (await rt.store.deliveriesByIds(p.deliveryIds)).filter((d) => d.status === 'sent' || d.status === 'unread');
  if (!app || deliveries.length === 0) return rt.store.completeJobs([job.id]);
  const now = rt.now();
  let unfinished: DeliveryRow[];
  try {
    unfinished = p.channel === 'robot_oto' ? await trackOto(rt, p, deliveries) : await trackWorkNotice(rt, p, deliveries);
  } catch (err) {
    if (err instanceof DingTalkError && !err.retryable) {
      await setOutcome(rt, deliveries.filter((d) => d.status === 'sent'), { status: 'unread', reason: `delivered; DingTalk gave no result (${describe(err)})` });
      return rt.store.completeJobs([job.id]);
    }
    return rt.store.rescheduleJobs([job.id], now + retryDelay(rt, job.attempts, err), describe(err));
  }
  await followUp(rt, job, p, unfinished);
}

/** Records what getsendresult says for each recipient; answers those DingTalk has not finished with yet. */
async function trackWorkNotice(rt: Runtime, p: TrackPayload, deliveries: DeliveryRow[]): Promise<DeliveryRow[]> {
  const app = rt.apps.get(p.app)!;
  const now = rt.now();
  const onlyPeople = deliveries.every((d) => d.recipientKind === 'userid' || d.recipientKind === 'mobile');
  // With only userids, one getsendresult says everything (a recipient missing from every list is not done yet);
  // departments and all-users need the progress first, since their members are not known here.
  if (!onlyPeople) {
    const progress = await app.getSendProgress(p.taskId!);
    if (progress.status !== 2) return deliveries;
  }
  let result: SendResult;
  try {
    result = await app.getSendResult(p.taskId!);
  } catch (err) {
    if (err instanceof DingTalkError && err.code === 41052) {
      await setOutcome(rt, deliveries, { status: 'unread', reason: 'delivered; DingTalk reports no per-recipient result for tasks of more than 100 recipients' });
      return [];
    }
    throw err;
  }
  const groups = new Map<string, { patch: DeliveryPatch; rows: DeliveryRow[] }>();
  const add = (key: string, patch: DeliveryPatch, d: DeliveryRow) => {
    if (patch.status === d.status && (patch.reason ?? null) === d.reason) return;
    const g = groups.get(key) ?? { patch, rows: [] };
    g.rows.push(d);
    groups.set(key, g);
  };
  const retryLater: { at: number; rows: DeliveryRow[]; reason: string }[] = [];
  const pending: DeliveryRow[] = [];
  const forbidden = new Map(result.forbidden.map((f) => [f.userid, f.code]));
  for (const d of deliveries) {
    if (d.recipientKind === 'dept' || d.recipientKind === 'all') {
      if (d.recipientKind === 'dept' && result.invalidDeptIds.includes(Number(d.recipient))) add('invalid-dept', { status: 'invalid', reason: 'no such department' }, d);
      else {
        const summary = `delivered: ${result.readUserIds.length} read, ${result.unreadUserIds.length} unread, ${result.forbiddenUserIds.length} filtered, ${result.invalidUserIds.length} invalid`;
        add(`summary-${result.unreadUserIds.length === 0 && result.readUserIds.length > 0}`, { status: result.unreadUserIds.length === 0 && result.readUserIds.length > 0 ? 'read' : 'unread', reason: summary }, d);
      }
      continue;
    }
    const u = d.userid!;
    if (result.readUserIds.includes(u)) add('read', { status: 'read', reason: null }, d);
    else if (result.unreadUserIds.includes(u)) add('unread', { status: 'unread', reason: null }, d);
    else if (result.invalidUserIds.includes(u)) add('invalid', { status: 'invalid', reason: 'not an active user of this organisation' }, d);
    else if (result.failedUserIds.includes(u)) add('failed', { status: 'failed', reason: 'DingTalk could not deliver it (failed_user_id_list)' }, d);
    else if (forbidden.has(u) || result.forbiddenUserIds.includes(u)) {
      const code = forbidden.get(u) ?? '';
      if (code === '143106' && d.ambiguous) add('lost-answer', { status: 'unread', reason: 'delivered by an earlier attempt whose answer was lost' }, d);
      else if (code === '143105') retryLater.push({ at: nextShanghaiMidnight(now), rows: [d], reason: `${FILTER_REASONS[code]}; waits until tomorrow` });
      else if (code === '143103' || code === '143104') retryLater.push({ at: now + 60_000, rows: [d], reason: `${FILTER_REASONS[code]}; sending again in a minute` });
      else add(`throttled-${code}`, { status: 'throttled', reason: FILTER_REASONS[code] ?? `DingTalk filtered it (${code || 'no code'})` }, d);
    } else pending.push(d);
  }
  for (const g of groups.values()) await setOutcome(rt, g.rows, g.patch);
  for (const r of retryLater) {
    await requeue(rt, { channel: 'work_notice', destination: p.app, contentHash: p.contentHash }, r.rows, r.at, { body: p.body, dueAt: r.at });
    await setOutcome(rt, r.rows, { status: 'queued', reason: r.reason, taskId: null });
  }
  if (pending.length && now - p.sentAt > DAY_MS) {
    await setOutcome(rt, pending, { status: 'unread', reason: 'delivered; DingTalk reported no outcome within 24 h' });
    return [];
  }
  return pending;
}

async function trackOto(rt: Runtime, p: TrackPayload, deliveries: DeliveryRow[]): Promise<DeliveryRow[]> {
  const app = rt.apps.get(p.app)!;
  const status = await app.getOtoReadStatus(p.processQueryKey!);
  const read = new Set(status.reads.filter((r) => r.read).map((r) => r.userId));
  await setOutcome(rt, deliveries.filter((d) => read.has(d.userid!)), { status: 'read', reason: null });
  await setOutcome(rt, deliveries.filter((d) => !read.has(d.userid!) && d.status !== 'unread'), { status: 'unread', reason: null });
  return [];
}

/**
 * The next looks, as new jobs, then this one is done: soon (backing off) for recipients DingTalk has not finished
 * with, and later for reads while some are unread and DingTalk still answers (24 h).
 */
async function followUp(rt: Runtime, job: JobRow, p: TrackPayload, unfinished: DeliveryRow[]): Promise<void> {
  const now = rt.now();
  const next: ReturnType<typeof nextJob>[] = [];
  if (unfinished.length) {
    const delay = Math.min(MAX_POLL_DELAY_MS, rt.config.tracking.firstCheckMs * 2 ** p.polls);
    next.push({ ...nextJob(job, { ...p, deliveryIds: unfinished.map((d) => d.id), polls: p.polls + 1 }), runAt: now + delay });
  }
  const waiting = new Set(unfinished.map((d) => d.id));
  const unread = (await rt.store.deliveriesByIds(p.deliveryIds)).filter(
    (d) => !waiting.has(d.id) && d.status === 'unread' && (d.recipientKind === 'userid' || d.recipientKind === 'mobile'),
  );
  const at = p.sentAt + (rt.config.tracking.readChecksMs[p.readChecks] ?? Number.POSITIVE_INFINITY);
  if (unread.length && at < p.sentAt + DAY_MS)
    next.push({ ...nextJob(job, { ...p, deliveryIds: unread.map((d) => d.id), readChecks: p.readChecks + 1 }), runAt: Math.max(at, now) });
  if (next.length) await rt.store.addJobs(next, now);
  await rt.store.completeJobs([job.id]);
}

function nextJob(job: JobRow, payload: TrackPayload) {
  return { id: newId('job'), kind: 'track' as const, notificationId: job.notificationId, channel: job.channel, destination: job.destination, contentHash: null, runAt: 0, payload };
}
