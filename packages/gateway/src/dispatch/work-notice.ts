import { DingTalkError, LIMITS } from '@dingpush/dingtalk';
import { newId } from '../ids.js';
import type { SendPayload } from '../notifications/plan.js';
import type { DeliveryRow, JobRow } from '../store/types.js';
import { nextShanghaiMidnight, shanghaiDay } from './day.js';
import { describe, retryDelay, sendFailed, setOutcome } from './outcomes.js';
import type { Runtime } from './runtime.js';
import { resolveMobiles, scheduleTracking } from './recipients.js';

const capKey = (app: string, userid: string, day: number) => `cap|${app}|${userid}|${day}`;

/**
 * Sends one asyncsend_v2 call for a group of jobs carrying the same message from the same app: the first 100
 * userids (and 20 departments) go now; the rest go back to the queue as a new job, paced like any other.
 */
export async function sendWorkNotices(rt: Runtime, jobs: JobRow[]): Promise<void> {
  const jobIds = jobs.map((j) => j.id);
  const appName = jobs[0]!.destination!;
  const app = rt.apps.get(appName);
  const payload = jobs[0]!.payload as SendPayload;
  const dueAt = Math.min(...jobs.map((j) => (j.payload as SendPayload).dueAt));
  // A busy app (no call possible now) puts the jobs back before any reads: under overload that is the common case.
  const busy = app && jobs.every((j) => j.sendStartedAt === null) ? rt.pacer.appWait(appName, 'asyncsend_v2', rt.now()) : 0;
  if (busy > 0) return rt.store.rescheduleJobs(jobIds, rt.now() + busy, null);
  let live = (await rt.store.deliveriesOfJobs(jobIds)).filter((d) => d.status === 'queued' || d.status === 'sending');
  if (!app) {
    await setOutcome(rt, live, { status: 'failed', reason: `app "${appName}" is no longer configured` });
    return rt.store.completeJobs(jobIds);
  }
  if (live.length === 0) return rt.store.completeJobs(jobIds);
  const now = rt.now();

  // A job claimed again after its send started lost its answer. Sending again is safe: DingTalk filters identical
  // content to the same user within the day (143106), and the tracker reads that filter as "already delivered".
  const lostJobs = new Set(jobs.filter((j) => j.sendStartedAt !== null).map((j) => j.id));
  const lost = live.filter((d) => lostJobs.has(d.jobId) && !d.ambiguous);
  if (lost.length) {
    await rt.store.updateDeliveries(lost.map((d) => d.id), { ambiguous: true }, now);
    for (const d of lost) d.ambiguous = true;
  }

  const resolved = await resolveMobiles(rt, app, appName, jobs, live, dueAt);
  if (!resolved) return;
  live = resolved;

  // The 500-a-day cap per user: whoever reached it waits for tomorrow instead of being silently dropped.
  const day = shanghaiDay(now);
  const people = live.filter((d) => d.userid);
  const counts = await rt.store.counters([...new Set(people.map((d) => capKey(appName, d.userid!, day)))], now);
  const capped = people.filter((d) => (counts.get(capKey(appName, d.userid!, day)) ?? 0) >= rt.config.delivery.perUserPerDay);
  if (capped.length) {
    const tomorrow = nextShanghaiMidnight(now) + Math.floor(Math.random() * 60_000);
    await requeue(rt, jobs[0]!, capped, tomorrow, { ...payload, dueAt: tomorrow });
    await setOutcome(rt, capped, { status: 'queued', reason: `DingTalk allows ${rt.config.delivery.perUserPerDay} messages a day per user; waits until tomorrow` });
    live = live.filter((d) => !capped.includes(d));
  }
  if (live.length === 0) return rt.store.completeJobs(jobIds);

  // One call's worth: to-all alone, else the first 100 distinct userids and 20 departments.
  const toAll = live.find((d) => d.recipientKind === 'all');
  let batch: DeliveryRow[];
  if (toAll) batch = [toAll];
  else {
    const userids = [...new Set(live.filter((d) => d.userid).map((d) => d.userid!))].slice(0, LIMITS.workNoticeUserIds);
    const depts = [...new Set(live.filter((d) => d.recipientKind === 'dept').map((d) => d.recipient))].slice(0, LIMITS.workNoticeDeptIds);
    batch = live.filter((d) => (d.userid && userids.includes(d.userid)) || (d.recipientKind === 'dept' && depts.includes(d.recipient)));
  }
  const rest = live.filter((d) => !batch.includes(d));
  if (rest.length) await requeue(rt, jobs[0]!, rest, now, { ...payload, dueAt });

  const userIds = [...new Set(batch.filter((d) => d.userid).map((d) => d.userid!))];
  const deptIds = [...new Set(batch.filter((d) => d.recipientKind === 'dept').map((d) => Number(d.recipient)))];
  // While this content is flowing, a batch that is not full waits for the end of the merge window that began with
  // the last call, so everything arriving meanwhile shares one call. An idle queue sends at once.
  const mergeKey = `${appName}|${jobs[0]!.contentHash}`;
  const windowEnd = (rt.pacer.lastSentAt(mergeKey) ?? Number.NEGATIVE_INFINITY) + rt.config.delivery.mergeWindowMs;
  if (!toAll && userIds.length < LIMITS.workNoticeUserIds && now < windowEnd) return rt.store.rescheduleJobs(jobIds, windowEnd, null);
  const wait = rt.pacer.appCall(appName, 'asyncsend_v2', now, userIds.length);
  if (wait > 0) return rt.store.rescheduleJobs(jobIds, now + wait, null);

  await rt.store.markSendStarted(jobIds, now);
  await setOutcome(rt, batch, { status: 'sending', addAttempt: true });
  const started = performance.now();
  let taskId: number;
  try {
    taskId = await app.sendWorkNoticeOnce({ userIds, deptIds, toAllUsers: Boolean(toAll) }, payload.body as never);
  } catch (err) {
    await rt.store.recordAttempts(jobIds.map((jobId) => attempt(jobId, now, err, started)));
    if (err instanceof DingTalkError && err.mayHaveSucceeded) {
      // Keep sendStartedAt: the next claim knows the answer was lost.
      await setOutcome(rt, batch, { status: 'queued', reason: `no answer from DingTalk (${describe(err)}); checking before sending again` });
      return rt.store.rescheduleJobs(jobIds, now + retryDelay(rt, jobs[0]!.attempts, err), describe(err));
    }
    if (err instanceof DingTalkError && err.errorClass === 'rate_limited' && err.waitMs) rt.pacer.block(`app:${appName}:asyncsend_v2`, now + err.waitMs);
    await rt.store.markSendStarted(jobIds, null);
    return sendFailed(rt, jobs, batch, err, dueAt);
  }
  await rt.store.recordAttempts(jobIds.map((jobId) => attempt(jobId, now, null, started)));
  rt.pacer.markSent(mergeKey, now);
  await setOutcome(rt, batch, { status: 'sent', taskId: String(taskId), reason: null });
  if (userIds.length) await rt.store.incrementCounters(userIds.map((u) => capKey(appName, u, day)), nextShanghaiMidnight(now) + 86_400_000, now);
  await scheduleTracking(rt, jobs[0]!, batch, { channel: 'work_notice', taskId, body: payload.body });
  await rt.store.completeJobs(jobIds);
}

/** Moves deliveries to a new send job (same message, same merge key) due at `runAt`. */
export async function requeue(rt: Runtime, like: Pick<JobRow, 'channel' | 'destination' | 'contentHash'>, deliveries: DeliveryRow[], runAt: number, payload: SendPayload): Promise<void> {
  const id = newId('job');
  await rt.store.addJobs([{ id, kind: 'send', notificationId: deliveries[0]!.notificationId, channel: like.channel, destination: like.destination, contentHash: like.contentHash, runAt, payload }], rt.now());
  await rt.store.updateDeliveries(deliveries.map((d) => d.id), { jobId: id }, rt.now());
  for (const d of deliveries) d.jobId = id;
}

export function attempt(jobId: string, at: number, err: unknown, started: number) {
  const ding = err instanceof DingTalkError ? err : undefined;
  return {
    jobId,
    at,
    outcome: err === null ? ('ok' as const) : ding?.mayHaveSucceeded ? ('ambiguous' as const) : (ding?.errorClass ?? ('retry' as const)),
    code: ding ? String(ding.code) : null,
    message: err === null ? null : describe(err),
    durationMs: Math.round(performance.now() - started),
  };
}
