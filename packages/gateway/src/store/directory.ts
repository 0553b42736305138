import type { Kysely, SelectQueryBuilder } from 'kysely';
import type { Database, DirectorySyncsTable, DirectoryUsersTable } from './schema.js';
import type { DirectoryEntry, DirectoryQuery, DirectoryRow, DirectorySyncState } from './types.js';

/** The org directory's queries (see Store): shared by SQLite and PostgreSQL through Kysely. */

/** Rows per insert: 6 parameters each, well inside SQLite's and PostgreSQL's parameter limits. */
const INSERT_CHUNK = 500;
/** Mobiles per lookup query. */
const LOOKUP_CHUNK = 400;

const toRow = (r: DirectoryUsersTable): DirectoryRow => ({
  userid: r.userid,
  name: r.name,
  mobile: r.mobile,
  deptIds: JSON.parse(r.deptIds) as number[],
  syncedAt: Number(r.syncedAt),
});

const toState = (r: DirectorySyncsTable, now: number): DirectorySyncState => ({
  app: r.app,
  startedAt: r.startedAt === null ? null : Number(r.startedAt),
  finishedAt: r.finishedAt === null ? null : Number(r.finishedAt),
  error: r.error,
  users: Number(r.users),
  departments: Number(r.departments),
  running: r.runningUntil !== null && Number(r.runningUntil) > now,
});

/**
 * The app's sync claim: taken when nobody holds it or its holder's claim ran out (that sync died). One UPDATE, so two
 * instances asking at once cannot both get it.
 */
export async function claimSync(db: Kysely<Database>, app: string, owner: string, now: number, until: number): Promise<boolean> {
  await db
    .insertInto('directory_syncs')
    .values({ app, startedAt: null, finishedAt: null, error: null, users: 0, departments: 0, owner: null, runningUntil: null })
    .onConflict((oc) => oc.column('app').doNothing())
    .execute();
  const res = await db
    .updateTable('directory_syncs')
    .set({ owner, runningUntil: until, startedAt: now })
    .where('app', '=', app)
    .where((eb) => eb.or([eb('runningUntil', 'is', null), eb('runningUntil', '<=', now)]))
    .executeTakeFirst();
  return Number(res.numUpdatedRows) === 1;
}

export async function renewSync(db: Kysely<Database>, app: string, owner: string, until: number): Promise<boolean> {
  const res = await db.updateTable('directory_syncs').set({ runningUntil: until }).where('app', '=', app).where('owner', '=', owner).where('runningUntil', 'is not', null).executeTakeFirst();
  return Number(res.numUpdatedRows) === 1;
}

/**
 * Inside one transaction: the app's directory becomes exactly `users` (people gone from the org are gone from it),
 * if `owner` still holds the claim; the state records the sync and the claim is released. False: the claim was lost
 * (it ran out and another sync took it), and nothing was written.
 */
export async function replaceDirectory(
  trx: Kysely<Database>,
  lock: <O>(qb: SelectQueryBuilder<Database, 'directory_syncs', O>) => SelectQueryBuilder<Database, 'directory_syncs', O>,
  app: string,
  owner: string,
  users: DirectoryEntry[],
  departments: number,
  now: number,
): Promise<boolean> {
  const held = await lock(trx.selectFrom('directory_syncs').select('owner').where('app', '=', app)).executeTakeFirst();
  if (held?.owner !== owner) return false;
  await trx.deleteFrom('directory_users').where('app', '=', app).execute();
  for (let i = 0; i < users.length; i += INSERT_CHUNK) {
    await trx
      .insertInto('directory_users')
      .values(users.slice(i, i + INSERT_CHUNK).map((u) => ({ app, userid: u.userid, mobile: u.mobile, name: u.name, deptIds: JSON.stringify(u.deptIds), syncedAt: now })))
      .execute();
  }
  await trx
    .updateTable('directory_syncs')
    .set({ finishedAt: now, error: null, users: users.length, departments, owner: null, runningUntil: null })
    .where('app', '=', app)
    .execute();
  return true;
}

/** A sync that failed: its error recorded, the directory left as the last good sync wrote it, the claim released. */
export async function failSync(db: Kysely<Database>, app: string, owner: string, error: string): Promise<void> {
  await db.updateTable('directory_syncs').set({ error, owner: null, runningUntil: null }).where('app', '=', app).where('owner', '=', owner).execute();
}

export async function syncState(db: Kysely<Database>, app: string, now: number): Promise<DirectorySyncState | undefined> {
  const row = await db.selectFrom('directory_syncs').selectAll().where('app', '=', app).executeTakeFirst();
  return row ? toState(row, now) : undefined;
}

/** Normalised mobile → userid, for the mobiles the directory knows. */
export async function useridsByMobile(db: Kysely<Database>, app: string, mobiles: string[]): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  const unique = [...new Set(mobiles)];
  for (let i = 0; i < unique.length; i += LOOKUP_CHUNK) {
    const rows = await db
      .selectFrom('directory_users')
      .select(['mobile', 'userid'])
      .where('app', '=', app)
      .where('mobile', 'in', unique.slice(i, i + LOOKUP_CHUNK))
      .orderBy('userid')
      .execute();
    // Two people sharing a mobile (DingTalk allows it only across orgs, but a stale row may linger): the first by userid.
    for (const r of rows) if (r.mobile !== null && !out.has(r.mobile)) out.set(r.mobile, r.userid);
  }
  return out;
}

/** A page of the directory, by userid; `cursor` is the last userid of the previous page. */
export async function listDirectory(db: Kysely<Database>, q: DirectoryQuery): Promise<DirectoryRow[]> {
  const rows = await db
    .selectFrom('directory_users')
    .selectAll()
    .where('app', '=', q.app)
    .$if(q.mobile !== undefined, (qb) => qb.where('mobile', '=', q.mobile!))
    .$if(q.userid !== undefined, (qb) => qb.where('userid', '=', q.userid!))
    .$if(q.cursor !== undefined, (qb) => qb.where('userid', '>', q.cursor!))
    .orderBy('userid')
    .limit(q.limit)
    .execute();
  return rows.map(toRow);
}
