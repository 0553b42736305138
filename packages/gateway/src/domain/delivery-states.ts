/**
 * A delivery's life: the one table of legal status moves (shared/design.md, "A delivery's life").
 *
 * Every write of a delivery's status names one of these moves; the store turns it into
 * `UPDATE deliveries SET status = <to> WHERE id IN (…) AND status IN (<from>)` and acts only on the rows it changed, so
 * a move that lost a race (a recall, a tracker, another lease holder) changes nothing. `recalled`, `invalid`,
 * `throttled` and `failed` are final, and so are `read` and `unread` except for the moves listed here.
 */

export const DELIVERY_STATUSES = ['queued', 'sending', 'sent', 'read', 'unread', 'throttled', 'invalid', 'failed', 'recalled'] as const;
export type DeliveryStatus = (typeof DELIVERY_STATUSES)[number];

export const CHANNELS = ['work_notice', 'robot', 'chat', 'robot_oto', 'robot_group'] as const;
export type Channel = (typeof CHANNELS)[number];

const move = <const F extends readonly DeliveryStatus[], const T extends DeliveryStatus>(from: F, to: T, when: string) => ({ from, to, when });

export const MOVES = {
  // the dispatcher, sending
  startSend: move(['queued'], 'sending', 'the job holding the lease is about to call DingTalk'),
  accepted: move(['sending'], 'sent', 'DingTalk accepted the call (task id or robot answer recorded)'),
  retryLater: move(['sending'], 'queued', 'a retryable failure: rescheduled with backoff'),
  sendFailed: move(['queued', 'sending'], 'failed', 'a permanent error, a give-up, or a lost answer that cannot be checked'),
  unresolvable: move(['queued', 'sending'], 'invalid', 'the recipient cannot be resolved, or DingTalk refused the user at send'),
  refusedAtSend: move(['sending'], 'throttled', 'DingTalk throttled the user in its answer to the send'),
  // the tracker, reading DingTalk's per-user result
  read: move(['sent', 'unread'], 'read', 'DingTalk reports the message read'),
  unread: move(['sent'], 'unread', 'DingTalk reports the message delivered and not read yet'),
  invalidAtDingTalk: move(['sent'], 'invalid', 'DingTalk reports the user invalid'),
  filtered: move(['sent'], 'throttled', 'DingTalk filtered the message for this user'),
  undeliverable: move(['sent'], 'failed', 'DingTalk reports it could not deliver'),
  heldBack: move(['sent'], 'queued', 'DingTalk held it back for a daily or per-minute cap; sent again later'),
  // recall
  cancelled: move(['queued'], 'recalled', 'a recall before anything was sent'),
  recalled: move(['sent', 'unread', 'read'], 'recalled', 'DingTalk confirmed the recall of exactly this message'),
  // an operator
  operatorRetry: move(['failed'], 'queued', 'an operator retried a dead-lettered job'),
} as const;

export type MoveName = keyof typeof MOVES;

/** Final statuses: nothing moves out of them but by an operator's retry (failed). */
export const FINAL_STATUSES = ['read', 'unread', 'throttled', 'invalid', 'failed', 'recalled'] as const satisfies readonly DeliveryStatus[];
const FINAL: ReadonlySet<DeliveryStatus> = new Set(FINAL_STATUSES);

/**
 * Channels whose per-recipient outcome is learnt after `sent` (work notifications, app-robot one-to-one messages);
 * on the others DingTalk's answer to the send is the outcome.
 */
export const TRACKED_CHANNELS = ['work_notice', 'robot_oto'] as const satisfies readonly Channel[];
const TRACKED: ReadonlySet<Channel> = new Set(TRACKED_CHANNELS);

export interface SettleFacts {
  status: DeliveryStatus;
  channel: Channel;
  /** DingTalk's task id / process query key: what the tracker asks about. */
  taskId: string | null;
  processQueryKey: string | null;
}

/**
 * Nothing more will be sent or learnt: a final status, or `sent` where there is nothing to track (an untracked
 * channel, or a message proven delivered by an earlier attempt whose task id was lost with its answer).
 * The store keeps an SQL twin of this predicate (store/kysely-store.ts `settledSql`).
 */
export function isSettled(d: SettleFacts): boolean {
  if (FINAL.has(d.status)) return true;
  return d.status === 'sent' && (!TRACKED.has(d.channel) || (d.taskId === null && d.processQueryKey === null));
}

export const isTracked = (channel: Channel) => TRACKED.has(channel);

/** A notification's status as the API shows it, derived from its deliveries. */
export const NOTIFICATION_STATUSES = ['queued', 'in_progress', 'completed', 'recalled'] as const;
export type NotificationStatus = (typeof NOTIFICATION_STATUSES)[number];

export interface DeliveryCounts {
  total: number;
  /** Never attempted: status queued with no attempt made. */
  untouched: number;
  unsettled: number;
  recalled: number;
}

/**
 * queued until something is attempted; completed (or recalled, when a recall was asked for and took something back)
 * once every delivery is settled; in_progress in between. Never back to queued once started.
 */
export function notificationStatus(c: DeliveryCounts, previous: NotificationStatus, recallRequested: boolean): NotificationStatus {
  if (c.unsettled === 0) return recallRequested && c.recalled > 0 ? 'recalled' : 'completed';
  if (previous === 'queued' && c.untouched === c.total) return 'queued';
  return 'in_progress';
}
