import { accessSync, constants, existsSync, mkdirSync, readFileSync, statSync } from 'node:fs';
import { statfs } from 'node:fs/promises';
import { dirname } from 'node:path';
import type BetterSqlite3 from 'better-sqlite3';
import { CamelCasePlugin, type DialectAdapter, Kysely, Migrator, type RawBuilder, type SelectQueryBuilder, SqliteAdapter, SqliteDialect, sql } from 'kysely';
import type { NotificationRow } from '../domain/records.js';
import { KyselyStore, toNotification } from './kysely-store.js';
import { searchTextOf } from '../domain/search-text.js';
import { destinationsOf, PARKED_REASON, parkedAmong, queuedArrivals } from './park-on-arrival.js';
import { migrations } from './migrations/index.js';
import type { Database as Schema, NotificationsTable } from './schema.js';
import type { AcceptInput, AcceptResult } from './types.js';

/**
 * The embedded store: one SQLite file in WAL mode, one connection. Every use of it, Kysely's and the prepared
 * statements of the accept path alike, holds Kysely's connection mutex, so a transaction is never interleaved with
 * another caller's statements. Write transactions begin IMMEDIATE: a second process on the same file waits for the
 * write lock instead of failing half-way.
 */
export class SqliteStore extends KyselyStore {
  readonly kind = 'sqlite' as const;
  private readonly acceptTx: (inputs: AcceptInput[]) => AcceptResult[];
  private readonly sqlite: BetterSqlite3.Database;
  private readonly fullSyncAccepts: boolean;

