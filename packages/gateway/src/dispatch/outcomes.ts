import { backoffDelay, DingTalkError } from '@dingpush/dingtalk';
import { newId } from '../ids.js';
import { type DeliveryPatch, type DeliveryRow, isFinal, type JobRow } from '../store/types.js';
import type { Runtime } from './runtime.js';

/** Records a status for deliveries, counts it, and finishes notifications that have nothing left to learn. */
export async function setOutcome(rt: Runtime, deliveries: DeliveryRow[], patch: DeliveryPatch): Promise<void> {
  if (deliveries.length === 0) return;
  await rt.store.updateDeliveries(
    deliveries.map((d) => d.id),
    patch,
    rt.now(),
  );
  if (patch.status && patch.status !== 'queued' && patch.status !== 'sending') {
    for (const d of deliveries) rt.metrics.outcomes.inc({ channel: d.channel, status: patch.status });
    if (deliveries.some((d) => isFinal({ status: patch.status!, channel: d.channel })))
      await finishIfDone(rt, [...new Set(deliveries.map((d) => d.notificationId))]);
  }
}

/** Schedules the status callback of each notification whose every delivery has a final outcome. */
export async function finishIfDone(rt: Runtime, notificationIds: string[]): Promise<void> {
  const open = await rt.store.unsettledNotifications(notificationIds);
  for (const id of notificationIds) {
    if (open.has(id)) continue;
    if (await rt.store.claimCallback(id)) {
      await rt.store.addJobs([{ id: newId('job'), kind: 'callback', notificationId: id, channel: null, destination: null, contentHash: null, runAt: rt.now(), payload: {} }], rt.now());
      rt.wake();
    }
  }
}

/** When to try again: DingTalk's own wait for rate limits, else exponential backoff with jitter. */
export function retryDelay(rt: Runtime, attempt: number, err?: unknown): number {
  if (err instanceof DingTalkError && err.errorClass === 'rate_limited' && err.waitMs) return err.waitMs;
  return backoffDelay(Math.max(0, attempt - 1), { baseDelayMs: rt.config.delivery.backoffBaseMs, maxDelayMs: rt.config.delivery.backoffMaxMs });
}

/** A failure described for senders: DingTalk's code and message, no secrets. */
export function describe(err: unknown): string {
  if (err instanceof DingTalkError) return `DingTalk ${err.code}: ${err.dingMessage || err.message}`;
  return err instanceof Error ? err.message : String(err);
}

/**
 * A send that did not go through: retried later while retrying can help and the give-up time has not passed,
 * otherwise the deliveries fail with the reason.
 */
export async function sendFailed(rt: Runtime, jobs: JobRow[], deliveries: DeliveryRow[], err: unknown, dueAt: number): Promise<void> {
  const reason = describe(err);
  const attempt = Math.max(...jobs.map((j) => j.attempts));
  const retryable = err instanceof DingTalkError ? err.retryable : true;
  const now = rt.now();
  const delay = retryDelay(rt, attempt, err);
  const giveUpAt = dueAt + rt.config.delivery.giveUpAfterMs;
  const where = { channel: jobs[0]?.channel, destination: jobs[0]?.destination, jobs: jobs.map((j) => j.id), recipients: deliveries.length };
  if (retryable && now + delay < giveUpAt) {
    rt.log.debug({ ...where, reason, retryInMs: Math.round(delay) }, 'send failed; retrying');
    await setOutcome(rt, deliveries, { status: 'queued', reason: `retrying after ${reason}` });
    await rt.store.rescheduleJobs(
      jobs.map((j) => j.id),
      now + delay,
      reason,
    );
    return;
  }
  const why = retryable ? `gave up after ${Math.round((now - dueAt) / 60_000)} min; last error: ${reason}` : reason;
  rt.log.warn({ ...where, reason: why }, 'delivery failed');
  await setOutcome(rt, deliveries, { status: 'failed', reason: why });
  await rt.store.completeJobs(jobs.map((j) => j.id));
}
