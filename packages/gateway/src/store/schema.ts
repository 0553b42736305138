/** Tables as Kysely sees them (camelCase; the CamelCasePlugin maps them to snake_case columns). */

export interface NotificationsTable {
  id: string;
  apiKey: string;
  idempotencyKey: string | null;
  requestHash: string;
  app: string | null;
  request: string;
  createdAt: number;
  sendAt: number;
  callbackUrl: string | null;
  /** Unused since 0002 (callback state lives on events); kept so an older release can still read the table. */
  callbackState: string;
  recalledAt: number | null;
  status: string;
  /** Since 0011: the drop-in target it came in by, the notification it resends, the words a search looks in. */
  target?: string | null;
  resendOf?: string | null;
  searchText?: string | null;
}

export interface DeliveriesTable {
  id: string;
  notificationId: string;
  channel: string;
  destination: string;
  recipient: string;
  recipientKind: string;
  userid: string | null;
  status: string;
  reason: string | null;
  attempts: number;
  taskId: string | null;
  processQueryKey: string | null;
  ambiguous: number;
  lostAnswerAt: number | null;
  jobId: string;
  updatedAt: number;
  recallError: string | null;
  digestId: string | null;
  /** Which part of a message split into parts (1-based), and how many there are; null: not split. */
  part?: number | null;
  parts?: number | null;
}

export interface JobsTable {
  id: string;
  kind: string;
  notificationId: string;
  channel: string | null;
  destination: string | null;
  /** The merge key (named content_hash since the first release). */
  contentHash: string | null;
  state: string;
  runAt: number;
  leaseUntil: number | null;
  leaseOwner: string | null;
  /** Claims (named attempts since the first release). */
  attempts: number;
  createdAt: number;
  sendStartedAt: number | null;
  payload: string;
  lastError: string | null;
  leaseToken: number;
  sendAttempts: number;
  failures: number;
  slotAt: number | null;
  slotKey: string | null;
  deadAt: number | null;
  /** The digest job a folded job's message went into (state 'folded'). */
  foldedInto?: string | null;
  /** The job of the previous part of a split message: this one is due once that one has left the queue. */
  follows?: string | null;
}

export interface AttemptsTable {
  jobId: string;
  at: number;
  outcome: string;
  code: string | null;
  message: string | null;
  durationMs: number;
}

export interface CountersTable {
  key: string;
  value: number;
  expiresAt: number;
}

export interface EventsTable {
  id: string;
  notificationId: string;
  type: string;
  at: number;
  body: string | null;
  callbackState: string;
  callbackAttempts: number;
  callbackError: string | null;
  deliveredAt: number | null;
  busState: string;
}

export interface PacingTable {
  key: string;
  state: string;
  updatedAt: number;
}

export interface DeliveryLogTable {
  id: string;
  notificationId: string;
  at: number;
  status: string;
  reason: string | null;
  deliveryIds: string;
}

export interface MetaTable {
  key: string;
  value: string;
}

export interface MediaTable {
  id: string;
  sha256: string;
  type: string;
  filename: string;
  format: string;
  mime: string;
  size: number;
  /** The unguessable part of the media's public URL (server.publicUrl), which robots show images by. */
  token: string;
  bytes: Uint8Array;
  createdAt: number;
}

export interface MediaUploadsTable {
  /** The app's AppKey: media ids are DingTalk's per app and organisation, whatever the configuration names the app. */
  app: string;
  sha256: string;
  type: string;
  mediaId: string;
  createdAt: number;
}

export interface DirectoryUsersTable {
  app: string;
  userid: string;
  /** Normalised (domain/mobile.ts), as resolving looks it up. */
  mobile: string | null;
  name: string;
  /** JSON array of department ids. */
  deptIds: string;
  syncedAt: number;
}

export interface DirectorySyncsTable {
  app: string;
  startedAt: number | null;
  finishedAt: number | null;
  error: string | null;
  users: number;
  departments: number;
  /** Who runs a sync now, and until when its claim holds (renewed while it runs). */
  owner: string | null;
  runningUntil: number | null;
}

export interface Database {
  notifications: NotificationsTable;
  deliveries: DeliveriesTable;
  jobs: JobsTable;
  attempts: AttemptsTable;
  counters: CountersTable;
  events: EventsTable;
  pacing: PacingTable;
  delivery_log: DeliveryLogTable;
  meta: MetaTable;
  media: MediaTable;
  media_uploads: MediaUploadsTable;
  directory_users: DirectoryUsersTable;
  directory_syncs: DirectorySyncsTable;
}
