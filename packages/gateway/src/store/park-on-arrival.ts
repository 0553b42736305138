import { WAITS_IN_QUEUE } from '../domain/channel-limits.js';
import type { AcceptInput } from './types.js';

/**
 * Send jobs that arrive due while their destination's queue has a head are stored parked (domain WAITS_IN_QUEUE;
 * dispatch/destination-queue.ts): the dispatcher never claims them one by one, the head folds them into a digest or
 * unparks them in turn. One look per destination per batch, by the store (`heads`); a due job stored in the batch is
 * itself the head for those after it. Urgent messages may go out of turn (the slots kept in reserve): never parked.
 */
/** Why a message parked on arrival waits (what GET /v1/notifications/:id shows until its turn). */
export const PARKED_REASON = "waiting for the robot's 20-a-minute quota, behind earlier messages to it";

export interface Arrival {
  jobId: string;
  channel: string;
  destination: string;
  /** The gateway's clock when it was accepted (a job due by then is due now). */
  now: number;
}

export function queuedArrivals(inputs: AcceptInput[]): Arrival[] {
  return inputs.flatMap((input) =>
    input.jobs
      .filter(
        (j) =>
          j.kind === 'send' &&
          j.channel !== null &&
          WAITS_IN_QUEUE[j.channel] &&
          j.destination !== null &&
          j.runAt <= input.notification.createdAt &&
          !j.payload.urgent,
      )
      .map((j) => ({ jobId: j.id, channel: j.channel!, destination: j.destination!, now: input.notification.createdAt })),
  );
}

/** Destinations to look at, in one order (locks taken in it never wait on each other in a cycle), with the latest accept time. */
export function destinationsOf(arrivals: Arrival[]): { channel: string; destination: string; now: number }[] {
  const byKey = new Map<string, { channel: string; destination: string; now: number }>();
  for (const a of arrivals) {
    const key = `${a.channel}|${a.destination}`;
    const seen = byKey.get(key);
    byKey.set(key, { channel: a.channel, destination: a.destination, now: Math.max(seen?.now ?? a.now, a.now) });
  }
  return [...byKey.entries()].sort(([a], [b]) => (a < b ? -1 : 1)).map(([, v]) => v);
}

/** The arrivals that park, given which destinations were occupied before the batch (a head or parked jobs: `headed`, by "channel|destination"). */
export function parkedAmong(arrivals: Arrival[], headed: Map<string, boolean>): Set<string> {
  const parked = new Set<string>();
  const heads = new Map(headed);
  for (const a of arrivals) {
    const key = `${a.channel}|${a.destination}`;
    if (heads.get(key)) parked.add(a.jobId);
    else heads.set(key, true);
  }
  return parked;
}
