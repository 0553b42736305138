import type { Channel, DeliveryStatus, NotificationStatus } from './delivery-states.js';

/** What the gateway stores about a notification and each of its recipients. */

/** member: one person a department or all-users send reached (domain/members.ts), learnt from DingTalk's result. */
export type RecipientKind = 'userid' | 'mobile' | 'dept' | 'all' | 'robot' | 'chat' | 'member';

export interface NewNotification {
  id: string;
  /** The name of the API key that sent it (the owner); "sandbox" in sandbox mode. */
  apiKey: string;
  idempotencyKey: string | null;
  /** Hash of the request body, to tell a true retry from a different request reusing a key. */
  requestHash: string;
  app: string | null;
  request: unknown;
  createdAt: number;
  sendAt: number;
  callbackUrl: string | null;
  /** The drop-in target it came in by (POST /v1/push/<target>, /dingtalk/<target>/send). */
  target?: string | null;
  /** The notification whose failed recipients this one sends again (POST /v1/notifications/:id/resend). */
  resendOf?: string | null;
}

export interface NotificationRow extends NewNotification {
  status: NotificationStatus;
  /** When a recall was asked for; a send in flight then recalls what it sent as soon as DingTalk answers. */
  recalledAt: number | null;
}

export interface NewDelivery {
  id: string;
  notificationId: string;
  channel: Channel;
  /** App name (work_notice, chat, robot_oto, robot_group) or robot name (robot). */
  destination: string;
  recipient: string;
  recipientKind: RecipientKind;
  userid: string | null;
  jobId: string;
  /** Which part of a message split into parts (1-based) this delivery carries, and how many there are. */
  part?: number | null;
  parts?: number | null;
}

export interface DeliveryRow extends NewDelivery {
  status: DeliveryStatus;
  reason: string | null;
  attempts: number;
  taskId: string | null;
  processQueryKey: string | null;
  /** A send for this delivery may have reached DingTalk without an answer; DingTalk's duplicate filter then proves it. */
  ambiguous: boolean;
  /** When the first send whose answer was lost started (the day DingTalk's duplicate filter can prove it on). */
  lostAnswerAt: number | null;
  /** Why a recall of this delivery did not happen (DingTalk's answer), when it did not. */
  recallError: string | null;
  /** The digest job this delivery went out in, folded with others that waited behind the same quota. */
  digestId: string | null;
  updatedAt: number;
}

/** Fields a status move (or a patch) may set beside the status. */
export interface DeliveryFields {
  reason?: string | null;
  userid?: string | null;
  taskId?: string | null;
  processQueryKey?: string | null;
  ambiguous?: boolean;
  /** When a send whose answer was lost started; kept if one is recorded already (the first counts). */
  lostAnswerAt?: number;
  /** Forgets a lost answer (an operator's retry: sent again whatever the day, as the operator asked). */
  clearLostAnswer?: boolean;
  jobId?: string;
  digestId?: string | null;
  recallError?: string | null;
  addAttempt?: boolean;
  /** Takes back the attempt counted when the send started (it did not go out after all). */
  undoAttempt?: boolean;
}

export interface EventRow {
  id: string;
  notificationId: string;
  type: string;
  at: number;
  /** The JSON posted (and published): a snapshot of the notification at the change. */
  body: string | null;
  /** none: no callback URL; pending: being delivered; delivered; failed: gave up (re-deliverable). */
  callbackState: 'none' | 'pending' | 'delivered' | 'failed';
  /** none: no bus configured when it happened; pending: to be published to events.amqp; published: confirmed by RabbitMQ. */
  busState: 'none' | 'pending' | 'published';
  callbackAttempts: number;
  callbackError: string | null;
  deliveredAt: number | null;
}

export interface AttemptRecord {
  jobId: string;
  at: number;
  outcome: 'ok' | 'retry' | 'rate_limited' | 'refresh_token' | 'permanent' | 'ambiguous';
  code: string | null;
  message: string | null;
  durationMs: number;
}
