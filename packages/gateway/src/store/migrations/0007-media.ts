import { type Kysely, sql } from 'kysely';

/**
 * Media senders gave (an upload, a base64 body, a URL the gateway fetched): kept in the store itself, bytes and all,
 * so that every instance on a PostgreSQL store can upload them and a restart loses none (at most 20 MB each, DingTalk's
 * largest file). And the media_id DingTalk gave each app for each content, so the same bytes are uploaded once per app.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  const ms = 'bigint' as const;
  const postgres = db.getExecutor().adapter.constructor.name === 'PostgresAdapter';
  const bytes = sql.raw(postgres ? 'bytea' : 'blob');
  await db.schema
    .createTable('media')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('sha256', 'text', (c) => c.notNull())
    .addColumn('type', 'text', (c) => c.notNull())
    .addColumn('filename', 'text', (c) => c.notNull())
    .addColumn('format', 'text', (c) => c.notNull())
    .addColumn('mime', 'text', (c) => c.notNull())
    .addColumn('size', 'integer', (c) => c.notNull())
    .addColumn('token', 'text', (c) => c.notNull())
    .addColumn('bytes', bytes, (c) => c.notNull())
    .addColumn('created_at', ms, (c) => c.notNull())
    .execute();
  await db.schema
    .createTable('media_uploads')
    .addColumn('app', 'text', (c) => c.notNull())
    .addColumn('sha256', 'text', (c) => c.notNull())
    .addColumn('type', 'text', (c) => c.notNull())
    .addColumn('media_id', 'text', (c) => c.notNull())
    .addColumn('created_at', ms, (c) => c.notNull())
    .addPrimaryKeyConstraint('media_uploads_pk', ['app', 'sha256', 'type'])
    .execute();
}
