import type { Config } from '../config/schema.js';
import type { DueJob } from '../domain/jobs.js';
import { fetchesUrl, prepareMedia, withStoredMedia } from '../media/prepare.js';
import type { OutboundHttp } from '../net/outbound.js';
import type { Store } from '../store/types.js';
import { planNotification, requestHashOf } from './plan.js';
import type { NotificationRequest } from './request.js';

export type Accepted =
  | { outcome: 'created'; id: string; dueNow: boolean; due: DueJob[] }
  | { outcome: 'replayed'; id: string; status: string }
  | { outcome: 'conflict' };

/**
 * Accepting a notification, whichever endpoint it came in by: planned, then stored in one transaction (nothing is
 * acknowledged before it commits). The same idempotency key with the same request answers the first notification.
 */
export async function acceptNotification(
  deps: { store: Store; config: Config; outbound: OutboundHttp },
  request: NotificationRequest,
  sender: Parameters<typeof planNotification>[2],
  now: number,
  hints?: Parameters<typeof planNotification>[4],
  resendOf?: string,
): Promise<Accepted> {
  // A retry or a redelivery of a request stored already is answered from it before its file's URL is fetched again:
  // fetched again, a URL that now fails (or serves other bytes) would refuse, or conflict with, a request that was
  // stored. The store's accept stays the authority (two first tries racing both get here).
  if (request.idempotencyKey !== undefined && fetchesUrl(request)) {
    const prior = await deps.store.notificationByKey(sender.name, request.idempotencyKey);
    if (prior) {
      const media = (prior.request as { message?: { media?: unknown } }).message?.media;
      const same = typeof media === 'string' && requestHashOf(withStoredMedia(request, media)) === prior.requestHash;
      return same ? { outcome: 'replayed', id: prior.id, status: prior.status } : { outcome: 'conflict' };
    }
  }
  // The message's media first (a fetch, a look-up): its rows are written with the notification, or not at all.
  const prepared = await prepareMedia(deps, request, now);
  const plan = planNotification(prepared.request, deps.config, sender, now, hints, prepared.media, resendOf);
  const result = await deps.store.accept({ ...plan, media: prepared.newMedia });
  if (result.created) {
    const due = plan.jobs.filter((j) => j.runAt <= now).map((j) => ({ kind: j.kind, channel: j.channel, destination: j.destination }));
    return { outcome: 'created', id: plan.notification.id, dueNow: plan.notification.sendAt <= now, due };
  }
  if (result.conflict) return { outcome: 'conflict' };
  return { outcome: 'replayed', id: result.notification.id, status: result.notification.status };
}
