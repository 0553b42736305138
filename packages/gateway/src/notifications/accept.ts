import type { Config } from '../config/schema.js';
import type { DueJob } from '../domain/jobs.js';
import { prepareMedia } from '../media/prepare.js';
import type { OutboundHttp } from '../net/outbound.js';
import type { Store } from '../store/types.js';
import { planNotification } from './plan.js';
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
