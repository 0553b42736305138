import { CamelCasePlugin, Kysely, Migrator, PostgresDialect, type RawBuilder, type SelectQueryBuilder, sql } from 'kysely';
import type pg from 'pg';
import { KyselyStore } from './kysely-store.js';
import { migrations } from './migrations/index.js';
import type { Database as Schema } from './schema.js';

const INT8 = 20;
/** Deadlock and serialization failures: the transaction changed nothing and is safe to run again. */
const RETRYABLE = new Set(['40P01', '40001']);

const CONNECT_TIMEOUT_MS = 5_000;
const POOL_WAIT_MS = 30_000;
/** Longer than any statement the gateway runs (claims and accepts take milliseconds); shorter than a client's patience. */
const QUERY_TIMEOUT_MS = 10_000;

/**
 * The pool Kysely sees: a query with no answer after QUERY_TIMEOUT_MS fails, and its connection is destroyed rather
 * than returned to the pool (pg's own query_timeout leaves the connection waiting on the lost answer, so every later
 * query on it would hang too). Errors carry a code so /readyz and the 503 body say what happened.
 */
function timedPool(pool: pg.Pool): pg.Pool {
  const watched = new WeakSet<pg.PoolClient>();
  const connect = async () => {
    let client: pg.PoolClient;
    try {
      client = await pool.connect();
    } catch (err) {
      throw Object.assign(err as Error, { code: (err as { code?: string }).code ?? 'connect_timeout' });
    }
    // A checked-out client whose socket drops emits 'error' with no pool listener attached, which would end the
    // process; the query in flight fails anyway and that is where the error is handled.
    if (!watched.has(client)) {
      watched.add(client);
      client.on('error', () => {});
    }
    let broken = false;
    const query = (text: string, values?: unknown[]) =>
      new Promise((resolve, reject) => {
        const timer = setTimeout(() => {
          broken = true;
          // release(err) ends the client: the hung socket is closed and the pool opens a fresh one next time.
          client.release(new Error('query timed out'));
          reject(Object.assign(new Error(`no answer from PostgreSQL within ${QUERY_TIMEOUT_MS} ms`), { code: 'query_timeout' }));
        }, QUERY_TIMEOUT_MS);
        client.query(text, values).then(
          (r) => {
            clearTimeout(timer);
            resolve(r);
          },
          (e: unknown) => {
            clearTimeout(timer);
            reject(e);
          },
        );
      });
    const release = (err?: Error | boolean) => {
      if (!broken) client.release(err);
    };
    return Object.assign(Object.create(client) as pg.PoolClient, { query, release });
  };
  return Object.assign(Object.create(pool) as pg.Pool, { connect, end: () => pool.end() });
}

/** The shared store for several gateway instances: claims skip rows another instance has locked. */
export class PostgresStore extends KyselyStore {
  readonly kind = 'postgres' as const;

  static async open(connectionString: string, opts: { schema?: string } = {}): Promise<PostgresStore> {
    const { default: pgModule } = await import('pg');
    // Establishing a connection times out quickly (an unreachable server is a 503, not a request that hangs); waiting
    // for a free connection of the pool may take longer, as it does in a burst of requests.
    class Client extends pgModule.Client {
      constructor(config?: pg.ClientConfig) {
        super({ ...config, connectionTimeoutMillis: CONNECT_TIMEOUT_MS });
      }
    }
    const newPool = (max: number): pg.Pool => {
      const pool = new pgModule.Pool({
        connectionString,
        max,
        Client,
        connectionTimeoutMillis: POOL_WAIT_MS,
        keepAlive: true,
        keepAliveInitialDelayMillis: 10_000,
        // Timestamps are bigint (ms): read them as numbers.
        types: { getTypeParser: ((oid: number, format?: string) => (oid === INT8 ? Number : pgModule.types.getTypeParser(oid, format as 'text'))) as never },
        ...(opts.schema ? { options: `-c search_path=${opts.schema}` } : {}),
      });
      // A connection the server drops while idle must not crash the process; the pool opens a new one.
      pool.on('error', () => {});
      return pool;
    };
    const pool = newPool(10);
    if (opts.schema) {
      const client = await pool.connect();
      try {
        await client.query(`create schema if not exists "${opts.schema.replace(/"/g, '')}"`);
      } finally {
        client.release();
      }
    }
    const kysely = (p: pg.Pool) => new Kysely<Schema>({ dialect: new PostgresDialect({ pool: timedPool(p) }), plugins: [new CamelCasePlugin()] });
    const db = kysely(pool);
    const { error } = await new Migrator({ db, provider: migrations, allowUnorderedMigrations: true, ...(opts.schema ? { migrationTableSchema: opts.schema } : {}) }).migrateToLatest();
    if (error) {
      await db.destroy();
      throw new Error(`store.postgres: migrating failed: ${(error as Error).message}`);
    }
    return new PostgresStore(db, kysely(newPool(2)));
  }

  protected async inTransaction<T>(fn: (trx: Kysely<Schema>) => Promise<T>): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.db.transaction().execute(fn);
      } catch (err) {
        if (attempt >= 5 || !RETRYABLE.has((err as { code?: string }).code ?? '')) throw err;
        await new Promise((r) => setTimeout(r, 5 * attempt * Math.random()));
      }
    }
  }

  protected claimLockSql(): RawBuilder<unknown> {
    return sql` for update skip locked`;
  }

  protected lockForClaim<O>(qb: SelectQueryBuilder<Schema, 'jobs', O>): SelectQueryBuilder<Schema, 'jobs', O> {
    return qb.forUpdate().skipLocked();
  }

  protected lockForUpdate<T extends keyof Schema, O>(qb: SelectQueryBuilder<Schema, T, O>): SelectQueryBuilder<Schema, T, O> {
    return qb.forUpdate();
  }

  protected leaseClock(): RawBuilder<number> {
    return sql<number>`(extract(epoch from clock_timestamp()) * 1000)::bigint`;
  }

  protected async ensurePacingRows(trx: Kysely<Schema>, keys: string[], now: number): Promise<void> {
    if (keys.length === 0) return;
    await trx
      .insertInto('pacing')
      .values(keys.map((key) => ({ key, state: '{}', updatedAt: now })))
      .onConflict((oc) => oc.column('key').doNothing())
      .execute();
  }
}
