import type { Kysely } from 'kysely';

/**
 * The org directory per app (issue 9): everyone a sync listed, with their normalised mobile, so that mobiles resolve
 * from the store instead of one DingTalk lookup each; and each app's sync state, whose row is also the claim that
 * lets one sync of an app run at a time across instances (running_until: a lease the running sync renews).
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  const ms = 'bigint' as const;
  await db.schema
    .createTable('directory_users')
    .addColumn('app', 'text', (c) => c.notNull())
    .addColumn('userid', 'text', (c) => c.notNull())
    .addColumn('mobile', 'text')
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('dept_ids', 'text', (c) => c.notNull())
    .addColumn('synced_at', ms, (c) => c.notNull())
    .addPrimaryKeyConstraint('directory_users_pk', ['app', 'userid'])
    .execute();
  await db.schema.createIndex('directory_users_mobile').on('directory_users').columns(['app', 'mobile']).execute();

  await db.schema
    .createTable('directory_syncs')
    .addColumn('app', 'text', (c) => c.primaryKey())
    .addColumn('started_at', ms)
    .addColumn('finished_at', ms)
    .addColumn('error', 'text')
    .addColumn('users', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('departments', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('owner', 'text')
    .addColumn('running_until', ms)
    .execute();
}
