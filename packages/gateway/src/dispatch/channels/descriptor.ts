import type { Channel, MoveName } from '../../domain/delivery-states.js';
import type { RecallMessagePayload, TrackPayload } from '../../domain/jobs.js';
import type { NewMember } from '../../domain/members.js';
import type { DeliveryRow } from '../../domain/records.js';
import type { Tx } from '../../store/types.js';
import type { Reservation } from '../pacer.js';
import type { Runtime } from '../runtime.js';

/**
 * What a channel is, declared in one place (as apprise declares its providers): how its calls are paced and batched,
 * how its recipients are resolved, how one send is made, what a lost answer means, how its outcome is tracked and
 * how it is recalled. One generic send path (../send.ts), tracker (../track.ts) and recall (../recall.ts) drive
 * every channel from these.
 */
export interface ChannelDescriptor {
  readonly channel: Channel;
  /** Deliveries one DingTalk call carries at most. */
  readonly batchLimit: number;
  /** Mobiles are resolved to userids (a resolve job) before this channel sends to them. */
  readonly resolvesMobiles: boolean;
  /**
   * A send whose answer was lost (timeout, dropped connection) may have arrived:
   * - resend: send again; DingTalk drops the duplicate (robot msgUuid);
   * - resend-and-prove: send again; DingTalk's same-content filter (143106) then proves the first one arrived;
   * - report: DingTalk can neither de-duplicate nor be asked, so the delivery fails saying so instead of risking two.
   */
  readonly lostAnswer: 'resend' | 'resend-and-prove' | 'report';
  /**
   * Sends to one destination go out one at a time, in the order this process claimed them (acceptance order), so a
   * burst due at once reaches the group in order. Only where the destination is the group itself (a custom robot):
   * chats' destination is their app, and serialising every chat of an app would hold all of them up. Per process;
   * across processes and past retries, a queue (`waiting: 'queue'`) keeps the order.
   */
  readonly inOrder: boolean;
  /**
   * How sends wait when the destination's quota is spent. 'slot': each job reserves and holds a slot of its own.
   * 'queue': one job (the head) holds the destination's next slot and the others park behind it, untouched until
   * then; at that slot the head carries what waits as one digest (where `digest` allows), or hands its slot to an
   * older job (../destination-queue.ts). A backlog then costs nothing per slot, and its order holds across processes.
   */
  readonly waiting: 'slot' | 'queue';
  /** Whether messages waiting for this destination may be folded into one digest, and the keywords a digest must carry. */
  digest?(rt: Runtime, destination: string): { keywords: string[] } | null;
  /** The slots kept in reserve for urgent messages, used when the call's own slot is far off (none: no reserve). */
  reserve?(rt: Runtime, destination: string): Reservation[];
  /** Whether `destination` is still configured (an app or robot name). */
  configured(rt: Runtime, destination: string): boolean;
  /** The deliveries of the next call, from those waiting (in order). */
  selectBatch(waiting: DeliveryRow[]): DeliveryRow[];
  /** The slots one call needs (robot minute, app calls a second, recipients a minute); the first is the call's own. */
  pacing(rt: Runtime, destination: string, batch: DeliveryRow[]): Promise<Reservation[]>;
  /**
   * Inside the transaction that starts a send: deliveries to hold back (the per-user daily cap) and until when.
   * `release` undoes the admission of deliveries whose send certainly did not happen.
   */
  admit?(tx: Tx, rt: Runtime, destination: string, batch: DeliveryRow[]): Promise<HeldBack | null>;
  release?(tx: Tx, rt: Runtime, destination: string, batch: DeliveryRow[]): Promise<void>;
  /**
   * One call to DingTalk. Throws DingTalkError as the client classifies it. `callId` is the same every time this call
   * is made again (a robot's msgUuid, so that DingTalk drops a repeat).
   */
  send(rt: Runtime, destination: string, body: Record<string, unknown>, batch: DeliveryRow[], callId: string): Promise<SendAnswer>;
  /** How outcomes are learnt after `sent`; null: DingTalk's answer to the send is the outcome. */
  readonly tracking: TrackingDescriptor | null;
  /** How a sent message is recalled, or why it cannot be. */
  readonly recall: RecallDescriptor | { unsupported: string };
}

export interface HeldBack {
  rows: DeliveryRow[];
  until: number;
  reason: string;
}

export interface SendAnswer {
  /** DingTalk's handle for tracking and recall. */
  taskId?: string;
  processQueryKey?: string;
  /** Recipients DingTalk refused in its answer to the send itself. */
  refused?: { ids: string[]; move: Extract<MoveName, 'unresolvable' | 'refusedAtSend'>; reason: string }[];
}

export interface TrackingDescriptor {
  /** The API of the look, reserved before the tracker runs. */
  api: string;
  look(rt: Runtime, p: TrackPayload, deliveries: DeliveryRow[]): Promise<TrackResult>;
}

export interface TrackResult {
  /** A null move keeps the status and sets the reason (clearTask: the delivery no longer waits on this task). */
  moves: { rows: DeliveryRow[]; move: MoveName | null; reason: string | null; clearTask?: boolean }[];
  /** Recipients DingTalk held back (its daily or per-minute cap): sent again at `at`. */
  heldBack: { rows: DeliveryRow[]; at: number; reason: string }[];
  /** Recipients DingTalk has not finished with: looked at again soon. */
  unfinished: DeliveryRow[];
  /** Counters learnt from the result (how many people a department send reached), kept for a week. */
  learnt?: Map<string, number>;
  /**
   * People a department or all-users send reached who have no row yet: inserted (in `sent`) before `moves` are
   * written, and only while their aggregate row is still delivered (a recall that got there first wins).
   */
  members?: NewMember[];
}

export interface RecallDescriptor {
  api: string;
  /** The recall calls that take back these delivered deliveries (grouped by DingTalk message). */
  plan(destination: string, delivered: DeliveryRow[]): RecallMessagePayload[];
  /** Deliveries DingTalk confirmed recalled, and why the others were not. */
  execute(rt: Runtime, p: RecallMessagePayload): Promise<{ recalled: string[]; failed: Map<string, string> }>;
}

export const isRecallable = (r: ChannelDescriptor['recall']): r is RecallDescriptor => 'execute' in r;
