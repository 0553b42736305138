import { createHmac } from 'node:crypto';
import { request } from 'undici';
import { notificationView } from '../notifications/view.js';
import type { JobRow } from '../store/types.js';
import { retryDelay } from './outcomes.js';
import type { Runtime } from './runtime.js';

export const SIGNATURE_HEADER = 'x-dingpush-signature';

/**
 * `t=<unix ms>,v1=<hex HMAC-SHA256(api key, "<t>.<body>")>`: the receiver recomputes it with the key it sends with,
 * and rejects stale timestamps to stop replays.
 */
export function signCallback(key: string, timestamp: number, body: string): string {
  return `t=${timestamp},v1=${createHmac('sha256', key).update(`${timestamp}.${body}`).digest('hex')}`;
}

/** POSTs the final per-recipient outcome to the sender's callbackUrl, retried with backoff. */
export async function deliverCallback(rt: Runtime, job: JobRow): Promise<void> {
  const n = await rt.store.getNotification(job.notificationId);
  if (!n?.callbackUrl) return rt.store.completeJobs([job.id]);
  const body = JSON.stringify({ event: 'notification.completed', notification: notificationView(n, await rt.store.deliveriesOf(n.id)) });
  const now = rt.now();
  const key = rt.apiKeyValue(n.apiKey) ?? '';
  let failure: string;
  try {
    const res = await request(n.callbackUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/json', [SIGNATURE_HEADER]: signCallback(key, now, body), 'user-agent': 'dingpush' },
      body,
      headersTimeout: rt.config.callbacks.timeoutMs,
      bodyTimeout: rt.config.callbacks.timeoutMs,
    });
    await res.body.dump();
    if (res.statusCode >= 200 && res.statusCode < 300) {
      await rt.store.setCallbackState(n.id, 'delivered');
      return rt.store.completeJobs([job.id]);
    }
    failure = `HTTP ${res.statusCode}`;
  } catch (err) {
    failure = (err as { code?: string }).code ?? (err as Error).message;
  }
  if (job.attempts >= rt.config.callbacks.attempts) {
    rt.log.warn({ notification: n.id, failure }, 'status callback given up');
    await rt.store.setCallbackState(n.id, 'failed');
    return rt.store.completeJobs([job.id]);
  }
  await rt.store.rescheduleJobs([job.id], now + retryDelay(rt, job.attempts), `callback ${failure}`);
}
