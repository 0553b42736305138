import type { Kysely } from 'kysely';

/**
 * When a send whose answer was lost started: DingTalk's duplicate filter (143106) proves an earlier arrival only on
 * the same day, so a work notification is sent again only until that day ends.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('deliveries').addColumn('lost_answer_at', 'bigint').execute();
}