  private constructor(
    db: Kysely<Schema>,
    sqlite: BetterSqlite3.Database,
    fullSyncAccepts: boolean,
    private readonly dir: string | null,
  ) {
    super(db);
    this.fullSyncAccepts = fullSyncAccepts;
    this.sqlite = sqlite;
    const byKey = sqlite.prepare('SELECT * FROM notifications WHERE api_key = ? AND idempotency_key = ?');
    const insertNotification = sqlite.prepare(
      `INSERT INTO notifications (id, api_key, idempotency_key, request_hash, app, request, created_at, send_at, callback_url, callback_state, status, target, resend_of, search_text)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 'none', 'queued', ?, ?, ?)`,
    );
    const insertDelivery = sqlite.prepare(
      `INSERT INTO deliveries (id, notification_id, channel, destination, recipient, recipient_kind, userid, status, reason, attempts, ambiguous, job_id, updated_at, part, parts)
       VALUES (?, ?, ?, ?, ?, ?, ?, 'queued', ?, 0, 0, ?, ?, ?, ?)`,
    );
    const insertJob = sqlite.prepare(
      `INSERT INTO jobs (id, kind, notification_id, channel, destination, content_hash, state, run_at, attempts, created_at, payload, follows)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, 0, ?, ?, ?)`,
    );
    // One row per content (its id derives from it): the same bytes again store nothing more.
    const insertMedia = sqlite.prepare(
      `INSERT INTO media (id, sha256, type, filename, format, mime, size, token, bytes, created_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO NOTHING`,
    );
    // The twin of parkedOnArrival's look (kysely-store.ts: a head, or parked jobs waiting for one), prepared for the
    // synchronous accept transaction.
    const headOf = sqlite.prepare(
      `SELECT 1 FROM jobs WHERE channel = ? AND destination = ? AND (state = 'parked' OR (kind = 'send'
         AND (state = 'leased' OR (state = 'ready' AND (run_at <= ? OR slot_at IS NOT NULL))))) LIMIT 1`,
    );
    const fromRow = (r: Record<string, unknown>): NotificationRow =>
      toNotification(Object.fromEntries(Object.entries(r).map(([k, v]) => [k.replace(/_([a-z])/g, (_m, c: string) => c.toUpperCase()), v])) as unknown as NotificationsTable);

    this.acceptTx = sqlite.transaction((inputs: AcceptInput[]) => {
      const now = Date.now();
      const seen = new Map<string, NotificationRow>();
      const arrivals = queuedArrivals(inputs);
      const parked = parkedAmong(
        arrivals,
        new Map(destinationsOf(arrivals).map((d) => [`${d.channel}|${d.destination}`, headOf.get(d.channel, d.destination, d.now) !== undefined])),
      );
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
        insertNotification.run(n.id, n.apiKey, n.idempotencyKey, n.requestHash, n.app, JSON.stringify(n.request), n.createdAt, n.sendAt, n.callbackUrl, n.target ?? null, n.resendOf ?? null, searchTextOf(n.request));
        for (const m of input.media ?? []) insertMedia.run(m.id, m.sha256, m.type, m.filename, m.format, m.mime, m.size, m.token, m.bytes, m.createdAt);
        for (const d of input.deliveries)
          insertDelivery.run(d.id, d.notificationId, d.channel, d.destination, d.recipient, d.recipientKind, d.userid, parked.has(d.jobId) ? PARKED_REASON : null, d.jobId, now, d.part ?? null, d.parts ?? null);
        for (const j of input.jobs)
          insertJob.run(j.id, j.kind, j.notificationId, j.channel, j.destination, j.mergeKey, parked.has(j.id) ? 'parked' : 'ready', j.runAt, now, JSON.stringify(j.payload), j.follows ?? null);
        const row: NotificationRow = { ...n, status: 'queued', recalledAt: null };
        if (n.idempotencyKey !== null) seen.set(`${n.apiKey}\u0000${n.idempotencyKey}`, row);
        return { created: true, notification: row };
      });
    });
  }

  /**
   * synchronous 'full' (default): an accept is on disk (fsync) before the sender hears "accepted", surviving power
   * loss. The dispatcher's own bookkeeping runs at NORMAL either way: in WAL mode that survives a process crash, and
   * what a power loss could undo (a lease, a "send started") only leads to a check or a resend that DingTalk's
   * duplicate filter and msgUuid absorb. 'normal': accepts too, for more ingest, at the risk of losing the last
   * accepts on power loss.
   */
  static async open(path: string, opts: { synchronous?: 'full' | 'normal' } = {}): Promise<SqliteStore> {
    let Database: typeof BetterSqlite3;
    try {
      Database = (await import('better-sqlite3')).default;
    } catch {
      throw new Error('store.sqlite: the better-sqlite3 package is not installed (npm install better-sqlite3), or use store.postgres');
    }
    if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true });
    const sqlite = openFile(Database, path);
    sqlite.pragma('synchronous = NORMAL');
    sqlite.pragma('busy_timeout = 5000');
    const db = new Kysely<Schema>({ dialect: new TransactionalDdlSqliteDialect({ database: withStatementCache(sqlite) }), plugins: [new CamelCasePlugin()] });
    const { error } = await new Migrator({ db, provider: migrations, allowUnorderedMigrations: true }).migrateToLatest();
    if (error) {
      await db.destroy();
      throw new Error(`store.sqlite: migrating ${path} failed: ${(error as Error).message}`);
    }
    return new SqliteStore(db, sqlite, opts.synchronous !== 'normal', path === ':memory:' ? null : dirname(path));
  }

  /**
   * Readiness: the filesystem has room for a batch of accepts, and a small write commits. The write alone is not proof:
   * SQLite reuses the WAL file's space after a checkpoint, so a small probe commits on a full disk while accepts, which
   * need the file to grow, fail.
   */
  override async probe(): Promise<void> {
    if (this.dir !== null) {
      const fs = await statfs(this.dir);
      const free = fs.bavail * fs.bsize;
      if (free < MIN_FREE_BYTES) throw Object.assign(new Error(`${free} bytes free on the store's filesystem`), { code: 'SQLITE_FULL' });
    }
    await super.probe();
  }

  protected override async acceptBatch(inputs: AcceptInput[]): Promise<AcceptResult[]> {
    // Holds the connection, so no transaction of Kysely's is open on it meanwhile; synchronous from here on.
    return this.db.connection().execute(async () => {
      if (!this.fullSyncAccepts) return this.acceptTx(inputs);
      // Group commit makes this one fsync per batch.
      this.sqlite.pragma('synchronous = FULL');
      try {
        return this.acceptTx(inputs);
      } finally {
        this.sqlite.pragma('synchronous = NORMAL');
      }
    });
  }

  protected inTransaction<T>(fn: (trx: Kysely<Schema>) => Promise<T>): Promise<T> {
    return this.db.connection().execute(async (conn) => {
      await sql`begin immediate`.execute(conn);
      try {
        const result = await fn(conn);
        await sql`commit`.execute(conn);
        return result;
      } catch (err) {
        if (this.sqlite.inTransaction) await sql`rollback`.execute(conn);
        throw err;
      }
    });
  }

  protected claimLockSql(): RawBuilder<unknown> {
    return sql``;
  }

  protected lockForClaim<O>(qb: SelectQueryBuilder<Schema, 'jobs', O>): SelectQueryBuilder<Schema, 'jobs', O> {
    return qb;
  }

  protected lockForUpdate<T extends keyof Schema, O>(qb: SelectQueryBuilder<Schema, T, O>): SelectQueryBuilder<Schema, T, O> {
    return qb;
  }

  protected leaseClock(): RawBuilder<number> {
    return sql<number>`${Date.now()}`;
  }

  protected async ensurePacingRows(): Promise<void> {}
}

