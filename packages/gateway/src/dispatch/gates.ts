import type { GatedDestination } from '../domain/jobs.js';

/**
 * Destinations whose next call slot is reserved far ahead (their backlog holds every slot up to then): new send jobs
 * for them are not claimed until shortly before it, so that work which could only wait for a slot costs no store
 * writes (claim, reservation, hold) while accepts stream in. Jobs that already hold a slot are claimed at their slot
 * as ever. Per process: a gate only delays claiming, never sending, and every claim after it reserves behind the
 * slots already held, so order and quotas are the pacer's (shared through the store, or Redis in cluster mode) whatever each process knows.
 */
export class DestinationGates {
  private readonly until = new Map<string, { at: number; gate: GatedDestination }>();

  /** Nothing new is claimed for the destination before `at`. */
  close(channel: string, destination: string, at: number): void {
    const key = `${channel}|${destination}`;
    const open = this.until.get(key);
    if (!open || open.at < at) this.until.set(key, { at, gate: { channel, destination } });
  }

  isClosed(channel: string | null, destination: string | null, now: number): boolean {
    if (channel === null || destination === null) return false;
    const g = this.until.get(`${channel}|${destination}`);
    return g !== undefined && g.at > now;
  }

  /** The destinations closed now (forgetting those that opened). */
  closed(now: number): GatedDestination[] {
    const out: GatedDestination[] = [];
    for (const [key, g] of this.until) {
      if (g.at <= now) this.until.delete(key);
      else out.push(g.gate);
    }
    return out;
  }

  /** When the first closed destination opens (null: none is closed). */
  nextOpening(now: number): number | null {
    let next: number | null = null;
    for (const g of this.until.values()) if (g.at > now && (next === null || g.at < next)) next = g.at;
    return next;
  }
}
