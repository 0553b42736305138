import { CamelCasePlugin, Kysely, PostgresDialect, type SelectQueryBuilder } from 'kysely';
import pg from 'pg';
import { KyselyStore } from './kysely-store.js';
import { type Database as Schema, migrate } from './schema.js';

const INT8 = 20;

/** The shared store for several gateway instances: claims skip rows another instance has locked. */
export class PostgresStore extends KyselyStore {
  readonly kind = 'postgres' as const;

  static async open(connectionString: string, opts: { schema?: string } = {}): Promise<PostgresStore> {
    const pool = new pg.Pool({
      connectionString,
      max: 10,
      // Timestamps are bigint (ms): read them as numbers.
      types: { getTypeParser: ((oid: number, format?: string) => (oid === INT8 ? Number : pg.types.getTypeParser(oid, format as 'text'))) as never },
      ...(opts.schema ? { options: `-c search_path=${opts.schema}` } : {}),
    });
    if (opts.schema) {
      const client = await pool.connect();
      try {
        await client.query(`create schema if not exists "${opts.schema.replace(/"/g, '')}"`);
      } finally {
        client.release();
      }
    }
    const db = new Kysely<Schema>({ dialect: new PostgresDialect({ pool }), plugins: [new CamelCasePlugin()] });
    await migrate(db);
    return new PostgresStore(db);
  }

  protected lockForClaim<O>(qb: SelectQueryBuilder<Schema, 'jobs', O>): SelectQueryBuilder<Schema, 'jobs', O> {
    return qb.forUpdate().skipLocked();
  }
}
