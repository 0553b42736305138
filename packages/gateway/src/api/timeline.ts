import { adviceFor } from '../domain/dingtalk-reason.js';
import { deliveryView } from '../domain/notification-view.js';
import type { NotificationRow } from '../domain/records.js';
import type { Store } from '../store/types.js';

/**
 * GET /v1/notifications/:id/timeline: what was sent (the message as the sender gave it, inline media left out) and,
 * per recipient, every status move (delivery_log) and every call made for it (attempts, with DingTalk's code and the
 * error table's meaning), with when it was first seen unread and read.
 */
export async function timelineOf(store: Store, n: NotificationRow) {
  const deliveries = await store.deliveries({ notificationId: n.id });
  const [log, attempts] = await Promise.all([store.deliveryLog(n.id), store.attemptsOf([...new Set(deliveries.map((d) => d.jobId))])]);
  const iso = (ms: number) => new Date(ms).toISOString();
  const request = (n.request ?? {}) as Record<string, unknown>;
  return {
    id: n.id,
    key: n.apiKey,
    createdAt: iso(n.createdAt),
    ...(n.resendOf ? { resendOf: n.resendOf } : {}),
    ...(n.target ? { target: n.target } : {}),
    request: withoutInlineMedia({ to: request.to, message: request.message, mentions: request.mentions, template: request.template, app: request.app }),
    recipients: deliveries.map((d) => {
      const moves = log.filter((l) => l.deliveryIds.includes(d.id)).map((l) => ({ at: iso(l.at), status: l.status, ...(l.reason ? { reason: l.reason } : {}) }));
      const firstAt = (status: string) => moves.find((m) => m.status === status)?.at;
      return {
        ...deliveryView(d),
        ...(firstAt('unread') ? { unreadAt: firstAt('unread') } : {}),
        ...(firstAt('read') ? { readAt: firstAt('read') } : {}),
        moves,
        calls: attempts
          .filter((a) => a.jobId === d.jobId)
          .map((a) => ({
            at: iso(a.at),
            outcome: a.outcome,
            ...(a.code ? { code: a.code, meaning: adviceFor(a.code, a.message ?? '').meaning } : {}),
            ...(a.message ? { message: a.message } : {}),
            durationMs: a.durationMs,
          })),
      };
    }),
  };
}

/** A base64 file can be megabytes: the timeline says it was there, not what it was. */
function withoutInlineMedia(v: Record<string, unknown>): Record<string, unknown> {
  const message = v.message as Record<string, unknown> | undefined;
  if (message && typeof message.base64 === 'string') return { ...v, message: { ...message, base64: `(${message.base64.length} base64 characters)` } };
  return Object.fromEntries(Object.entries(v).filter(([, x]) => x !== undefined));
}
