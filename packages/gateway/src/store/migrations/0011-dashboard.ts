import type { Kysely } from 'kysely';
import { searchTextOf } from '../../domain/search-text.js';

/**
 * What the dashboard's list and charts read (GET /v1/notifications filters, GET /v1/stats):
 * - `target`: the drop-in target a notification came in by; `resend_of`: the notification a resend repeats;
 * - `search_text`: the words `q=` searches (titles and content, lower-cased), so a search never matches JSON keys;
 * - indexes for the owner/status/target filters in id order, per-destination lookups, and the status log by time.
 * Rows from before get their search text here, in batches (a large store takes a while once).
 */
/** The columns the backfill reads and writes. */
interface Rows {
  notifications: { id: string; request: string; search_text: string | null };
}

export async function up(db: Kysely<Rows>): Promise<void> {
  await db.schema.alterTable('notifications').addColumn('target', 'text').execute();
  await db.schema.alterTable('notifications').addColumn('resend_of', 'text').execute();
  await db.schema.alterTable('notifications').addColumn('search_text', 'text').execute();
  await db.schema.createIndex('notifications_owner_id').on('notifications').columns(['api_key', 'id']).execute();
  await db.schema.createIndex('notifications_status_id').on('notifications').columns(['status', 'id']).execute();
  await db.schema.createIndex('notifications_target_id').on('notifications').columns(['target', 'id']).execute();
  await db.schema.createIndex('deliveries_destination').on('deliveries').columns(['destination', 'notification_id']).execute();
  await db.schema.createIndex('deliveries_recipient').on('deliveries').columns(['recipient', 'notification_id']).execute();
  await db.schema.createIndex('delivery_log_at').on('delivery_log').columns(['at']).execute();
  await db.schema.createIndex('attempts_at').on('attempts').columns(['at']).execute();

  let after = '';
  for (;;) {
    const rows = await db.selectFrom('notifications').select(['id', 'request']).where('id', '>', after).orderBy('id').limit(1000).execute();
    if (rows.length === 0) break;
    for (const r of rows) {
      await db
        .updateTable('notifications')
        .set({ search_text: searchTextOf(JSON.parse(r.request)) })
        .where('id', '=', r.id)
        .execute();
    }
    after = rows[rows.length - 1]!.id;
  }
}
