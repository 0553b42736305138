/** The gateway's storage contract; SQLite (embedded) and PostgreSQL (several instances) implement it. */

export type Channel = 'work_notice' | 'robot' | 'chat' | 'robot_oto';

export const DELIVERY_STATUSES = ['queued', 'sending', 'sent', 'read', 'unread', 'throttled', 'invalid', 'failed', 'recalled'] as const;
export type DeliveryStatus = (typeof DELIVERY_STATUSES)[number];
/** Outcomes that need no more sending or tracking (a later read may still turn unread into read). */
export const FINAL: ReadonlySet<DeliveryStatus> = new Set(['read', 'unread', 'throttled', 'invalid', 'failed', 'recalled']);

/** Channels whose DingTalk answer is the outcome; work notifications and app-robot messages are tracked after "sent". */
export const UNTRACKED_CHANNELS: ReadonlySet<Channel> = new Set(['robot', 'chat']);

export function isFinal(d: { status: DeliveryStatus; channel: Channel }): boolean {
  return FINAL.has(d.status) || (d.status === 'sent' && UNTRACKED_CHANNELS.has(d.channel));
}

export type RecipientKind = 'userid' | 'mobile' | 'dept' | 'all' | 'robot' | 'chat';

export interface NewNotification {
  id: string;
  apiKey: string;
  idempotencyKey: string | null;
  /** Hash of the request body, to tell a true retry from a different request reusing a key. */
  requestHash: string;
  app: string | null;
  request: unknown;
  createdAt: number;
  sendAt: number;
  callbackUrl: string | null;
}

export interface NotificationRow extends NewNotification {
  /** pending: waiting for the outcome; scheduled: a callback job exists; then delivered or failed. */
  callbackState: 'none' | 'pending' | 'scheduled' | 'delivered' | 'failed';
  recalledAt: number | null;
}

export interface NewDelivery {
  id: string;
  notificationId: string;
  channel: Channel;
  /** App name (work_notice, chat, robot_oto) or robot name (robot). */
  destination: string;
  recipient: string;
  recipientKind: RecipientKind;
  userid: string | null;
  jobId: string;
}

export interface DeliveryRow extends NewDelivery {
  status: DeliveryStatus;
  reason: string | null;
  attempts: number;
  taskId: string | null;
  processQueryKey: string | null;
  /** A send for this delivery may have reached DingTalk without an answer; DingTalk's duplicate filter then means "already delivered". */
  ambiguous: boolean;
  updatedAt: number;
}

export type JobKind = 'send' | 'track' | 'callback';

export interface NewJob {
  id: string;
  kind: JobKind;
  notificationId: string;
  channel: Channel | null;
  destination: string | null;
  /** Jobs with equal (channel, destination, contentHash) carry the same DingTalk message and may share one call. */
  contentHash: string | null;
  runAt: number;
  payload: unknown;
}

export interface JobRow extends NewJob {
  state: 'ready' | 'leased' | 'done';
  leaseUntil: number | null;
  leaseOwner: string | null;
  attempts: number;
  createdAt: number;
  /** Set just before a send call; still set when the job is claimed again means the answer was lost. */
  sendStartedAt: number | null;
  lastError: string | null;
}

export interface AcceptInput {
  notification: NewNotification;
  deliveries: NewDelivery[];
  jobs: NewJob[];
}

export type AcceptResult = { created: true; notification: NotificationRow } | { created: false; notification: NotificationRow; conflict: boolean };

export interface DeliveryPatch {
  status?: DeliveryStatus;
  reason?: string | null;
  userid?: string | null;
  taskId?: string | null;
  processQueryKey?: string | null;
  ambiguous?: boolean;
  jobId?: string;
  addAttempt?: boolean;
}

export interface ListQuery {
  apiKey?: string;
  status?: 'in_progress' | 'completed';
  since?: number;
  limit: number;
  /** The last id of the previous page (ids sort by creation time). */
  cursor?: string;
}

export interface AttemptRecord {
  jobId: string;
  at: number;
  outcome: 'ok' | 'retry' | 'rate_limited' | 'refresh_token' | 'permanent' | 'ambiguous';
  code: string | null;
  message: string | null;
  durationMs: number;
}

export interface Store {
  readonly kind: 'sqlite' | 'postgres';
  /** Writes a notification with its deliveries and jobs in one transaction; an existing idempotency key returns the original. */
  accept(input: AcceptInput): Promise<AcceptResult>;
  getNotification(id: string): Promise<NotificationRow | undefined>;
  listNotifications(q: ListQuery): Promise<NotificationRow[]>;
  deliveriesOf(notificationId: string): Promise<DeliveryRow[]>;
  /** The deliveries of several notifications in one query (a page of the list). */
  deliveriesOfNotifications(notificationIds: string[]): Promise<DeliveryRow[]>;
  deliveriesOfJobs(jobIds: string[]): Promise<DeliveryRow[]>;
  deliveriesByIds(ids: string[]): Promise<DeliveryRow[]>;
  /** Notifications (of the given ids) that still have a delivery without a final outcome (see isFinal). */
  unsettledNotifications(ids: string[]): Promise<Set<string>>;
  updateDeliveries(ids: string[], patch: DeliveryPatch, now: number): Promise<void>;
  /** Leases due jobs (and jobs whose lease ran out: their worker died). */
  claimJobs(owner: string, now: number, limit: number, leaseMs: number): Promise<JobRow[]>;
  /** Due ready jobs carrying the same message to the same destination, leased too, for merging into one call. */
  claimSimilar(job: JobRow, owner: string, now: number, limit: number, leaseMs: number): Promise<JobRow[]>;
  completeJobs(ids: string[]): Promise<void>;
  rescheduleJobs(ids: string[], runAt: number, lastError: string | null): Promise<void>;
  markSendStarted(ids: string[], at: number | null): Promise<void>;
  addJobs(jobs: NewJob[], now: number): Promise<void>;
  recordAttempts(attempts: AttemptRecord[]): Promise<void>;
  setCallbackState(notificationId: string, state: NotificationRow['callbackState']): Promise<void>;
  /** Moves the callback from pending to scheduled; true for exactly one caller. */
  claimCallback(notificationId: string): Promise<boolean>;
  markRecalled(notificationId: string, at: number): Promise<void>;
  /** Per-destination counters (e.g. messages per user per day) that must survive restarts. */
  counters(keys: string[], now: number): Promise<Map<string, number>>;
  incrementCounters(keys: string[], expiresAt: number, now: number): Promise<void>;
  queueStats(now: number): Promise<{ depth: number; oldestAgeMs: number }>;
  close(): Promise<void>;
}
