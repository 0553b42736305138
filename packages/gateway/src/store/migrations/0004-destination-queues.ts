import type { Kysely } from 'kysely';

/**
 * Waiting behind a destination's quota: jobs parked behind the one that holds the destination's next slot are found
 * by destination (not by scanning the queue), and a delivery records the digest it went out in.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema.createIndex('jobs_destination').on('jobs').columns(['channel', 'destination', 'state', 'run_at']).execute();
  await db.schema.alterTable('deliveries').addColumn('digest_id', 'text').execute();
}
