import { randomBytes } from 'node:crypto';
import type { DueJob } from '../domain/jobs.js';
import type { Logger } from '../observability/logger.js';
import type { RedisLink } from './redis-link.js';

/** How long announcements are gathered into one (the first of a quiet spell goes at once). */
const GATHER_MS = 50;

/**
 * Wake-ups across instances: work stored on one instance is announced on the cluster's channel, and every other
 * instance's dispatcher looks for due jobs at once instead of at its next poll. An announcement names the work's
 * destinations, so an instance whose gates hold them back (dispatch/gates.ts) does not look in vain. A burst of
 * accepts is gathered into one announcement every GATHER_MS, well inside the 100 ms a free instance has to claim new
 * work: every look costs each instance a claim on the shared store, and one announcement per accept made three
 * instances claim 1 800 times a second under load. The poll stays: a lost announcement (Redis away) only delays work
 * until then.
 */
export class ClusterWakeups {
  private readonly channel: string;
  private readonly self = randomBytes(6).toString('hex');
  private gathering: { due: Map<string, DueJob>; any: boolean } | null = null;
  private quietUntil = 0;

  constructor(
    private readonly link: RedisLink,
    private readonly log: Logger,
  ) {
    this.channel = `${link.prefix}wake`;
  }

  /** Listens for the other instances' announcements; `wake` runs this instance's dispatcher. */
  listen(wake: (due?: DueJob[]) => void): void {
    const sub = this.link.subscriber();
    sub.on('message', (channel: string, message: string) => {
      if (channel !== this.channel) return;
      const parsed = parseAnnouncement(message);
      // Its own announcements: this instance's dispatcher was woken when the work was stored.
      if (parsed?.from === this.self) return;
      wake(parsed?.due ?? undefined);
    });
    // Not awaited: with Redis away at start it completes once Redis is there (ioredis subscribes again after every
    // reconnect); the poll covers the meantime.
    void sub.subscribe(this.channel).catch((err: Error) => this.log.warn({ err: err.message }, 'cluster wake-ups: not subscribed yet; polling meanwhile'));
  }

  /** Tells the cluster there is new work (`due`: its jobs, when known). */
  announce(due?: readonly DueJob[]): void {
    const now = Date.now();
    if (!this.gathering && now >= this.quietUntil) {
      // The first of a quiet spell goes at once: a lone accept is claimed elsewhere within a round trip.
      this.quietUntil = now + GATHER_MS;
      this.publish(due === undefined ? null : [...due]);
      return;
    }
    if (!this.gathering) {
      this.gathering = { due: new Map(), any: false };
      setTimeout(() => this.flush(), Math.max(1, this.quietUntil - now)).unref();
    }
    if (due === undefined) this.gathering.any = true;
    else for (const j of due) this.gathering.due.set(`${j.kind}|${j.channel}|${j.destination}`, j);
  }

  private flush(): void {
    const g = this.gathering;
    this.gathering = null;
    if (!g) return;
    this.quietUntil = Date.now() + GATHER_MS;
    this.publish(g.any ? null : [...g.due.values()]);
  }

  private publish(due: DueJob[] | null): void {
    this.link.redis.publish(this.channel, JSON.stringify({ from: this.self, due })).catch(() => {});
  }
}

/** An announcement, or null for one this version cannot read (an older instance's '1': wake for anything). */
function parseAnnouncement(message: string): { from: string; due: DueJob[] | null } | null {
  try {
    const m = JSON.parse(message) as { from?: unknown; due?: unknown };
    if (typeof m.from !== 'string') return null;
    const due = Array.isArray(m.due)
      ? m.due.filter((j): j is DueJob => typeof j === 'object' && j !== null && typeof (j as DueJob).kind === 'string')
      : null;
    return { from: m.from, due };
  } catch {
    return null;
  }
}
