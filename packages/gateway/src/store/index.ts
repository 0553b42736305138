import type { Store } from './types.js';

export * from './types.js';

/** Opens the configured store, loading only its driver (better-sqlite3 or pg). */
export async function openStore(config: { sqlite: string; synchronous?: 'full' | 'normal' } | { postgres: string; schema?: string }): Promise<Store> {
  if ('sqlite' in config) {
    const { SqliteStore } = await import('./sqlite.js');
    return SqliteStore.open(config.sqlite, config.synchronous ? { synchronous: config.synchronous } : {});
  }
  const { PostgresStore } = await import('./postgres.js');
  return PostgresStore.open(config.postgres, config.schema ? { schema: config.schema } : {});
}
