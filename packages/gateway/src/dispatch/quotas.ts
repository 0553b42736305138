import { createHash } from 'node:crypto';
import type { Config } from '../config/schema.js';
import type { PaceRule, Reservation } from './pacer.js';

/**
 * DingTalk's quotas as pacing rules, and the keys they are counted under. Keys name what DingTalk counts (an app by
 * its AppKey, a robot by its webhook), not what this configuration calls them, so two names for one robot share
 * its minute.
 */
export class Quotas {
  /**
   * 20 a minute per robot, counted over 62 s (DingTalk counts arrivals, which trail our reservations), in two windows
   * that together never exceed it: the calls of every message, and a few kept for urgent ones (delivery.robotReserve).
   */
  readonly robot: PaceRule;
  readonly robotReserved: PaceRule;
  /** Calls per app and API: 20 in a window of 20 / appCallsPerSecond seconds. */
  readonly appCalls: PaceRule;
  /** Recipients per minute per app (work notifications), in one-second buckets. */
  readonly recipients: PaceRule;

  constructor(delivery: Config['delivery']) {
    this.robot = { limit: delivery.robotPerMinute - delivery.robotReserve, windowMs: 62_000, lateMs: 1_500 };
    this.robotReserved = { limit: Math.max(1, delivery.robotReserve), windowMs: 62_000, lateMs: 1_500 };
    // DingTalk's 20 in any second of arrivals, over a longer window of ours: at 16 a second (the default) a call may
    // arrive up to 250 ms after its slot without a 21st in a second. Half of that is for starting late (a slot held
    // across a token fetch), half for getting there (event-loop lag under load, the network).
    const windowMs = Math.ceil(20_000 / delivery.appCallsPerSecond);
    this.appCalls = { limit: 20, windowMs, lateMs: Math.max(25, Math.floor((windowMs - 1_000) / 2)) };
    // Over the limit DingTalk filters recipients (143103) and the tracker sends them again: no block to fear.
    // For the same reason a window Redis lost counts as empty (lostMs 0): a guess costs a retry, not a block.
    this.recipients = { limit: delivery.recipientsPerMinute, windowMs: 60_000, granularityMs: 1_000, lateMs: 5_000, lostMs: 0 };
  }

  robotCall(webhook: string, lane: 'normal' | 'reserve' = 'normal'): Reservation {
    const key = `robot:${createHash('sha256').update(webhook).digest('hex').slice(0, 24)}`;
    return lane === 'normal' ? { key, rule: this.robot, weight: 1 } : { key: `${key}:reserve`, rule: this.robotReserved, weight: 1 };
  }

  appCall(appKey: string, api: string): Reservation {
    return { key: `app:${appKey}:${api}`, rule: this.appCalls, weight: 1 };
  }

  /** Department and all-user sends reach an unknown number of people: they take the whole minute's allowance. */
  recipientsOf(appKey: string, count: number | 'unknown'): Reservation {
    return { key: `recipients:${appKey}`, rule: this.recipients, weight: count === 'unknown' ? this.recipients.limit : count };
  }
}
