import { PostgresStore } from './postgres.js';
import { SqliteStore } from './sqlite.js';
import type { Store } from './types.js';

export * from './types.js';
export { PostgresStore, SqliteStore };

export async function openStore(config: { sqlite: string } | { postgres: string; schema?: string }): Promise<Store> {
  return 'sqlite' in config ? SqliteStore.open(config.sqlite) : PostgresStore.open(config.postgres, config.schema ? { schema: config.schema } : {});
}
