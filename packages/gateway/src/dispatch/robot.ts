import { DingTalkError } from '@dingpush/dingtalk';
import type { SendPayload } from '../notifications/plan.js';
import type { JobRow } from '../store/types.js';
import { describe, retryDelay, sendFailed, setOutcome } from './outcomes.js';
import type { Runtime } from './runtime.js';
import { attempt } from './work-notice.js';

/**
 * One custom-robot message. Paced at 20 a sliding minute per robot; the delivery id is the msgUuid, so a send whose
 * answer was lost can be repeated safely: DingTalk drops the duplicate.
 */
export async function sendRobot(rt: Runtime, job: JobRow): Promise<void> {
  const [delivery] = (await rt.store.deliveriesOfJobs([job.id])).filter((d) => d.status === 'queued' || d.status === 'sending');
  if (!delivery) return rt.store.completeJobs([job.id]);
  const payload = job.payload as SendPayload;
  const robot = rt.robots.get(job.destination!);
  if (!robot) {
    await setOutcome(rt, [delivery], { status: 'failed', reason: `robot "${job.destination}" is no longer configured` });
    return rt.store.completeJobs([job.id]);
  }
  const now = rt.now();
  const wait = rt.pacer.robotCall(job.destination!, now);
  if (wait > 0) {
    if (delivery.reason === null) await setOutcome(rt, [delivery], { status: 'queued', reason: 'waiting for the robot\'s 20-a-minute quota' });
    return rt.store.rescheduleJobs([job.id], now + wait, null);
  }
  await rt.store.markSendStarted([job.id], now);
  await setOutcome(rt, [delivery], { status: 'sending', addAttempt: true });
  const started = performance.now();
  try {
    await robot.send(payload.body as never, { msgUuid: delivery.id });
  } catch (err) {
    await rt.store.recordAttempts([attempt(job.id, now, err, started)]);
    if (err instanceof DingTalkError && err.errorClass === 'rate_limited' && err.waitMs) {
      // Blocked anyway (another sender shares the robot?): nothing goes to it until the block ends.
      rt.pacer.block(`robot:${job.destination}`, now + err.waitMs);
      await setOutcome(rt, [delivery], { status: 'queued', reason: `${describe(err)}; waiting ${Math.round(err.waitMs / 60_000)} min` });
      return rt.store.rescheduleJobs([job.id], now + err.waitMs, describe(err));
    }
    if (err instanceof DingTalkError && err.mayHaveSucceeded) {
      await setOutcome(rt, [delivery], { status: 'queued', reason: `no answer from DingTalk (${describe(err)}); resending with the same msgUuid` });
      return rt.store.rescheduleJobs([job.id], now + retryDelay(rt, job.attempts, err), describe(err));
    }
    return sendFailed(rt, [job], [delivery], err, payload.dueAt);
  }
  await rt.store.recordAttempts([attempt(job.id, now, null, started)]);
  await setOutcome(rt, [delivery], { status: 'sent', reason: null });
  await rt.store.completeJobs([job.id]);
}
