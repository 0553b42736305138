/**
 * Pacing inside DingTalk's quotas, per destination. Each check answers 0 (go now, the slot is taken) or how long to
 * wait; the caller reschedules instead of waiting, so one throttled destination never holds up the others.
 * In-process: quotas are facts of a destination, so a multi-instance deployment must share these counts (Redis).
 */

/** At most `limit` events in any sliding `windowMs` (robots: 20 a minute). */
export class SlidingWindow {
  private readonly events = new Map<string, number[]>();

  constructor(
    private readonly limit: number,
    private readonly windowMs: number,
  ) {}

  /** Takes `n` slots now, or answers how long until they are free (without taking them). */
  take(key: string, now: number, n = 1): number {
    const list = this.prune(key, now);
    if (n > this.limit) n = this.limit;
    if (list.length + n <= this.limit) {
      for (let i = 0; i < n; i++) list.push(now);
      return 0;
    }
    const freeing = list[list.length + n - this.limit - 1]!;
    return Math.max(1, freeing + this.windowMs - now);
  }

  private prune(key: string, now: number): number[] {
    let list = this.events.get(key);
    if (!list) {
      list = [];
      this.events.set(key, list);
    }
    let drop = 0;
    while (drop < list.length && list[drop]! <= now - this.windowMs) drop++;
    if (drop) list.splice(0, drop);
    return list;
  }
}

/** A token bucket: `ratePerSec` on average, bursts of at most `burst` (app calls per API). */
export class TokenBucket {
  private readonly buckets = new Map<string, { tokens: number; at: number }>();

  constructor(
    private readonly ratePerSec: number,
    private readonly burst: number,
  ) {}

  /** Takes a token now (0), or answers how long until one is there (taking nothing). */
  take(key: string, now: number): number {
    const wait = this.peek(key, now);
    if (wait === 0) this.buckets.get(key)!.tokens -= 1;
    return wait;
  }

  peek(key: string, now: number): number {
    const b = this.buckets.get(key) ?? { tokens: this.burst, at: now };
    b.tokens = Math.min(this.burst, b.tokens + ((now - b.at) / 1000) * this.ratePerSec);
    b.at = now;
    this.buckets.set(key, b);
    return b.tokens >= 1 ? 0 : Math.ceil(((1 - b.tokens) / this.ratePerSec) * 1000);
  }
}

export interface PacerOptions {
  appCallsPerSecond: number;
  robotPerMinute: number;
  recipientsPerMinute: number;
}

/** Every quota the dispatcher paces against. */
export class Pacer {
  private readonly appCalls: TokenBucket;
  private readonly robots: SlidingWindow;
  private readonly recipients: SlidingWindow;
  private readonly blockedUntil = new Map<string, number>();
  /**
   * Per destination, the next future slot handed to a waiting call, so that a backlog is spread out over time and
   * each waiting job is looked at about once, instead of every waiting job being retried at every free moment.
   */
  private readonly nextSlot = new Map<string, number>();
  private readonly robotSpacingMs: number;
  private readonly appSpacingMs: number;

  constructor(opts: PacerOptions) {
    this.robotSpacingMs = Math.ceil(60_000 / opts.robotPerMinute);
    this.appSpacingMs = Math.ceil(1000 / opts.appCallsPerSecond);
    // A small burst keeps an idle queue's latency at zero while spacing calls under load, so that what arrives
    // meanwhile with identical content is merged into the next call instead of spending a call of its own.
    this.appCalls = new TokenBucket(opts.appCallsPerSecond, 2);
    // DingTalk counts a robot's minute from when calls arrive, which is after we take the slot (event-loop lag, the
    // network): a 2 s margin keeps the 21st call out of DingTalk's minute, whose overrun costs a 10-minute block.
    this.robots = new SlidingWindow(opts.robotPerMinute, 62_000);
    this.recipients = new SlidingWindow(opts.recipientsPerMinute, 60_000);
  }

  /** One call of `api` by `app`, carrying `recipients` work-notification recipients. */
  appCall(app: string, api: string, now: number, recipients = 0): number {
    const blocked = this.blocked(`app:${app}:${api}`, now);
    if (blocked) return blocked;
    // Nothing is taken unless the call can go now: a call that waits must not use up recipients it did not send.
    const tokenWait = this.appCalls.peek(`${app}|${api}`, now);
    if (tokenWait) return this.slot(`app:${app}:${api}`, now, tokenWait, this.appSpacingMs);
    if (recipients > 0) {
      const wait = this.recipients.take(app, now, recipients);
      if (wait) return wait;
    }
    return this.appCalls.take(`${app}|${api}`, now);
  }

  /**
   * 0 = send now. Otherwise each waiting message gets its own later slot (one every 3 s for 20 a minute), so that
   * 100 000 queued messages are each looked at about once, when their turn comes.
   */
  /**
   * Whether a call could go now, without taking anything: 0, or the wait until this caller's own slot. Lets a sender
   * put a job back before reading its deliveries when the destination is busy.
   */
  appWait(app: string, api: string, now: number): number {
    const key = `app:${app}:${api}`;
    const blocked = this.blocked(key, now);
    if (blocked) return blocked;
    const tokenWait = this.appCalls.peek(`${app}|${api}`, now);
    return tokenWait ? this.slot(key, now, tokenWait, this.appSpacingMs) : 0;
  }

  robotCall(robot: string, now: number): number {
    const wait = this.blocked(`robot:${robot}`, now) || this.robots.take(robot, now);
    return wait === 0 ? 0 : this.slot(`robot:${robot}`, now, wait, this.robotSpacingMs);
  }

  /** The wait until this caller's own slot: the first free moment, or after the slots already handed out. */
  private slot(key: string, now: number, wait: number, spacing: number): number {
    const at = Math.max(now + wait, this.nextSlot.get(key) ?? 0);
    this.nextSlot.set(key, at + spacing);
    return at - now;
  }

  private readonly lastSent = new Map<string, number>();

  /** Remembers that a message with this merge key just went out, so followers can wait to share the next call. */
  markSent(key: string, now: number): void {
    this.lastSent.set(key, now);
    if (this.lastSent.size > 10_000) this.lastSent.clear();
  }

  lastSentAt(key: string): number | undefined {
    return this.lastSent.get(key);
  }

  /** DingTalk said wait anyway (130101's 10-minute block, 90018): nothing goes to that destination until then. */
  block(key: string, until: number): void {
    this.blockedUntil.set(key, Math.max(until, this.blockedUntil.get(key) ?? 0));
  }

  private blocked(key: string, now: number): number {
    const until = this.blockedUntil.get(key) ?? 0;
    return until > now ? until - now : 0;
  }
}
