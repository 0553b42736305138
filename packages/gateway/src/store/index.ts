import { PostgresStore } from './postgres.js';
import { SqliteStore } from './sqlite.js';
import type { Store } from './types.js';

export * from './types.js';
export { PostgresStore, SqliteStore };

export async function openStore(config: { sqlite: string; synchronous?: 'full' | 'normal' } | { postgres: string; schema?: string }): Promise<Store> {
  if ('sqlite' in config) return SqliteStore.open(config.sqlite, config.synchronous ? { synchronous: config.synchronous } : {});
  return PostgresStore.open(config.postgres, config.schema ? { schema: config.schema } : {});
}
