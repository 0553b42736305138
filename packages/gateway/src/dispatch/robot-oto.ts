import { DingTalkError, LIMITS } from '@dingpush/dingtalk';
import type { SendPayload } from '../notifications/plan.js';
import type { JobRow } from '../store/types.js';
import { describe, sendFailed, setOutcome } from './outcomes.js';
import type { Runtime } from './runtime.js';
import { resolveMobiles, scheduleTracking } from './recipients.js';
import { attempt, requeue } from './work-notice.js';

/** App-robot one-to-one messages: 20 users a call; read status tracked afterwards. */
export async function sendRobotOto(rt: Runtime, jobs: JobRow[]): Promise<void> {
  const jobIds = jobs.map((j) => j.id);
  const appName = jobs[0]!.destination!;
  const app = rt.apps.get(appName);
  const payload = jobs[0]!.payload as SendPayload;
  let live = (await rt.store.deliveriesOfJobs(jobIds)).filter((d) => d.status === 'queued' || d.status === 'sending');
  if (!app) {
    await setOutcome(rt, live, { status: 'failed', reason: `app "${appName}" is no longer configured` });
    return rt.store.completeJobs(jobIds);
  }
  if (live.length === 0) return rt.store.completeJobs(jobIds);
  const now = rt.now();
  const lost = live.filter((d) => jobs.find((j) => j.id === d.jobId)?.sendStartedAt !== null);
  if (lost.length) {
    await setOutcome(rt, lost, { status: 'failed', reason: 'the answer to batchSend was lost and DingTalk cannot be asked whether it arrived; not repeated to avoid a duplicate' });
    live = live.filter((d) => !lost.includes(d));
  }
  const resolved = await resolveMobiles(rt, app, appName, jobs, live, payload.dueAt);
  if (!resolved) return;
  live = resolved;
  if (live.length === 0) return rt.store.completeJobs(jobIds);

  const userIds = [...new Set(live.map((d) => d.userid!))].slice(0, LIMITS.otoUserIds);
  const batch = live.filter((d) => userIds.includes(d.userid!));
  const rest = live.filter((d) => !batch.includes(d));
  if (rest.length) await requeue(rt, jobs[0]!, rest, now, payload);
  const wait = rt.pacer.appCall(appName, 'oToMessages/batchSend', now);
  if (wait > 0) return rt.store.rescheduleJobs(jobIds, now + wait, null);

  await rt.store.markSendStarted(jobIds, now);
  await setOutcome(rt, batch, { status: 'sending', addAttempt: true });
  const started = performance.now();
  let result: Awaited<ReturnType<typeof app.sendRobotOto>>[number];
  try {
    [result] = (await app.sendRobotOto(userIds, payload.body as never)) as [typeof result];
  } catch (err) {
    await rt.store.recordAttempts(jobIds.map((id) => attempt(id, now, err, started)));
    if (err instanceof DingTalkError && err.mayHaveSucceeded) {
      await setOutcome(rt, batch, { status: 'failed', reason: `no answer from DingTalk (${describe(err)}); batchSend cannot be checked, so it was not repeated` });
      return rt.store.completeJobs(jobIds);
    }
    await rt.store.markSendStarted(jobIds, null);
    return sendFailed(rt, jobs, batch, err, payload.dueAt);
  }
  await rt.store.recordAttempts(jobIds.map((id) => attempt(id, now, null, started)));
  const bad = batch.filter((d) => result.invalidUserIds.includes(d.userid!));
  const limited = batch.filter((d) => result.flowControlledUserIds.includes(d.userid!));
  const sent = batch.filter((d) => !bad.includes(d) && !limited.includes(d));
  await setOutcome(rt, bad, { status: 'invalid', reason: 'not a user of this organisation (invalidStaffIdList)', processQueryKey: result.processQueryKey });
  await setOutcome(rt, limited, { status: 'throttled', reason: 'DingTalk flow control (flowControlledStaffIdList)', processQueryKey: result.processQueryKey });
  await setOutcome(rt, sent, { status: 'sent', reason: null, processQueryKey: result.processQueryKey });
  if (sent.length) await scheduleTracking(rt, jobs[0]!, sent, { channel: 'robot_oto', processQueryKey: result.processQueryKey, body: payload.body });
  await rt.store.completeJobs(jobIds);
}
