import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import type Database from 'better-sqlite3';
import { CamelCasePlugin, Kysely, type SelectQueryBuilder, SqliteDialect } from 'kysely';
import { KyselyStore, toNotification } from './kysely-store.js';
import { type Database as Schema, migrate, type NotificationsTable } from './schema.js';
import type { AcceptInput, AcceptResult, NotificationRow } from './types.js';

/**
 * The embedded store: one SQLite file in WAL mode. Accepting is the hot path (every POST), so it runs as one
 * synchronous better-sqlite3 transaction over cached prepared statements; everything else goes through Kysely.
 * That is safe because Kysely never holds a transaction open on this connection (its statements auto-commit), so a
 * synchronous transaction here cannot interleave with one of its.
 */
export class SqliteStore extends KyselyStore {
  readonly kind = 'sqlite' as const;
  private readonly acceptTx: (inputs: AcceptInput[]) => AcceptResult[];
  private readonly sqlite: Database.Database;

  private readonly fullSyncAccepts: boolean;

  private constructor(db: Kysely<Schema>, sqlite: Database.Database, fullSyncAccepts: boolean) {
    super(db);
    this.fullSyncAccepts = fullSyncAccepts;
    this.sqlite = sqlite;
    const byKey = sqlite.prepare('SELECT * FROM notifications WHERE api_key = ? AND idempotency_key = ?');
    const insertNotification = sqlite.prepare(
      `INSERT INTO notifications (id, api_key, idempotency_key, request_hash, app, request, created_at, send_at, callback_url, callback_state)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    );
    const insertDelivery = sqlite.prepare(
      `INSERT INTO deliveries (id, notification_id, channel, destination, recipient, recipient_kind, userid, status, attempts, ambiguous, job_id, updated_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, 'queued', 0, 0, ?, ?)`,
    );
    const insertJob = sqlite.prepare(
      `INSERT INTO jobs (id, kind, notification_id, channel, destination, content_hash, state, run_at, attempts, created_at, payload)
       VALUES (?, ?, ?, ?, ?, ?, 'ready', ?, 0, ?, ?)`,
    );
    const fromRow = (r: Record<string, unknown>): NotificationRow =>
      toNotification(Object.fromEntries(Object.entries(r).map(([k, v]) => [k.replace(/_([a-z])/g, (_m, c: string) => c.toUpperCase()), v])) as unknown as NotificationsTable);

    this.acceptTx = sqlite.transaction((inputs: AcceptInput[]) => {
      const now = Date.now();
      const seen = new Map<string, NotificationRow>();
      return inputs.map((input): AcceptResult => {
        const n = input.notification;
        if (n.idempotencyKey !== null) {
          const key = `${n.apiKey}\u0000${n.idempotencyKey}`;
          const prior = seen.get(key) ?? (byKey.get(n.apiKey, n.idempotencyKey) as Record<string, unknown> | undefined);
          if (prior) {
            const row = 'apiKey' in prior ? (prior as unknown as NotificationRow) : fromRow(prior);
            return { created: false, notification: row, conflict: row.requestHash !== n.requestHash };
          }
        }
        const callbackState = n.callbackUrl ? 'pending' : 'none';
        insertNotification.run(n.id, n.apiKey, n.idempotencyKey, n.requestHash, n.app, JSON.stringify(n.request), n.createdAt, n.sendAt, n.callbackUrl, callbackState);
        for (const d of input.deliveries) insertDelivery.run(d.id, d.notificationId, d.channel, d.destination, d.recipient, d.recipientKind, d.userid, d.jobId, now);
        for (const j of input.jobs) insertJob.run(j.id, j.kind, j.notificationId, j.channel, j.destination, j.contentHash, j.runAt, now, JSON.stringify(j.payload));
        const row: NotificationRow = { ...n, callbackState, recalledAt: null };
        if (n.idempotencyKey !== null) seen.set(`${n.apiKey}\u0000${n.idempotencyKey}`, row);
        return { created: true, notification: row };
      });
    });
  }

  /**
   * synchronous 'full' (default): an accept is on disk (fsync) before the sender hears "accepted", surviving power
   * loss. The dispatcher's own bookkeeping runs at NORMAL either way: in WAL mode that survives a process crash, and
   * what a power loss could undo (a lease, a "send started") only leads to a check or a resend that DingTalk's
   * duplicate filter and msgUuid absorb; it spares the send path an fsync per statement (bench/gateway-latency.ts).
   * 'normal': accepts too, for more ingest (bench/gateway-ingest.ts), at the risk of losing the last accepts on
   * power loss.
   */
  static async open(path: string, opts: { synchronous?: 'full' | 'normal' } = {}): Promise<SqliteStore> {
    // An optional dependency, loaded only when a SQLite store is opened: PostgreSQL-only installs skip it.
    const BetterSqlite3 = await import('better-sqlite3').then(
      (m) => m.default,
      (err: NodeJS.ErrnoException) => {
        if (err.code === 'ERR_MODULE_NOT_FOUND' && err.message.includes("'better-sqlite3'"))
          throw new Error('store.sqlite: the better-sqlite3 package is not installed (npm install better-sqlite3), or use store.postgres');
        throw err;
      },
    );
    if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true });
    const sqlite = new BetterSqlite3(path);
    sqlite.pragma('journal_mode = WAL');
    sqlite.pragma('synchronous = NORMAL');
    sqlite.pragma('busy_timeout = 5000');
    const db = new Kysely<Schema>({ dialect: new SqliteDialect({ database: sqlite }), plugins: [new CamelCasePlugin()] });
    await migrate(db);
    return new SqliteStore(db, sqlite, opts.synchronous !== 'normal');
  }

  protected override async acceptBatch(inputs: AcceptInput[]): Promise<AcceptResult[]> {
    if (!this.fullSyncAccepts) return this.acceptTx(inputs);
    // Synchronous, so nothing else runs on this connection in between; group commit makes it one fsync per batch.
    this.sqlite.pragma('synchronous = FULL');
    try {
      return this.acceptTx(inputs);
    } finally {
      this.sqlite.pragma('synchronous = NORMAL');
    }
  }

  protected lockForClaim<O>(qb: SelectQueryBuilder<Schema, 'jobs', O>): SelectQueryBuilder<Schema, 'jobs', O> {
    return qb;
  }
}
