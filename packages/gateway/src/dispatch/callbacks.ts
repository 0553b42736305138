import { notificationView } from '../domain/notification-view.js';
import { fenceOf, type JobOf } from '../domain/jobs.js';
import { EVENT_ID_HEADER, SIGNATURE_HEADER, signCallback } from '../sdk/signature.js';
import { describe } from './describe.js';
import type { JobContext } from './runtime.js';
import { work } from './unit-of-work.js';

/**
 * POSTs one event to its notification's callback URL, signed with the sending key's callback secret, through the
 * outbound address policy. Events of one notification go in order: one waits while an earlier one is still being
 * delivered. Retried with backoff for hours (callbacks.attempts); then the event is `failed` and the job a dead
 * letter, and POST /v1/notifications/:id/callback delivers it again.
 */
export async function runCallback(ctx: JobContext, job: JobOf<'callback'>): Promise<void> {
  const { rt } = ctx;
  const cfg = rt.config.callbacks;
  const fence = [fenceOf(job)];
  const prepared = await work(rt, fence, async (tx) => {
    const event = await tx.event(job.payload.eventId);
    const n = await tx.notification(job.notificationId);
    if (!event || !n?.callbackUrl || event.callbackState !== 'pending') {
      await tx.complete([job.id]);
      return null;
    }
    const earlier = (await tx.events(n.id)).some((e) => e.callbackState === 'pending' && (e.at < event.at || (e.at === event.at && e.id < event.id)));
    if (earlier) {
      await tx.reschedule([job.id], tx.now + 200);
      return null;
    }
    const secret = rt.callbackSecret(n.apiKey);
    if (!secret) {
      const why = `the API key "${n.apiKey}" that sent it is no longer configured, so the callback cannot be signed`;
      await tx.updateEvent(event.id, { callbackState: 'failed', callbackError: why });
      await tx.kill([job.id], why);
      return null;
    }
    let body = event.body;
    if (body === null) {
      // An event carried over from the first release: its body is the notification as it is now.
      const view = notificationView(n, await tx.deliveries({ notificationId: n.id }));
      body = JSON.stringify({ eventId: event.id, type: event.type, at: new Date(event.at).toISOString(), notification: view });
      await tx.updateEvent(event.id, { body });
    }
    return { event, url: n.callbackUrl, secret, body };
  });
  if (!prepared) return;
  const { event, url, secret, body } = prepared;
  let failure: string;
  try {
    const t = Math.floor(rt.now() / 1000);
    const res = await rt.outbound.post(url, body, {
      'content-type': 'application/json',
      'user-agent': 'dingpush',
      [SIGNATURE_HEADER]: signCallback(secret, t, body),
      [EVENT_ID_HEADER]: event.id,
    });
    if (res.status >= 200 && res.status < 300) {
      await work(rt, fence, async (tx) => {
        await tx.updateEvent(event.id, { callbackState: 'delivered', callbackAttempts: event.callbackAttempts + 1, callbackError: null, deliveredAt: tx.now });
        await tx.complete([job.id]);
      });
      return;
    }
    failure = `HTTP ${res.status}`;
  } catch (err) {
    const e = err as { code?: string; cause?: { code?: string } };
    failure = e.code === 'EPRIVATEADDRESS' ? describe(err) : (e.code ?? e.cause?.code ?? describe(err));
  }
  const attempts = event.callbackAttempts + 1;
  await work(rt, fence, async (tx) => {
    if (attempts >= cfg.attempts) {
      rt.log.warn({ notification: job.notificationId, event: event.id, failure, attempts }, 'status callback given up');
      await tx.updateEvent(event.id, { callbackState: 'failed', callbackAttempts: attempts, callbackError: failure });
      await tx.kill([job.id], `callback gave up after ${attempts} attempts: ${failure}`);
      return;
    }
    const delay = Math.min(cfg.backoffMaxMs, cfg.backoffBaseMs * 2 ** (attempts - 1)) * (0.75 + Math.random() * 0.5);
    await tx.updateEvent(event.id, { callbackAttempts: attempts, callbackError: failure });
    await tx.reschedule([job.id], tx.now + delay, { lastError: `callback ${failure}` });
  });
}
