import type { DeliveryStatus, MoveName, NotificationStatus } from '../domain/delivery-states.js';
import type { NewMember } from '../domain/members.js';
import type { Fence, GatedDestination, JobKind, JobRow, JobState, NewJob } from '../domain/jobs.js';
import type { LogLine, QueueRow, RecentAttempt, StatsQuery, StatsRows } from './dashboard.js';
import type { AttemptRecord, DeliveryFields, DeliveryRow, EventRow, NewDelivery, NewNotification, NotificationRow } from '../domain/records.js';

/** The gateway's storage contract; SQLite (embedded) and PostgreSQL (several instances) implement it. */

export interface AcceptInput {
  notification: NewNotification;
  deliveries: NewDelivery[];
  jobs: NewJob[];
  /** Media the message carried (base64, or fetched from a URL): stored with it, or not at all. */
  media?: NewMedia[];
}

/** A media file as the store keeps it, without its bytes. */
export interface MediaInfo {
  /** Derived from the type and the content's hash: the same bytes are one row (see media/intake.ts). */
  id: string;
  sha256: string;
  type: 'image' | 'voice' | 'video' | 'file';
  filename: string;
  format: string;
  mime: string;
  size: number;
  token: string;
  createdAt: number;
}

export interface NewMedia extends MediaInfo {
  bytes: Uint8Array;
}

export type AcceptResult = { created: true; notification: NotificationRow } | { created: false; notification: NotificationRow; conflict: boolean };

export interface ListQuery {
  apiKey?: string;
  status?: NotificationStatus;
  since?: number;
  limit: number;
  /** The last id of the previous page (ids sort by creation time). */
  cursor?: string;
  /** Created before this time. */
  until?: number;
  /** With a delivery on this channel / to this destination (robot or app name) / to this recipient (or userid). */
  channel?: string;
  destination?: string;
  recipient?: string;
  /** Came in by this drop-in target. */
  target?: string;
  /** Words in its title or content (case-insensitive). */
  text?: string;
}

export interface DeliveryQuery {
  ids?: string[];
  jobIds?: string[];
  notificationId?: string;
  statuses?: readonly DeliveryStatus[];
  /** Deliveries that one DingTalk message carried (a merged message carries several notifications'). */
  task?: { destination: string; taskId?: string; processQueryKey?: string };
  /** Only mobiles not yet resolved to a userid. */
  unresolved?: boolean;
}

export interface JobQuery {
  notificationId?: string;
  kinds?: JobKind[];
  states?: JobState[];
  ids?: string[];
  limit?: number;
  /** Owner filter: the notifications of this API key. */
  apiKey?: string;
}

export interface RescheduleOptions {
  /** A pacing slot the job now holds; null clears it. */
  slotAt?: number | null;
  /** The quota of that slot when a call inside the job deferred it (see JobRow.slotKey). */
  slotKey?: string | null;
  lastError?: string | null;
  /** Forget that a send started (it was answered). */
  clearSendStarted?: boolean;
  /** Count an unexpected failure (toward the dead-letter limit). */
  countFailure?: boolean;
}

/** A person as a directory sync found them. */
export interface DirectoryEntry {
  userid: string;
  name: string;
  /** Normalised (domain/mobile.ts); null when DingTalk gave none. */
  mobile: string | null;
  deptIds: number[];
}

export interface DirectoryRow extends DirectoryEntry {
  syncedAt: number;
}

export interface DirectoryQuery {
  /** The app's AppKey. */
  app: string;
  /** Normalised. */
  mobile?: string;
  userid?: string;
  limit: number;
  /** The last userid of the previous page. */
  cursor?: string;
}

export interface DirectorySyncState {
  app: string;
  /** When the latest sync started, and when the latest successful one finished. */
  startedAt: number | null;
  finishedAt: number | null;
  /** Why the latest sync failed (null after a success). */
  error: string | null;
  users: number;
  departments: number;
  /** A sync of this app runs now (on some instance). */
  running: boolean;
}

