import type { Kysely } from 'kysely';

/**
 * Waiting behind a destination's quota: jobs parked behind the one that holds the destination's next slot are found
 * by destination (not by scanning the queue), a delivery records the digest it went out in, and a job folded into a
 * digest is kept (with its message) until the digest has gone, to be sent alone if DingTalk refuses the digest.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema.createIndex('jobs_destination').on('jobs').columns(['channel', 'destination', 'state', 'run_at']).execute();
  await db.schema.alterTable('deliveries').addColumn('digest_id', 'text').execute();
  await db.schema.alterTable('jobs').addColumn('folded_into', 'text').execute();
  await db.schema.createIndex('jobs_folded_into').on('jobs').columns(['folded_into']).execute();
}
