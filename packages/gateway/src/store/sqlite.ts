import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import { CamelCasePlugin, Kysely, type SelectQueryBuilder, SqliteDialect } from 'kysely';
import { KyselyStore } from './kysely-store.js';
import { type Database as Schema, migrate } from './schema.js';

/** The embedded store: one SQLite file in WAL mode, fsynced on every (group) commit. */
export class SqliteStore extends KyselyStore {
  readonly kind = 'sqlite' as const;

  static async open(path: string): Promise<SqliteStore> {
    if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true });
    const sqlite = new Database(path);
    sqlite.pragma('journal_mode = WAL');
    // FULL: a commit survives power loss, not just a process crash; group commit keeps its cost to one fsync per batch.
    sqlite.pragma('synchronous = FULL');
    sqlite.pragma('busy_timeout = 5000');
    const db = new Kysely<Schema>({ dialect: new SqliteDialect({ database: sqlite }), plugins: [new CamelCasePlugin()] });
    await migrate(db);
    return new SqliteStore(db);
  }

  protected lockForClaim<O>(qb: SelectQueryBuilder<Schema, 'jobs', O>): SelectQueryBuilder<Schema, 'jobs', O> {
    return qb;
  }
}
