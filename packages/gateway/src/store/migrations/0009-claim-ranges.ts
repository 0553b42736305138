import type { Kysely } from 'kysely';

/**
 * Indexes for claims that read bounded ranges (store.claim with lanes): jobs holding a slot, and each job kind by due
 * time. The waiting sends of a destination use jobs_destination (channel, destination, state, run_at).
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema.createIndex('jobs_held').on('jobs').columns(['state', 'slot_at']).execute();
  await db.schema.createIndex('jobs_kind_due').on('jobs').columns(['kind', 'state', 'run_at']).execute();
}
