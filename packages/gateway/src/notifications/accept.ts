import type { Config } from '../config/schema.js';
import type { DueJob } from '../domain/jobs.js';
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
  deps: { store: Store; config: Config },
  request: NotificationRequest,
  sender: Parameters<typeof planNotification>[2],
  now: number,
  hints?: Parameters<typeof planNotification>[4],
): Promise<Accepted> {
  const plan = planNotification(request, deps.config, sender, now, hints);
  const result = await deps.store.accept(plan);
  if (result.created) {
    const due = plan.jobs.filter((j) => j.runAt <= now).map((j) => ({ kind: j.kind, channel: j.channel, destination: j.destination }));
    return { outcome: 'created', id: plan.notification.id, dueNow: plan.notification.sendAt <= now, due };
  }
  if (result.conflict) return { outcome: 'conflict' };
  return { outcome: 'replayed', id: result.notification.id, status: result.notification.status };
}
