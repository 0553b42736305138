import type { Migration, MigrationProvider } from 'kysely';
import * as m0001 from './0001-initial.js';
import * as m0002 from './0002-core.js';

/** Every migration, in order. The migrator records what ran in `kysely_migration`; add new ones at the end. */
export const migrations: MigrationProvider = {
  async getMigrations(): Promise<Record<string, Migration>> {
    return { '0001-initial': m0001, '0002-core': m0002 };
  },
};
