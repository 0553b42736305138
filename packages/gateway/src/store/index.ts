import type { PostgresStore } from './postgres.js';
import type { SqliteStore } from './sqlite.js';
import type { Store } from './types.js';

export * from './types.js';
// Types only: each store's module (and its driver) loads when a store of that kind is opened, so a PostgreSQL-only
// install never loads better-sqlite3 and a SQLite gateway never loads pg. The classes themselves: ../server.ts.
export type { PostgresStore, SqliteStore };

export async function openStore(config: { sqlite: string; synchronous?: 'full' | 'normal' } | { postgres: string; schema?: string }): Promise<Store> {
  if ('sqlite' in config) {
    const { SqliteStore } = await import('./sqlite.js');
    return SqliteStore.open(config.sqlite, config.synchronous ? { synchronous: config.synchronous } : {});
  }
  const { PostgresStore } = await import('./postgres.js');
  return PostgresStore.open(config.postgres, config.schema ? { schema: config.schema } : {});
}
