import { type Kysely, sql } from 'kysely';

/**
 * The delivery core: fenced leases, send attempts apart from claims, dead letters and held pacing slots on jobs; the
 * notification's status as a column; an outbox of events for callbacks; persisted pacing windows; a transition log.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  const ms = 'bigint' as const;
  await db.schema.alterTable('notifications').addColumn('status', 'text', (c) => c.notNull().defaultTo('queued')).execute();
  await db.schema.createIndex('notifications_status').on('notifications').columns(['status']).execute();
  await db.schema.alterTable('deliveries').addColumn('recall_error', 'text').execute();
  await db.schema.createIndex('deliveries_task').on('deliveries').columns(['destination', 'task_id']).execute();
  await db.schema.alterTable('jobs').addColumn('lease_token', 'integer', (c) => c.notNull().defaultTo(0)).execute();
  await db.schema.alterTable('jobs').addColumn('send_attempts', 'integer', (c) => c.notNull().defaultTo(0)).execute();
  await db.schema.alterTable('jobs').addColumn('failures', 'integer', (c) => c.notNull().defaultTo(0)).execute();
  await db.schema.alterTable('jobs').addColumn('slot_at', ms).execute();
  await db.schema.alterTable('jobs').addColumn('slot_key', 'text').execute();
  await db.schema.alterTable('jobs').addColumn('dead_at', ms).execute();
  await db.schema.createIndex('jobs_notification').on('jobs').columns(['notification_id']).execute();

  await db.schema
    .createTable('events')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('notification_id', 'text', (c) => c.notNull())
    .addColumn('type', 'text', (c) => c.notNull())
    .addColumn('at', ms, (c) => c.notNull())
    .addColumn('body', 'text')
    .addColumn('callback_state', 'text', (c) => c.notNull())
    .addColumn('callback_attempts', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('callback_error', 'text')
    .addColumn('delivered_at', ms)
    .execute();
  await db.schema.createIndex('events_notification').on('events').columns(['notification_id']).execute();

  await db.schema
    .createTable('pacing')
    .addColumn('key', 'text', (c) => c.primaryKey())
    .addColumn('state', 'text', (c) => c.notNull())
    .addColumn('updated_at', ms, (c) => c.notNull())
    .execute();

  await db.schema
    .createTable('delivery_log')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('notification_id', 'text', (c) => c.notNull())
    .addColumn('at', ms, (c) => c.notNull())
    .addColumn('status', 'text', (c) => c.notNull())
    .addColumn('reason', 'text')
    .addColumn('delivery_ids', 'text', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('delivery_log_notification').on('delivery_log').columns(['notification_id']).execute();

  await db.schema
    .createTable('meta')
    .addColumn('key', 'text', (c) => c.primaryKey())
    .addColumn('value', 'text', (c) => c.notNull())
    .execute();

  // Statuses of notifications written by the first release, by the rule of domain/delivery-states.ts.
  await sql`
    update notifications set status = case
      when not exists (select 1 from deliveries d where d.notification_id = notifications.id
          and (d.status in ('queued', 'sending')
            or (d.status = 'sent' and d.channel in ('work_notice', 'robot_oto') and (d.task_id is not null or d.process_query_key is not null))))
        then case when recalled_at is not null and exists (select 1 from deliveries d where d.notification_id = notifications.id and d.status = 'recalled')
          then 'recalled' else 'completed' end
      when not exists (select 1 from deliveries d where d.notification_id = notifications.id and not (d.status = 'queued' and d.attempts = 0))
        then 'queued'
      else 'in_progress' end`.execute(db);

  // Callbacks of the first release: one "completed" callback per notification. Carry their state over as events; a
  // scheduled one keeps its job, which now names the event it delivers (its body is rendered when first sent).
  const old = await sql<{ id: string; callback_state: string; created_at: number | string }>`
    select id, callback_state, created_at from notifications where callback_state in ('scheduled', 'delivered', 'failed')`.execute(db);
  for (const n of old.rows) {
    const eventId = `evt_migrated_${n.id}`;
    const state = n.callback_state === 'scheduled' ? 'pending' : n.callback_state;
    await sql`insert into events (id, notification_id, type, at, body, callback_state, callback_attempts)
      values (${eventId}, ${n.id}, 'notification.completed', ${Number(n.created_at)}, null, ${state}, 0)`.execute(db);
    await sql`update jobs set payload = ${JSON.stringify({ eventId })} where kind = 'callback' and notification_id = ${n.id}`.execute(db);
  }
}
