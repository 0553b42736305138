import { CamelCasePlugin, Kysely, Migrator, PostgresDialect, type RawBuilder, type SelectQueryBuilder, sql } from 'kysely';
import type pg from 'pg';
import { KyselyStore } from './kysely-store.js';
import { migrations } from './migrations/index.js';
import type { Database as Schema } from './schema.js';

const INT8 = 20;
/** Deadlock and serialization failures: the transaction changed nothing and is safe to run again. */
const RETRYABLE = new Set(['40P01', '40001']);

/** The shared store for several gateway instances: claims skip rows another instance has locked. */
export class PostgresStore extends KyselyStore {
  readonly kind = 'postgres' as const;

  static async open(connectionString: string, opts: { schema?: string } = {}): Promise<PostgresStore> {
    const { default: pgModule } = await import('pg');
    const pool: pg.Pool = new pgModule.Pool({
      connectionString,
      max: 10,
      // Timestamps are bigint (ms): read them as numbers.
      types: { getTypeParser: ((oid: number, format?: string) => (oid === INT8 ? Number : pgModule.types.getTypeParser(oid, format as 'text'))) as never },
      ...(opts.schema ? { options: `-c search_path=${opts.schema}` } : {}),
    });
    // A connection the server drops while idle must not crash the process; the pool opens a new one.
    pool.on('error', () => {});
    if (opts.schema) {
      const client = await pool.connect();
      try {
        await client.query(`create schema if not exists "${opts.schema.replace(/"/g, '')}"`);
      } finally {
        client.release();
      }
    }
    const db = new Kysely<Schema>({ dialect: new PostgresDialect({ pool }), plugins: [new CamelCasePlugin()] });
    const { error } = await new Migrator({ db, provider: migrations, ...(opts.schema ? { migrationTableSchema: opts.schema } : {}) }).migrateToLatest();
    if (error) {
      await db.destroy();
      throw new Error(`store.postgres: migrating failed: ${(error as Error).message}`);
    }
    return new PostgresStore(db);
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
