import type { Logger } from '../observability/logger.js';
import type { RedisLink } from './redis-link.js';

/**
 * Wake-ups across instances: work stored on one instance is announced on the cluster's channel, and every instance's
 * dispatcher looks for due jobs at once instead of at its next poll. The poll stays: a lost announcement (Redis away)
 * only delays work until then.
 */
export class ClusterWakeups {
  private readonly channel: string;
  private lastAnnounced = 0;

  constructor(
    private readonly link: RedisLink,
    private readonly log: Logger,
  ) {
    this.channel = `${link.prefix}wake`;
  }

  /** Listens for the other instances' announcements; `wake` runs this instance's dispatcher. */
  listen(wake: () => void): void {
    const sub = this.link.subscriber();
    sub.on('message', (channel: string) => {
      if (channel === this.channel) wake();
    });
    // Not awaited: with Redis away at start it completes once Redis is there (ioredis subscribes again after every
    // reconnect); the poll covers the meantime.
    void sub.subscribe(this.channel).catch((err: Error) => this.log.warn({ err: err.message }, 'cluster wake-ups: not subscribed yet; polling meanwhile'));
  }

  /** Tells the cluster there is new work (at most once a millisecond: a burst of accepts is one announcement each ms). */
  announce(): void {
    const now = Date.now();
    if (now === this.lastAnnounced) return;
    this.lastAnnounced = now;
    this.link.redis.publish(this.channel, '1').catch(() => {});
  }
}