/** One unit of work: everything written through it commits together or not at all. */
export interface Tx {
  /** The gateway's clock when the unit of work began. */
  readonly now: number;
  notification(id: string): Promise<NotificationRow | undefined>;
  deliveries(q: DeliveryQuery): Promise<DeliveryRow[]>;
  /**
   * A status move from the state machine's table (domain/delivery-states.ts), guarded by its from-states: answers
   * the rows it actually changed (a row another writer already moved elsewhere is left alone).
   */
  move(ids: string[], move: MoveName, fields?: DeliveryFields): Promise<DeliveryRow[]>;
  /**
   * Inserts the rows of people a department or all-users send reached (domain/members.ts), in `sent` (its send
   * carried them), with the aggregate row's send facts; an id that exists already is left as it is. Answers the rows
   * inserted. Their outcome is then written by `move`, like any other delivery's.
   */
  addMembers(members: NewMember[]): Promise<DeliveryRow[]>;
  /** Sets fields without a status change, on rows still in one of `onlyIn`. */
  patch(ids: string[], fields: DeliveryFields, onlyIn: readonly DeliveryStatus[]): Promise<DeliveryRow[]>;
  /** Records that a recall was asked for; false when it already was. */
  requestRecall(notificationId: string): Promise<boolean>;
  /** Inserts jobs; a job whose id exists already is left as it is (deterministic ids make this idempotent). */
  addJobs(jobs: NewJob[]): Promise<void>;
  jobs(q: JobQuery): Promise<JobRow[]>;
  complete(jobIds: string[]): Promise<void>;
  reschedule(jobIds: string[], runAt: number, opts?: RescheduleOptions): Promise<void>;
  /** Replaces a job's payload (progress a job keeps across runs). */
  updatePayload(jobId: string, payload: unknown): Promise<void>;
  /** Marks a send as started (its answer, if lost, is then known to be lost) and counts the attempt. */
  startSend(jobIds: string[]): Promise<void>;
  /** Dead letter: kept for an operator, with the reason. */
  kill(jobIds: string[], reason: string): Promise<void>;
  /** Dead letters back to ready (an operator's retry), each with its payload as given. */
  revive(jobs: { id: string; payload: unknown }[], runAt: number): Promise<JobRow[]>;
  counters(keys: string[]): Promise<Map<string, number>>;
  addToCounters(deltas: Map<string, number>, expiresAt: number): Promise<void>;
  recordAttempts(attempts: AttemptRecord[]): Promise<void>;
  event(id: string): Promise<EventRow | undefined>;
  events(notificationId: string): Promise<EventRow[]>;
  updateEvent(id: string, patch: Partial<Pick<EventRow, 'body' | 'callbackState' | 'busState' | 'callbackAttempts' | 'callbackError' | 'deliveredAt'>>): Promise<void>;
  /**
   * A paced destination's queue (dispatch/destination-queue.ts). Every decision about who waits behind whom is made
   * under this lock (PostgreSQL: an advisory lock for the transaction; SQLite: its single writer).
   */
  lockDestination(channel: string, destination: string): Promise<void>;
  /** Whether a send job of the destination other than `except` is running, due, or holding a slot: the queue's head. */
  hasHead(channel: string, destination: string, except: string[]): Promise<boolean>;
  /** Parks jobs behind their destination's head: never claimed until unparked (or folded into a digest). */
  park(jobIds: string[]): Promise<void>;
  /** Parked jobs of the destination (with `alsoReady`, jobs waiting in the queue too), oldest first. */
  waitingJobs(channel: string, destination: string, limit: number, alsoReady?: boolean): Promise<JobRow[]>;
  /**
   * The jobs among `jobIds` that still wait (parked, or ready and not claimed by anyone) are folded into the digest job
   * `digestId` (kept, with their messages, until it has gone). Answers those folded.
   */
  foldInto(jobIds: string[], digestId: string): Promise<string[]>;
  /** The jobs folded into a digest back to ready at `runAt` (DingTalk refused the digest): answers them. */
  unfold(digestId: string, runAt: number): Promise<JobRow[]>;
  /** The digest went: the jobs folded into it are done. */
  dropFolded(digestId: string): Promise<void>;
  /** A parked job back to ready, due at `runAt` or its own earlier run_at, holding `slotAt` when given; false when it was no longer parked. */
  unpark(jobId: string, runAt: number, slotAt: number | null): Promise<boolean>;
  /** Pacing windows by key (JSON state), locked for this unit of work. */
  pacing(keys: string[]): Promise<Map<string, string>>;
  savePacing(states: Map<string, string>): Promise<void>;
}

/** Thrown when a worker writes on a job whose lease it no longer holds: nothing of the unit of work is written. */
export class LeaseLost extends Error {
  override name = 'LeaseLost';
  constructor(readonly jobIds: string[]) {
    super(`lease lost on ${jobIds.join(', ')}`);
  }
}

/**
 * Which waiting sends a claim looks at (every other due job is always claimable: a job holding a slot, other kinds,
 * an expired lease). `lanes`: only the waiting sends of these destinations, each read as an index range of its own;
 * otherwise every due row, leaving out the waiting sends of the `gated` destinations (dispatch/gates.ts).
 */
export interface ClaimScope {
  lanes?: readonly GatedDestination[];
  gated?: readonly GatedDestination[];
}

