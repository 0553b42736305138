import type { Kysely } from 'kysely';

/**
 * Long messages split into numbered parts: each delivery records which part it carries (part of parts), and the job of
 * part k+1 follows the job of part k, due only once that one has left the queue (sent, or given up), so the parts
 * arrive in order whatever the retries and however many workers run.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('deliveries').addColumn('part', 'integer').execute();
  await db.schema.alterTable('deliveries').addColumn('parts', 'integer').execute();
  await db.schema.alterTable('jobs').addColumn('follows', 'text').execute();
  await db.schema.createIndex('jobs_follows').on('jobs').columns(['follows']).execute();
}
