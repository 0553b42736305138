import { type Kysely, sql } from 'kysely';

/**
 * Indexes for claims that read bounded ranges (store.claim with lanes), each in claim order (due time, then id): jobs
 * holding a slot, each job kind, and each destination's sends.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  // Partial: the few jobs holding a slot, in due order (an index over every job's slot_at made the planner walk the
  // whole due-time index instead).
  await db.schema.createIndex('jobs_held').on('jobs').columns(['state', 'run_at', 'id']).where(sql.ref('slot_at'), 'is not', null).execute();
  await db.schema.createIndex('jobs_kind_due').on('jobs').columns(['kind', 'state', 'run_at', 'id']).execute();
  await db.schema.createIndex('jobs_lane').on('jobs').columns(['channel', 'destination', 'kind', 'state', 'run_at', 'id']).execute();
}
