import { type Kysely, sql } from 'kysely';
import type { AttemptRecord } from '../domain/records.js';
import type { Database } from './schema.js';
import type { ListQuery } from './types.js';

/**
 * The dashboard's read queries (GET /v1/notifications filters, /v1/stats, /v1/destinations, a notification's
 * timeline), shared by SQLite and PostgreSQL through Kysely. Each reads an index range (migration 0011), never the
 * whole of a table that grows with traffic.
 */

type Db = Kysely<Database>;
type Kind = 'sqlite' | 'postgres';

/** `%`, `_` and the escape itself are literal in a search. */
const likeLiteral = (s: string) => s.replace(/[\\%_]/g, (c) => `\\${c}`);

export function listQuery(db: Db, q: ListQuery) {
  let query = db.selectFrom('notifications').selectAll().orderBy('id', 'desc').limit(q.limit);
  if (q.apiKey) query = query.where('apiKey', '=', q.apiKey);
  if (q.since !== undefined) query = query.where('createdAt', '>=', q.since);
  if (q.until !== undefined) query = query.where('createdAt', '<', q.until);
  if (q.cursor) query = query.where('id', '<', q.cursor);
  if (q.status) query = query.where('status', '=', q.status);
  if (q.target) query = query.where('target', '=', q.target);
  if (q.text) query = query.where(sql<boolean>`search_text like ${`%${likeLiteral(q.text.toLowerCase())}%`} escape '\\'`);
  if (q.channel || q.destination || q.recipient) {
    query = query.where(({ exists, selectFrom }) =>
      exists(
        selectFrom('deliveries as d')
          .select(sql`1`.as('one'))
          .whereRef('d.notificationId', '=', 'notifications.id')
          .$if(q.channel !== undefined, (qb) => qb.where('d.channel', '=', q.channel!))
          .$if(q.destination !== undefined, (qb) => qb.where('d.destination', '=', q.destination!))
          .$if(q.recipient !== undefined, (qb) => qb.where((eb) => eb.or([eb('d.recipient', '=', q.recipient!), eb('d.userid', '=', q.recipient!)]))),
      ),
    );
  }
  return query;
}

export interface StatsQuery {
  since: number;
  bucketMs: number;
  apiKey?: string;
}

export interface StatsRows {
  accepted: { bucket: number; n: number }[];
  /** Deliveries that moved to `status` in each bucket. */
  moved: { bucket: number; status: string; n: number }[];
}

/** Accepted notifications and delivery moves per time bucket (notifications_created, delivery_log_at). */
export async function stats(db: Db, kind: Kind, q: StatsQuery): Promise<StatsRows> {
  const bucket = Math.max(1, Math.floor(q.bucketMs));
  const accepted = await db
    .selectFrom('notifications')
    .select([sql<number>`created_at / ${sql.lit(bucket)}`.as('bucket'), sql<number>`count(*)`.as('n')])
    .where('createdAt', '>=', q.since)
    .$if(q.apiKey !== undefined, (qb) => qb.where('apiKey', '=', q.apiKey!))
    .groupBy(sql`created_at / ${sql.lit(bucket)}`)
    .execute();
  // A log line records one move of several deliveries of one notification: their count is its id list's length.
  const count = kind === 'sqlite' ? sql`json_array_length(l.delivery_ids)` : sql`json_array_length(l.delivery_ids::json)`;
  const moved = await db
    .selectFrom('delivery_log as l')
    .select([sql<number>`l.at / ${sql.lit(bucket)}`.as('bucket'), 'l.status', sql<number>`sum(${count})`.as('n')])
    .where('l.at', '>=', q.since)
    .where('l.status', 'in', ['sent', 'read', 'unread', 'throttled', 'failed', 'invalid', 'recalled'])
    .$if(q.apiKey !== undefined, (qb) =>
      qb.where(({ exists, selectFrom }) =>
        exists(selectFrom('notifications as n').select(sql`1`.as('one')).whereRef('n.id', '=', 'l.notificationId').where('n.apiKey', '=', q.apiKey!)),
      ),
    )
    .groupBy([sql`l.at / ${sql.lit(bucket)}`, 'l.status'])
    .execute();
  return {
    accepted: accepted.map((r) => ({ bucket: Number(r.bucket), n: Number(r.n) })),
    moved: moved.map((r) => ({ bucket: Number(r.bucket), status: r.status, n: Number(r.n) })),
  };
}

