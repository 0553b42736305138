import { DingTalkError } from '@dingpush/dingtalk';
import type { SendPayload } from '../notifications/plan.js';
import type { JobRow } from '../store/types.js';
import { describe, sendFailed, setOutcome } from './outcomes.js';
import type { Runtime } from './runtime.js';
import { attempt } from './work-notice.js';

/**
 * One legacy chat/send. DingTalk offers no idempotency key or lookup for it, so a send whose answer was lost is not
 * repeated (that could post twice); the delivery fails with that reason instead.
 */
export async function sendChat(rt: Runtime, job: JobRow): Promise<void> {
  const [delivery] = (await rt.store.deliveriesOfJobs([job.id])).filter((d) => d.status === 'queued' || d.status === 'sending');
  if (!delivery) return rt.store.completeJobs([job.id]);
  const payload = job.payload as SendPayload;
  const app = rt.apps.get(job.destination!);
  const now = rt.now();
  if (!app) {
    await setOutcome(rt, [delivery], { status: 'failed', reason: `app "${job.destination}" is no longer configured` });
    return rt.store.completeJobs([job.id]);
  }
  if (job.sendStartedAt !== null) {
    await setOutcome(rt, [delivery], { status: 'failed', reason: 'the answer to chat/send was lost and DingTalk cannot be asked whether it arrived; not repeated to avoid a duplicate' });
    return rt.store.completeJobs([job.id]);
  }
  const wait = rt.pacer.appCall(job.destination!, 'chat/send', now);
  if (wait > 0) return rt.store.rescheduleJobs([job.id], now + wait, null);
  await rt.store.markSendStarted([job.id], now);
  await setOutcome(rt, [delivery], { status: 'sending', addAttempt: true });
  const started = performance.now();
  try {
    await app.sendChat(delivery.recipient, payload.body as never);
  } catch (err) {
    await rt.store.recordAttempts([attempt(job.id, now, err, started)]);
    if (err instanceof DingTalkError && err.mayHaveSucceeded) {
      await setOutcome(rt, [delivery], { status: 'failed', reason: `no answer from DingTalk (${describe(err)}); chat/send cannot be checked, so it was not repeated` });
      return rt.store.completeJobs([job.id]);
    }
    await rt.store.markSendStarted([job.id], null);
    return sendFailed(rt, [job], [delivery], err, payload.dueAt);
  }
  await rt.store.recordAttempts([attempt(job.id, now, null, started)]);
  await setOutcome(rt, [delivery], { status: 'sent', reason: null });
  await rt.store.completeJobs([job.id]);
}