export interface Store {
  readonly kind: 'sqlite' | 'postgres';
  /** Writes a notification with its deliveries and jobs in one transaction; an existing idempotency key returns the original. */
  accept(input: AcceptInput): Promise<AcceptResult>;
  getNotification(id: string): Promise<NotificationRow | undefined>;
  /** The notification a sender (API key name) stored under an idempotency key, if any. */
  notificationByKey(apiKey: string, idempotencyKey: string): Promise<NotificationRow | undefined>;
  listNotifications(q: ListQuery): Promise<NotificationRow[]>;
  deliveries(q: DeliveryQuery): Promise<DeliveryRow[]>;
  deliveriesOfNotifications(notificationIds: string[]): Promise<DeliveryRow[]>;
  jobs(q: JobQuery): Promise<JobRow[]>;
  events(notificationId: string): Promise<EventRow[]>;
  /**
   * Leases due jobs (and jobs whose lease ran out: their worker died), bumping each one's fencing token. `exclude`:
   * jobs this worker is still running (never claimed again by the same worker). Lease times are the store's clock.
   */
  claim(owner: string, now: number, limit: number, leaseMs: number, exclude: string[], scope?: ClaimScope): Promise<JobRow[]>;
  /** Due ready send jobs with the same merge key, leased too, to share one call. */
  claimMergeable(like: JobRow, owner: string, now: number, limit: number, leaseMs: number): Promise<JobRow[]>;
  /** Extends the leases this worker still holds; answers the ids it holds. */
  renew(owner: string, fences: Fence[], leaseMs: number): Promise<Set<string>>;
  /** Runs `work` as one transaction; with fences, only while every one of those leases is still held (else LeaseLost). */
  transact<T>(fences: Fence[] | null, now: number, work: (tx: Tx) => Promise<T>): Promise<T>;
  /**
   * From now on every status event is also put in the outbox for the bus (events.amqp): marked pending, with a
   * publish job, in the transaction that records the change.
   */
  publishEvents(): void;
  /** A write that proves the store accepts writes now (readiness). */
  probe(): Promise<void>;
  /**
   * Runs `decide` on a meta value (null: none yet) while holding it locked, and stores what it answers: one instance
   * at a time decides (cluster/redis-epoch.ts records Redis's epoch this way).
   */
  lockedMeta(key: string, decide: (value: string | null) => Promise<string>): Promise<string>;
  queueStats(now: number): Promise<{ depth: number; oldestAgeMs: number; dead: number }>;
  /** Folded jobs whose digest is gone (it settled another way: every message recalled): deleted; answers how many. */
  collectFolded(): Promise<number>;
  /** Destinations with jobs parked behind their head (a sweep unparks those whose head is gone). */
  parkedDestinations(): Promise<{ channel: string; destination: string }[]>;
  /** Stores a media file; the same id again is left as it was. Answers the row as stored. */
  putMedia(media: NewMedia): Promise<MediaInfo>;
  /** Media by id, without their bytes (unknown ids are left out). */
  mediaInfo(ids: string[]): Promise<MediaInfo[]>;
  /** A media file with its bytes. */
  mediaBytes(id: string): Promise<{ info: MediaInfo; bytes: Buffer } | undefined>;
  /** The media_id DingTalk gave `appKey` for this content, if it was uploaded before. */
  uploadedMedia(appKey: string, sha256: string, type: string): Promise<string | undefined>;
  /** Remembers an upload's media_id (the first one recorded stays: either is good). */
  saveUploadedMedia(appKey: string, sha256: string, type: string, mediaId: string, now: number): Promise<void>;
  /**
   * Forgets an upload DingTalk no longer takes: only while `mediaId` is still the one recorded (another sender may
   * already have recorded a fresh upload in its place).
   */
  forgetUploadedMedia(appKey: string, sha256: string, type: string, mediaId: string): Promise<void>;
  /** When the earliest job waiting in the queue is due (null: none waits), reading what a claim of that scope reads. */
  nextDue(scope?: ClaimScope): Promise<number | null>;
  /**
   * The org directory (directory/sync.ts). A sync first claims its app until `until` (false: a sync of that app runs
   * already, here or on another instance), renews the claim while it runs, and ends by replacing the app's directory
   * in one transaction (false, and nothing written: the claim was lost) or by recording why it failed. `app` is the
   * app's AppKey (the org the directory lists), not its configured name.
   */
  claimDirectorySync(app: string, owner: string, now: number, until: number): Promise<boolean>;
  renewDirectorySync(app: string, owner: string, until: number): Promise<boolean>;
  replaceDirectory(app: string, owner: string, users: DirectoryEntry[], departments: number, now: number): Promise<boolean>;
  failDirectorySync(app: string, owner: string, error: string): Promise<void>;
  directorySync(app: string, now: number): Promise<DirectorySyncState | undefined>;
  /** Normalised mobile → userid, for those of `mobiles` (normalised) the app's directory knows. */
  directoryUserids(app: string, mobiles: string[]): Promise<Map<string, string>>;
  directoryUsers(q: DirectoryQuery): Promise<DirectoryRow[]>;
  /** The dashboard's reads (store/dashboard.ts). */
  stats(q: StatsQuery): Promise<StatsRows>;
  destinationQueues(): Promise<QueueRow[]>;
  recentAttempts(since: number, limit: number): Promise<RecentAttempt[]>;
  /** Pacing windows by key and by key prefix, read without locking them. */
  pacingStates(keys: string[], prefixes: string[]): Promise<Map<string, string>>;
  countersAtLeast(prefix: string, min: number, now: number, limit: number): Promise<{ key: string; value: number }[]>;
  deliveryLog(notificationId: string): Promise<LogLine[]>;
  attemptsOf(jobIds: string[]): Promise<AttemptRecord[]>;
  close(): Promise<void>;
}