export interface QueueRow {
  channel: string;
  destination: string;
  depth: number;
  oldestCreatedAt: number | null;
}

/** Send jobs waiting per destination (ready, leased, parked), and when the oldest of them was created. */
export async function queues(db: Db): Promise<QueueRow[]> {
  const rows = await db
    .selectFrom('jobs')
    .select(['channel', 'destination', sql<number>`count(*)`.as('depth'), sql<number>`min(created_at)`.as('oldest')])
    .where('kind', '=', 'send')
    .where('state', 'in', ['ready', 'leased', 'parked'])
    .groupBy(['channel', 'destination'])
    .execute();
  return rows.map((r) => ({
    channel: r.channel ?? '',
    destination: r.destination ?? '',
    depth: Number(r.depth),
    oldestCreatedAt: r.oldest === null ? null : Number(r.oldest),
  }));
}

export interface RecentAttempt extends Omit<AttemptRecord, 'jobId'> {
  channel: string;
  destination: string;
}

/**
 * The latest calls to DingTalk since `since` (at most `limit`), each with the destination of the job it was for (a
 * job's deliveries share it; done jobs are deleted, their deliveries keep the job id).
 */
export async function recentAttempts(db: Db, since: number, limit: number): Promise<RecentAttempt[]> {
  const rows = await db
    .selectFrom('attempts as a')
    .select([
      'a.at',
      'a.outcome',
      'a.code',
      'a.message',
      'a.durationMs',
      (eb) => eb.selectFrom('deliveries as d').select('d.channel').whereRef('d.jobId', '=', 'a.jobId').limit(1).as('channel'),
      (eb) => eb.selectFrom('deliveries as d').select('d.destination').whereRef('d.jobId', '=', 'a.jobId').limit(1).as('destination'),
    ])
    .where('a.at', '>=', since)
    .orderBy('a.at', 'desc')
    .limit(limit)
    .execute();
  return rows
    .filter((r) => r.channel && r.destination)
    .map((r) => ({
      at: Number(r.at),
      outcome: r.outcome as AttemptRecord['outcome'],
      code: r.code,
      message: r.message,
      durationMs: Number(r.durationMs),
      channel: r.channel!,
      destination: r.destination!,
    }));
}

/** Pacing windows by key, and every window whose key starts with one of `prefixes` (read only, nothing locked). */
export async function pacingStates(db: Db, keys: string[], prefixes: string[]): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  if (keys.length) for (const r of await db.selectFrom('pacing').select(['key', 'state']).where('key', 'in', keys).execute()) out.set(r.key, r.state);
  for (const p of prefixes) {
    for (const r of await db.selectFrom('pacing').select(['key', 'state']).where('key', '>=', p).where('key', '<', `${p}\uffff`).execute()) out.set(r.key, r.state);
  }
  return out;
}

/** Counters under `prefix` (a key range of the primary key) holding at least `min`, highest first. */
export async function countersAtLeast(db: Db, prefix: string, min: number, now: number, limit: number): Promise<{ key: string; value: number }[]> {
  const rows = await db
    .selectFrom('counters')
    .select(['key', 'value'])
    .where('key', '>=', prefix)
    .where('key', '<', `${prefix}\uffff`)
    .where('value', '>=', min)
    .where('expiresAt', '>', now)
    .orderBy('value', 'desc')
    .limit(limit)
    .execute();
  return rows.map((r) => ({ key: r.key, value: Number(r.value) }));
}

export interface LogLine {
  at: number;
  status: string;
  reason: string | null;
  deliveryIds: string[];
}

/** A notification's status moves, oldest first (delivery_log_notification). */
export async function logOf(db: Db, notificationId: string): Promise<LogLine[]> {
  const rows = await db.selectFrom('delivery_log').selectAll().where('notificationId', '=', notificationId).orderBy('at').orderBy('id').execute();
  return rows.map((r) => ({ at: Number(r.at), status: r.status, reason: r.reason, deliveryIds: JSON.parse(r.deliveryIds) as string[] }));
}

/** The calls made for these jobs, oldest first (attempts_job). */
export async function attemptsOf(db: Db, jobIds: string[]): Promise<AttemptRecord[]> {
  if (jobIds.length === 0) return [];
  const rows = await db.selectFrom('attempts').selectAll().where('jobId', 'in', jobIds).orderBy('at').execute();
  return rows.map((r) => ({ ...r, at: Number(r.at), durationMs: Number(r.durationMs), outcome: r.outcome as AttemptRecord['outcome'] }));
}
