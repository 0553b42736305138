import type { Migration, MigrationProvider } from 'kysely';
import * as m0001 from './0001-initial.js';
import * as m0002 from './0002-core.js';
import * as m0003 from './0003-lost-answer-at.js';
import * as m0004 from './0004-destination-queues.js';
import * as m0005 from './0005-message-parts.js';
import * as m0006 from './0006-directory.js';
import * as m0007 from './0007-media.js';
import * as m0008 from './0008-events-bus.js';
import * as m0009 from './0009-claim-ranges.js';
import * as m0010 from './0010-directory-by-appkey.js';
import * as m0011 from './0011-dashboard.js';

/**
 * Every migration, by name. The migrator records what ran in `kysely_migration` and runs what has not, in name order;
 * unordered runs are allowed, since branches developed side by side land numbers out of order.
 */
export const migrations: MigrationProvider = {
  async getMigrations(): Promise<Record<string, Migration>> {
    return {
      '0001-initial': m0001,
      '0002-core': m0002,
      '0003-lost-answer-at': m0003,
      '0004-destination-queues': m0004,
      '0005-message-parts': m0005,
      '0006-directory': m0006,
      '0007-media': m0007,
      '0008-events-bus': m0008,
      '0009-claim-ranges': m0009,
      '0010-directory-by-appkey': m0010,
      '0011-dashboard': m0011,
    };
  },
};
