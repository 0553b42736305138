import type { Channel } from './delivery-states.js';
import type { DigestContent, DigestItem } from './digest.js';

/**
 * The dispatcher's work items. A job row carries its kind and a payload typed by that kind; code that handles jobs
 * switches over `kind` exhaustively (see dispatch/dispatcher.ts).
 */

/** Sends the job's queued deliveries in one DingTalk call (≤ the channel's batch limit). */
export interface SendPayload {
  /** The DingTalk body, rendered once at accept time for this channel. */
  body: Record<string, unknown>;
  /** When the deliveries became due; the give-up time counts from here, per job. */
  dueAt: number;
  /** How the message shows in a digest, when it may be folded into one (robot messages whose target allows it). */
  item?: DigestItem;
  /** A digest: the messages it carries (its body is rendered from those still to send when it goes). */
  digest?: DigestContent;
  /** May use the slots a destination keeps in reserve (a resolved or critical alert, an urgent push). */
  urgent?: boolean;
  /** Never folded into a digest again (a digest it was in was refused: it goes as itself). */
  alone?: boolean;
}

/** Resolves mobiles to userids, handing each resolved batch to a new send job as soon as it is complete. */
export interface ResolvePayload {
  body: Record<string, unknown>;
  /** A message split into parts: every part's body in order (`body` is the first); each resolved batch gets a chain of jobs. */
  bodies?: Record<string, unknown>[];
  dueAt: number;
  /** The channel the resolved recipients are sent on. */
  sendChannel: 'work_notice' | 'robot_oto';
  /** A first batch has gone: from now on only full batches (and the rest at the end) go. */
  flushed?: boolean;
}

/** Follows one DingTalk send until each recipient has an outcome, then looks again for reads. */
export interface TrackPayload {
  channel: 'work_notice' | 'robot_oto';
  app: string;
  taskId?: number;
  processQueryKey?: string;
  deliveryIds: string[];
  /** The body and merge key, to send again to recipients DingTalk held back (143103, 143105). */
  body: Record<string, unknown>;
  mergeKey: string | null;
  sentAt: number;
  /** Looks so far while DingTalk was not done, and read re-checks so far. */
  polls: number;
  readChecks: number;
}

/**
 * A recall a sender asked for: first planned (step "plan": one recall job per DingTalk message the notification's
 * delivered deliveries went out in), then each message recalled (step "message").
 */
export type RecallPayload = { step: 'plan' } | RecallMessagePayload;

/** Recalls one DingTalk message (a task, or app-robot process query keys) for the deliveries it carried. */
export interface RecallMessagePayload {
  step: 'message';
  channel: 'work_notice' | 'robot_oto' | 'robot_group';
  app: string;
  taskId?: number;
  processQueryKeys?: string[];
  openConversationId?: string;
  deliveryIds: string[];
}

/** POSTs one event to the notification's callback URL. */
export interface CallbackPayload {
  eventId: string;
}

/** Publishes one event to the events.amqp exchange. */
export interface PublishPayload {
  eventId: string;
}

export type JobSpec =
  | { kind: 'send'; payload: SendPayload }
  | { kind: 'resolve'; payload: ResolvePayload }
  | { kind: 'track'; payload: TrackPayload }
  | { kind: 'recall'; payload: RecallPayload }
  | { kind: 'callback'; payload: CallbackPayload }
  | { kind: 'publish'; payload: PublishPayload };

export type JobKind = JobSpec['kind'];
export const JOB_KINDS = ['send', 'resolve', 'track', 'recall', 'callback', 'publish'] as const satisfies readonly JobKind[];

/**
 * ready: waits for run_at; leased: a worker holds it; parked: waits behind the job holding its destination's next
 * slot, which unparks it or folds it into a digest (dispatch/destination-queue.ts); folded: its message went into a
 * digest, kept until the digest has gone (sent alone again if DingTalk refuses the digest); dead: gave up, kept for an
 * operator (dead letter).
 */
export type JobState = 'ready' | 'leased' | 'parked' | 'folded' | 'dead';

export type NewJob = JobSpec & {
  id: string;
  notificationId: string;
  channel: Channel | null;
  /** App name (work_notice, chat, robot_oto, robot_group) or robot name (robot). */
  destination: string | null;
  /** Send jobs with equal merge keys carry the same message to the same destination and may share one call. */
  mergeKey: string | null;
  runAt: number;
  /** A pacing slot the new job holds from the start (a digest takes over the slot of the job it began with). */
  slotAt?: number | null;
  /**
   * The job of the previous part of a split message. Until that job leaves the queue (sent, or given up) this one
   * waits with runAt = AFTER_PREVIOUS_PART; the store then makes it due (store `complete` and `kill`).
   */
  follows?: string | null;
};

/** The run time of a part's job while the part before it is still to go: never due by the clock. */
export const AFTER_PREVIOUS_PART = 8_640_000_000_000_000;

export type JobRow = NewJob & {
  state: JobState;
  leaseOwner: string | null;
  leaseUntil: number | null;
  /** Fencing token: bumped at every claim; every write on the job names the token it holds. */
  leaseToken: number;
  claims: number;
  /** Calls to DingTalk made for this job (backoff counts these, not claims). */
  sendAttempts: number;
  /** Unexpected errors or failed looks; past the limit the job goes dead. */
  failures: number;
  createdAt: number;
  /** Set just before a send call; still set when the job is claimed again means its answer was lost. */
  sendStartedAt: number | null;
  /** A pacing slot this job holds (FIFO reservation): run at or after it without reserving again. */
  slotAt: number | null;
  /** The quota the held slot is for, when a call inside the job deferred it; null: the job's own call (its send, look or recall). */
  slotKey: string | null;
  lastError: string | null;
  deadAt: number | null;
  follows: string | null;
};

export type JobOf<K extends JobKind> = JobRow & Extract<JobSpec, { kind: K }>;

/** What a worker must show to write on a job: the id and the token of its lease. */
export interface Fence {
  id: string;
  token: number;
}

export const fenceOf = (j: Pick<JobRow, 'id' | 'leaseToken'>): Fence => ({ id: j.id, token: j.leaseToken });

export function assertNever(x: never): never {
  throw new Error(`unhandled case: ${JSON.stringify(x)}`);
}

/** A destination whose send jobs are not claimed unless they hold a slot (dispatch/gates.ts says when). */
export interface GatedDestination {
  channel: string;
  destination: string;
}

/** What a wake-up names of the work it announces. */
export interface DueJob {
  kind: string;
  channel: string | null;
  destination: string | null;
}
