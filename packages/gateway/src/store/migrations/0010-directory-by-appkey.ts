import { type Kysely, sql } from 'kysely';

/**
 * Directories are kept under the AppKey of the app that listed them, no longer under its configured name (a name
 * pointed at another org's app kept resolving mobiles to the first org's userids). Rows written under names are
 * dropped: nothing would read them again, and the next sync (scheduled or asked for) lists the org anew.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`delete from directory_users`.execute(db);
  await sql`delete from directory_syncs`.execute(db);
}
