import { createHash } from 'node:crypto';
import type { Config } from '../config/schema.js';
import type { PaceRule, Reservation } from './pacer.js';

/**
 * DingTalk's quotas as pacing rules, and the keys they are counted under. Keys name what DingTalk counts (an app by
 * its AppKey, a robot by its webhook), not what this configuration calls them, so two names for one robot share
 * its minute.
 */
export class Quotas {
  /** 20 a minute per robot, counted over 62 s: DingTalk counts arrivals, which trail our reservations. */
  readonly robot: PaceRule;
  /** Calls per second per app and API. */
  readonly appCalls: PaceRule;
  /** Recipients per minute per app (work notifications), in one-second buckets. */
  readonly recipients: PaceRule;

  constructor(delivery: Config['delivery']) {
    this.robot = { limit: delivery.robotPerMinute, windowMs: 62_000 };
    this.appCalls = { limit: Math.floor(delivery.appCallsPerSecond), windowMs: 1_000 };
    this.recipients = { limit: delivery.recipientsPerMinute, windowMs: 60_000, granularityMs: 1_000 };
  }

  robotCall(webhook: string): Reservation {
    return { key: `robot:${createHash('sha256').update(webhook).digest('hex').slice(0, 24)}`, rule: this.robot, weight: 1 };
  }

  appCall(appKey: string, api: string): Reservation {
    return { key: `app:${appKey}:${api}`, rule: this.appCalls, weight: 1 };
  }

  /** Department and all-user sends reach an unknown number of people: they take the whole minute's allowance. */
  recipientsOf(appKey: string, count: number | 'unknown'): Reservation {
    return { key: `recipients:${appKey}`, rule: this.recipients, weight: count === 'unknown' ? this.recipients.limit : count };
  }
}
