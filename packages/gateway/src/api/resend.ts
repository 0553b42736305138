import type { DeliveryRow, NotificationRow } from '../domain/records.js';
import type { NotificationRequest } from '../notifications/request.js';

/**
 * The request that sends a notification's message again to the recipients of `failed` (POST
 * /v1/notifications/:id/resend): the same message, app, mentions and callback; no idempotency key or schedule of the
 * original. A recipient resolved to a userid is addressed by it. Undefined when none is left to send to.
 */
export function resendRequest(n: NotificationRow, failed: DeliveryRow[]): NotificationRequest | undefined {
  if (failed.length === 0) return undefined;
  const original = n.request as NotificationRequest;
  const to = { userIds: [] as string[], mobiles: [] as string[], deptIds: [] as number[], allUsers: false, robots: [] as string[], chats: [] as string[] };
  for (const d of failed) {
    if (d.channel === 'robot') to.robots.push(d.recipient);
    else if (d.recipientKind === 'chat') to.chats.push(d.recipient);
    else if (d.userid) to.userIds.push(d.userid);
    else if (d.recipientKind === 'mobile') to.mobiles.push(d.recipient);
    else if (d.recipientKind === 'dept') to.deptIds.push(Number(d.recipient));
    else if (d.recipientKind === 'all') to.allUsers = true;
    else to.userIds.push(d.recipient);
  }
  const { idempotencyKey: _key, sendAt: _sendAt, mentions, ...rest } = original;
  const uniq = <T>(xs: T[]) => [...new Set(xs)];
  return {
    ...rest,
    to: { ...original.to, ...to, userIds: uniq(to.userIds), mobiles: uniq(to.mobiles), deptIds: uniq(to.deptIds), robots: uniq(to.robots), chats: uniq(to.chats) },
    // Mentions belong to robot messages: kept only when a robot is sent to again.
    ...(mentions && to.robots.length > 0 ? { mentions } : {}),
  } as NotificationRequest;
}