/**
 * Kysely prepares every statement it runs, and the dispatcher runs the same few (a claim, the next due time) hundreds
 * of times a second while work arrives: preparing them again each time cost about as much as running them. Statements
 * are reused by their SQL text (a bounded number of them); the connection mutex means none is ever run twice at once.
 */
/**
 * SQLite runs schema changes inside transactions, but Kysely's adapter says it cannot, so its migrator ran each
 * migration bare: one stopped half-way (killed during a backfill) left its columns without its record, and every later
 * start failed on them. With this adapter all pending migrations and their records commit together or not at all.
 */
class TransactionalDdlSqliteDialect extends SqliteDialect {
  override createAdapter(): DialectAdapter {
    return new (class extends SqliteAdapter {
      override get supportsTransactionalDdl(): boolean {
        return true;
      }
    })();
  }
}

/** Below this much free space the store is not ready: a group-committed batch of accepts needs about this much. */
const MIN_FREE_BYTES = 1024 * 1024;

function withStatementCache(db: BetterSqlite3.Database): BetterSqlite3.Database {
  const cache = new Map<string, BetterSqlite3.Statement>();
  const prepare = (source: string) => {
    let stmt = cache.get(source);
    if (stmt === undefined) {
      stmt = db.prepare(source);
      if (cache.size >= 500) cache.delete(cache.keys().next().value!);
      cache.set(source, stmt);
    }
    return stmt;
  };
  return new Proxy(db, {
    get(target, prop) {
      if (prop === 'prepare') return prepare;
      const value = Reflect.get(target, prop, target) as unknown;
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
}

/**
 * Opens the file in WAL mode. A database on a read-only file system (or in a directory this user cannot write) opens
 * read-only, so that the gateway starts, answers reads and says it cannot write (/readyz 503, POST 503). SQLite opens
 * it read-only by itself while its -wal and -shm files are there; a database closed cleanly has none, and SQLite
 * cannot open a WAL database whose -shm it cannot create, so it is read from a read-only copy in memory.
 */
function openFile(Database: typeof BetterSqlite3, path: string): BetterSqlite3.Database {
  let sqlite: BetterSqlite3.Database | undefined;
  try {
    sqlite = new Database(path);
    sqlite.pragma('journal_mode = WAL');
    return sqlite;
  } catch (err) {
    sqlite?.close();
    const wal = `${path}-wal`;
    // A -wal with content holds commits the file does not: a copy of the file alone would lose them.
    if (path === ':memory:' || !existsSync(path) || writable(dirname(path)) || (existsSync(wal) && statSync(wal).size > 0)) throw err;
  }
  const image = readFileSync(path);
  // Bytes 18 and 19 say WAL (2) or rollback journal (1); an in-memory database cannot be in WAL mode.
  if (image.length >= 20) image[18] = image[19] = 1;
  return new Database(image, { readonly: true });
}

function writable(dir: string): boolean {
  try {
    accessSync(dir, constants.W_OK);
    return true;
  } catch {
    return false;
  }
}
