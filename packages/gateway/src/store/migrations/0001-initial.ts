import type { Kysely } from 'kysely';

/**
 * The schema of the first release, as it created it (IF NOT EXISTS), so a database that release wrote is adopted by
 * the migrator as it stands. Never edit a migration that has shipped: add the next one.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  const ms = 'bigint' as const;
  await db.schema
    .createTable('notifications')
    .ifNotExists()
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('api_key', 'text', (c) => c.notNull())
    .addColumn('idempotency_key', 'text')
    .addColumn('request_hash', 'text', (c) => c.notNull())
    .addColumn('app', 'text')
    .addColumn('request', 'text', (c) => c.notNull())
    .addColumn('created_at', ms, (c) => c.notNull())
    .addColumn('send_at', ms, (c) => c.notNull())
    .addColumn('callback_url', 'text')
    .addColumn('callback_state', 'text', (c) => c.notNull())
    .addColumn('recalled_at', ms)
    .execute();
  await db.schema.createIndex('notifications_idempotency').ifNotExists().unique().on('notifications').columns(['api_key', 'idempotency_key']).execute();
  await db.schema.createIndex('notifications_created').ifNotExists().on('notifications').columns(['created_at']).execute();

  await db.schema
    .createTable('deliveries')
    .ifNotExists()
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('notification_id', 'text', (c) => c.notNull())
    .addColumn('channel', 'text', (c) => c.notNull())
    .addColumn('destination', 'text', (c) => c.notNull())
    .addColumn('recipient', 'text', (c) => c.notNull())
    .addColumn('recipient_kind', 'text', (c) => c.notNull())
    .addColumn('userid', 'text')
    .addColumn('status', 'text', (c) => c.notNull())
    .addColumn('reason', 'text')
    .addColumn('attempts', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('task_id', 'text')
    .addColumn('process_query_key', 'text')
    .addColumn('ambiguous', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('job_id', 'text', (c) => c.notNull())
    .addColumn('updated_at', ms, (c) => c.notNull())
    .execute();
  await db.schema.createIndex('deliveries_notification').ifNotExists().on('deliveries').columns(['notification_id']).execute();
  await db.schema.createIndex('deliveries_job').ifNotExists().on('deliveries').columns(['job_id']).execute();

  await db.schema
    .createTable('jobs')
    .ifNotExists()
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('kind', 'text', (c) => c.notNull())
    .addColumn('notification_id', 'text', (c) => c.notNull())
    .addColumn('channel', 'text')
    .addColumn('destination', 'text')
    .addColumn('content_hash', 'text')
    .addColumn('state', 'text', (c) => c.notNull())
    .addColumn('run_at', ms, (c) => c.notNull())
    .addColumn('lease_until', ms)
    .addColumn('lease_owner', 'text')
    .addColumn('attempts', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('created_at', ms, (c) => c.notNull())
    .addColumn('send_started_at', ms)
    .addColumn('payload', 'text', (c) => c.notNull())
    .addColumn('last_error', 'text')
    .execute();
  await db.schema.createIndex('jobs_due').ifNotExists().on('jobs').columns(['state', 'run_at']).execute();
  await db.schema.createIndex('jobs_similar').ifNotExists().on('jobs').columns(['content_hash', 'state']).execute();

  await db.schema
    .createTable('attempts')
    .ifNotExists()
    .addColumn('job_id', 'text', (c) => c.notNull())
    .addColumn('at', ms, (c) => c.notNull())
    .addColumn('outcome', 'text', (c) => c.notNull())
    .addColumn('code', 'text')
    .addColumn('message', 'text')
    .addColumn('duration_ms', 'integer', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('attempts_job').ifNotExists().on('attempts').columns(['job_id']).execute();

  await db.schema
    .createTable('counters')
    .ifNotExists()
    .addColumn('key', 'text', (c) => c.primaryKey())
    .addColumn('value', 'integer', (c) => c.notNull())
    .addColumn('expires_at', ms, (c) => c.notNull())
    .execute();
}
