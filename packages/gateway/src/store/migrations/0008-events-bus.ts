import type { Kysely } from 'kysely';

/**
 * Status events published to RabbitMQ (events.amqp) from the same outbox rows as callbacks: each event records whether
 * it is waiting for the bus or was confirmed there. Events from before are `none`: they were never meant for a bus.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('events').addColumn('bus_state', 'text', (c) => c.notNull().defaultTo('none')).execute();
}
