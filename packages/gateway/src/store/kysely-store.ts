import { type ExpressionBuilder, type Kysely, type RawBuilder, type SelectQueryBuilder, sql, type Transaction } from 'kysely';
import {
  FINAL_STATUSES,
  MOVES,
  type MoveName,
  type NotificationStatus,
  notificationStatus,
  TRACKED_CHANNELS,
} from '../domain/delivery-states.js';
import { newId } from '../domain/ids.js';
import type { NewMember } from '../domain/members.js';
import { searchTextOf } from '../domain/search-text.js';
import { type Fence, type GatedDestination, JOB_KINDS, type JobRow, type NewJob } from '../domain/jobs.js';
import { notificationView } from '../domain/notification-view.js';
import type { AttemptRecord, DeliveryFields, DeliveryRow, EventRow, NotificationRow } from '../domain/records.js';
import * as dashboard from './dashboard.js';
import * as directory from './directory.js';
import { destinationsOf, PARKED_REASON, parkedAmong, queuedArrivals } from './park-on-arrival.js';
import type { Database, DeliveriesTable, EventsTable, JobsTable, MediaTable, NotificationsTable } from './schema.js';
import {
  type AcceptInput,
  type AcceptResult,
  type ClaimScope,
  type DeliveryQuery,
  type DirectoryEntry,
  type DirectoryQuery,
  type DirectoryRow,
  type DirectorySyncState,
  type JobQuery,
  LeaseLost,
  type ListQuery,
  type MediaInfo,
  type NewMedia,
  type RescheduleOptions,
  type Store,
  type Tx,
} from './types.js';

const CHUNK = 400;
const GROUP_COMMIT_MAX = 500;

const uniqueById = <T extends { id: string }>(items: T[]): T[] => [...new Map(items.map((i) => [i.id, i])).values()];

export function chunks<T>(items: T[], size = CHUNK): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

/** SQL twin of isSettled() (domain/delivery-states.ts). */
export const settledSql = (eb: ExpressionBuilder<Database, 'deliveries'>) =>
  eb.or([
    eb('status', 'in', [...FINAL_STATUSES]),
    eb.and([
      eb('status', '=', 'sent'),
      eb.or([eb('channel', 'not in', [...TRACKED_CHANNELS]), eb.and([eb('taskId', 'is', null), eb('processQueryKey', 'is', null)])]),
    ]),
  ]);

export const toNotification = (r: NotificationsTable): NotificationRow => ({
  id: r.id,
  apiKey: r.apiKey,
  idempotencyKey: r.idempotencyKey,
  requestHash: r.requestHash,
  app: r.app,
  request: JSON.parse(r.request),
  createdAt: Number(r.createdAt),
  sendAt: Number(r.sendAt),
  callbackUrl: r.callbackUrl,
  status: r.status as NotificationStatus,
  recalledAt: r.recalledAt === null ? null : Number(r.recalledAt),
  target: r.target ?? null,
  resendOf: r.resendOf ?? null,
});

const toDelivery = (r: DeliveriesTable): DeliveryRow => ({
  ...r,
  channel: r.channel as DeliveryRow['channel'],
  recipientKind: r.recipientKind as DeliveryRow['recipientKind'],
  status: r.status as DeliveryRow['status'],
  ambiguous: Number(r.ambiguous) === 1,
  lostAnswerAt: r.lostAnswerAt === null || r.lostAnswerAt === undefined ? null : Number(r.lostAnswerAt),
  attempts: Number(r.attempts),
  updatedAt: Number(r.updatedAt),
  recallError: r.recallError ?? null,
  digestId: r.digestId ?? null,
  part: num(r.part ?? null),
  parts: num(r.parts ?? null),
});

/** Send jobs of a gated destination that hold no slot (the ones a claim leaves alone). */
const gatedWaiting = (eb: ExpressionBuilder<Database, 'jobs'>, gated: readonly GatedDestination[]) =>
  eb.and([
    eb('kind', '=', 'send'),
    eb('slotAt', 'is', null),
    eb.or(gated.map((g) => eb.and([eb('channel', '=', g.channel), eb('destination', '=', g.destination)]))),
  ]);

const num = (v: number | null) => (v === null ? null : Number(v));

export const toJob = (r: JobsTable): JobRow =>
  ({
    id: r.id,
    kind: r.kind,
    notificationId: r.notificationId,
    channel: r.channel,
    destination: r.destination,
    mergeKey: r.contentHash,
    runAt: Number(r.runAt),
    payload: JSON.parse(r.payload),
    state: r.state,
    leaseOwner: r.leaseOwner,
    leaseUntil: num(r.leaseUntil),
    leaseToken: Number(r.leaseToken),
    claims: Number(r.attempts),
    sendAttempts: Number(r.sendAttempts),
    failures: Number(r.failures),
    createdAt: Number(r.createdAt),
    sendStartedAt: num(r.sendStartedAt),
    slotAt: num(r.slotAt),
    slotKey: r.slotKey ?? null,
    lastError: r.lastError,
    deadAt: num(r.deadAt),
    follows: r.follows ?? null,
  }) as JobRow;

const toEvent = (r: EventsTable): EventRow => ({
  ...r,
  at: Number(r.at),
  callbackState: r.callbackState as EventRow['callbackState'],
  busState: r.busState as EventRow['busState'],
  callbackAttempts: Number(r.callbackAttempts),
  deliveredAt: num(r.deliveredAt),
});

export const jobRecord = (j: NewJob, now: number): JobsTable => ({
  id: j.id,
  kind: j.kind,
  notificationId: j.notificationId,
  channel: j.channel,
  destination: j.destination,
  contentHash: j.mergeKey,
  state: 'ready',
  runAt: j.runAt,
  leaseUntil: null,
  leaseOwner: null,
  attempts: 0,
  createdAt: now,
  sendStartedAt: null,
  payload: JSON.stringify(j.payload),
  lastError: null,
  leaseToken: 0,
  sendAttempts: 0,
  failures: 0,
  slotAt: j.slotAt ?? null,
  slotKey: null,
  deadAt: null,
  follows: j.follows ?? null,
});

const MEDIA_INFO = ['id', 'sha256', 'type', 'filename', 'format', 'mime', 'size', 'token', 'createdAt'] as const;

const toMediaInfo = (r: Omit<MediaTable, 'bytes'>): MediaInfo => ({
  ...r,
  type: r.type as MediaInfo['type'],
  size: Number(r.size),
  createdAt: Number(r.createdAt),
});

interface Pending {
  input: AcceptInput;
  resolve: (r: AcceptResult) => void;
  reject: (e: unknown) => void;
}

/**
 * The Store over Kysely: one query layer for SQLite and PostgreSQL. Accepts are group-committed: requests that
 * arrive together share one transaction (one fsync), and each caller is answered only after it commits.
 * Every other write goes through transact(): one transaction, fenced by the job leases it names, in which status
 * moves are guarded by the state machine and the notification's status and events follow in the same commit.
 */
export abstract class KyselyStore implements Store {
  abstract readonly kind: 'sqlite' | 'postgres';
  private pending: Pending[] = [];
  private flushScheduled = false;
  private flushing = false;
  private eventBus = false;

  /**
   * `leaseDb` renews leases: PostgreSQL gives it connections of its own, so that renewals never queue behind a burst
   * of API requests for the shared pool (a renewal late by more than the lease lets another worker take the job over).
   */
  protected constructor(
    protected readonly db: Kysely<Database>,
    private readonly leaseDb: Kysely<Database> = db,
  ) {}

  /** Row locking for claims: PostgreSQL skips rows another instance is claiming; SQLite has one writer. */
  protected abstract lockForClaim<O>(qb: SelectQueryBuilder<Database, 'jobs', O>): SelectQueryBuilder<Database, 'jobs', O>;
  /** lockForClaim as SQL text: what follows a claim's SELECT (PostgreSQL: skip rows another instance is claiming). */
  protected abstract claimLockSql(): RawBuilder<unknown>;
  /** Locks selected rows for this transaction (PostgreSQL); SQLite's write transaction already excludes others. */
  protected abstract lockForUpdate<T extends keyof Database, O>(qb: SelectQueryBuilder<Database, T, O>): SelectQueryBuilder<Database, T, O>;
  /** The clock leases are measured on: the database's own on PostgreSQL, so instances' clocks need not agree. */
  protected abstract leaseClock(): RawBuilder<number>;
  /** Runs `fn` in one write transaction. */
  protected abstract inTransaction<T>(fn: (trx: Kysely<Database>) => Promise<T>): Promise<T>;
  /** Inserts pacing rows that do not exist yet, so they can be locked. */
  protected abstract ensurePacingRows(trx: Kysely<Database>, keys: string[], now: number): Promise<void>;

  // ── accepting ─────────────────────────────────────────────────────────

  accept(input: AcceptInput): Promise<AcceptResult> {
    return new Promise((resolve, reject) => {
      this.pending.push({ input, resolve, reject });
      this.scheduleFlush();
    });
  }

  private scheduleFlush(): void {
    if (this.flushScheduled || this.flushing) return;
    this.flushScheduled = true;
    setImmediate(() => void this.flush());
  }

  private async flush(): Promise<void> {
    this.flushScheduled = false;
    this.flushing = true;
    const batch = this.pending.splice(0, GROUP_COMMIT_MAX);
    try {
      const results = await this.acceptBatch(batch.map((p) => p.input));
      batch.forEach((p, i) => {
        p.resolve(results[i]!);
      });
    } catch {
      // One bad item must not fail the others: commit them one by one.
      for (const p of batch) {
        try {
          p.resolve((await this.acceptBatch([p.input]))[0]!);
        } catch (err) {
          p.reject(err);
        }
      }
    } finally {
      this.flushing = false;
      if (this.pending.length > 0) this.scheduleFlush();
    }
  }

  protected async acceptBatch(inputs: AcceptInput[]): Promise<AcceptResult[]> {
    return this.inTransaction(async (trx) => {
      const keys = [...new Set(inputs.map((i) => i.notification.idempotencyKey).filter((k): k is string => k !== null))];
      const existing = new Map<string, NotificationRow>();
      for (const part of chunks(keys)) {
        const rows = await trx.selectFrom('notifications').selectAll().where('idempotencyKey', 'in', part).execute();
        for (const r of rows) existing.set(`${r.apiKey}\u0000${r.idempotencyKey}`, toNotification(r));
      }
      const results: AcceptResult[] = [];
      const fresh: AcceptInput[] = [];
      for (const input of inputs) {
        const n = input.notification;
        const key = n.idempotencyKey === null ? null : `${n.apiKey}\u0000${n.idempotencyKey}`;
        const prior = key ? existing.get(key) : undefined;
        if (prior) {
          results.push({ created: false, notification: prior, conflict: prior.requestHash !== n.requestHash });
          continue;
        }
        const row: NotificationRow = { ...n, status: 'queued', recalledAt: null };
        if (key) existing.set(key, row);
        fresh.push(input);
        results.push({ created: true, notification: row });
      }
      const now = Date.now();
      for (const part of chunks(fresh.map((f) => f.notification))) {
        await trx
          .insertInto('notifications')
          .values(part.map((n) => ({ ...n, request: JSON.stringify(n.request), callbackState: 'none', recalledAt: null, status: 'queued', searchText: searchTextOf(n.request) })))
          .execute();
      }
      const parked = await parkedOnArrival(this.kind, trx, fresh);
      for (const part of chunks(fresh.flatMap((f) => f.deliveries))) {
        await trx
          .insertInto('deliveries')
          .values(part.map((d) => ({ ...d, status: 'queued', reason: parked.has(d.jobId) ? PARKED_REASON : null, attempts: 0, taskId: null, processQueryKey: null, ambiguous: 0, lostAnswerAt: null, updatedAt: now, recallError: null, digestId: null, part: d.part ?? null, parts: d.parts ?? null })))
          .execute();
      }
      // One row per content (ids derive from it): a second notification with the same bytes stores nothing more.
      for (const m of uniqueById(fresh.flatMap((f) => f.media ?? []))) await trx.insertInto('media').values(m).onConflict((oc) => oc.column('id').doNothing()).execute();
      for (const part of chunks(fresh.flatMap((f) => f.jobs))) {
        await trx
          .insertInto('jobs')
          .values(part.map((j) => ({ ...jobRecord(j, now), ...(parked.has(j.id) ? { state: 'parked' } : {}) })))
          .execute();
      }
      return results;
    });
  }

  // ── media ─────────────────────────────────────────────────────────────

  async putMedia(media: NewMedia): Promise<MediaInfo> {
    await this.db.insertInto('media').values(media).onConflict((oc) => oc.column('id').doNothing()).execute();
    return (await this.mediaInfo([media.id]))[0]!;
  }

  async mediaInfo(ids: string[]): Promise<MediaInfo[]> {
    if (ids.length === 0) return [];
    const rows = await this.db.selectFrom('media').select(MEDIA_INFO).where('id', 'in', ids).execute();
    return rows.map(toMediaInfo);
  }

  async mediaBytes(id: string): Promise<{ info: MediaInfo; bytes: Buffer } | undefined> {
    const row = await this.db.selectFrom('media').selectAll().where('id', '=', id).executeTakeFirst();
    if (!row) return undefined;
    const { bytes, ...info } = row;
    return { info: toMediaInfo(info), bytes: Buffer.from(bytes) };
  }

  async uploadedMedia(appKey: string, sha256: string, type: string): Promise<string | undefined> {
    const row = await this.db
      .selectFrom('media_uploads')
      .select('mediaId')
      .where('app', '=', appKey)
      .where('sha256', '=', sha256)
      .where('type', '=', type)
      .executeTakeFirst();
    return row?.mediaId;
  }

  async saveUploadedMedia(appKey: string, sha256: string, type: string, mediaId: string, now: number): Promise<void> {
    await this.db
      .insertInto('media_uploads')
      .values({ app: appKey, sha256, type, mediaId, createdAt: now })
      .onConflict((oc) => oc.columns(['app', 'sha256', 'type']).doNothing())
      .execute();
  }

  async forgetUploadedMedia(appKey: string, sha256: string, type: string, mediaId: string): Promise<void> {
    await this.db
      .deleteFrom('media_uploads')
      .where('app', '=', appKey)
      .where('sha256', '=', sha256)
      .where('type', '=', type)
      .where('mediaId', '=', mediaId)
      .execute();
  }

  // ── reading ───────────────────────────────────────────────────────────

  async getNotification(id: string): Promise<NotificationRow | undefined> {
    const row = await this.db.selectFrom('notifications').selectAll().where('id', '=', id).executeTakeFirst();
    return row ? toNotification(row) : undefined;
  }

  async notificationByKey(apiKey: string, idempotencyKey: string): Promise<NotificationRow | undefined> {
    const row = await this.db.selectFrom('notifications').selectAll().where('apiKey', '=', apiKey).where('idempotencyKey', '=', idempotencyKey).executeTakeFirst();
    return row ? toNotification(row) : undefined;
  }

  async listNotifications(q: ListQuery): Promise<NotificationRow[]> {
    return (await dashboard.listQuery(this.db, q).execute()).map(toNotification);
  }

  stats(q: dashboard.StatsQuery): Promise<dashboard.StatsRows> {
    return dashboard.stats(this.db, this.kind, q);
  }

  destinationQueues(): Promise<dashboard.QueueRow[]> {
    return dashboard.queues(this.db);
  }

  recentAttempts(since: number, limit: number): Promise<dashboard.RecentAttempt[]> {
    return dashboard.recentAttempts(this.db, since, limit);
  }

  pacingStates(keys: string[], prefixes: string[]): Promise<Map<string, string>> {
    return dashboard.pacingStates(this.db, keys, prefixes);
  }

  countersAtLeast(prefix: string, min: number, now: number, limit: number): Promise<{ key: string; value: number }[]> {
    return dashboard.countersAtLeast(this.db, prefix, min, now, limit);
  }

  deliveryLog(notificationId: string): Promise<dashboard.LogLine[]> {
    return dashboard.logOf(this.db, notificationId);
  }

  attemptsOf(jobIds: string[]): Promise<AttemptRecord[]> {
    return dashboard.attemptsOf(this.db, jobIds);
  }

  deliveries(q: DeliveryQuery): Promise<DeliveryRow[]> {
    return readDeliveries(this.db, q);
  }

  async deliveriesOfNotifications(notificationIds: string[]): Promise<DeliveryRow[]> {
    const out: DeliveryRow[] = [];
    for (const part of chunks(notificationIds)) {
      out.push(...(await this.db.selectFrom('deliveries').selectAll().where('notificationId', 'in', part).orderBy('id').execute()).map(toDelivery));
    }
    return out;
  }

  jobs(q: JobQuery): Promise<JobRow[]> {
    return readJobs(this.db, q);
  }

  async events(notificationId: string): Promise<EventRow[]> {
    return (await this.db.selectFrom('events').selectAll().where('notificationId', '=', notificationId).orderBy('at').orderBy('id').execute()).map(toEvent);
  }

  // ── leases ────────────────────────────────────────────────────────────

  async claim(owner: string, now: number, limit: number, leaseMs: number, exclude: string[], scope: ClaimScope = {}): Promise<JobRow[]> {
    if (limit <= 0) return [];
    const clock = this.leaseClock();
    const due = scope.lanes ? this.dueInLanes(now, limit, exclude, scope.lanes) : this.dueAnywhere(now, limit, exclude, scope.gated ?? []);
    // One statement: atomic on both stores (PostgreSQL skips rows another instance is claiming).
    const rows = await this.db
      .updateTable('jobs')
      .set({ state: 'leased', leaseOwner: owner, leaseUntil: sql`${clock} + ${leaseMs}`, leaseToken: sql`lease_token + 1`, attempts: sql`attempts + 1` })
      .where((eb) => ('isSelectQueryBuilder' in due ? eb('id', 'in', due) : sql<boolean>`id in (${due})`))
      .returningAll()
      .execute();
    return rows.map(toJob).sort((a, b) => a.runAt - b.runAt || (a.id < b.id ? -1 : 1));
  }

  /** Every due job, leaving out the waiting sends of `gated` destinations (reads every due row: for a sweep now and then). */
  private dueAnywhere(now: number, limit: number, exclude: string[], gated: readonly GatedDestination[]) {
    const clock = this.leaseClock();
    return this.lockForClaim(
      this.db
        .selectFrom('jobs')
        .select('id')
        .where((eb) => eb.or([eb.and([eb('state', '=', 'ready'), eb('runAt', '<=', now)]), eb.and([eb('state', '=', 'leased'), eb('leaseUntil', '<', clock)])]))
        .$if(exclude.length > 0, (qb) => qb.where('id', 'not in', exclude))
        .$if(gated.length > 0, (qb) => qb.where((eb) => eb.not(gatedWaiting(eb, gated))))
        .orderBy('runAt')
        .orderBy('id')
        .limit(limit),
    );
  }

  /**
   * The first `limit` due jobs among: jobs holding a slot, jobs of every other kind than send, the waiting sends of
   * each lane, and jobs whose lease ran out. Each is a bounded index range of at most `limit` rows (indexes jobs_held,
   * jobs_kind_due, jobs_lane carry id, so each range is read in claim order and stops at `limit`), so a claim costs the
   * same behind a backlog of a million waiting sends as behind none: one due-time index over all jobs made every claim
   * read and sort the whole backlog. Written as SQL text: it runs on every claim, and building it as a query tree cost
   * more than running it.
   */
  private dueInLanes(now: number, limit: number, exclude: string[], lanes: readonly GatedDestination[]): RawBuilder<unknown> {
    const notMine = exclude.length > 0 ? sql` and id not in (${sql.join(exclude)})` : sql``;
    const lock = this.claimLockSql();
    const range = (where: RawBuilder<unknown>) => sql`select id, run_at from jobs where ${where}${notMine} order by run_at, id limit ${limit}${lock}`;
    const ready = sql`state = 'ready' and run_at <= ${now}`;
    const ranges = [
      range(sql`${ready} and slot_at is not null`),
      ...JOB_KINDS.filter((k) => k !== 'send').map((k) => range(sql`kind = ${k} and ${ready}`)),
      ...lanes.map((l) => range(sql`channel = ${l.channel} and destination = ${l.destination} and kind = 'send' and ${ready} and slot_at is null`)),
      range(sql`state = 'leased' and lease_until < ${this.leaseClock()}`),
    ];
    // Each range a derived table (PostgreSQL locks rows only in a plain SELECT, not in an arm of a UNION).
    const arms = ranges.map((r, i) => sql`select id, run_at from (${r}) as ${sql.raw(`r${i}`)}`);
    return sql`select id from (${sql.join(arms, sql` union all `)}) as due order by run_at, id limit ${limit}`;
  }

  async claimMergeable(like: JobRow, owner: string, now: number, limit: number, leaseMs: number): Promise<JobRow[]> {
    if (!like.mergeKey || limit <= 0) return [];
    const clock = this.leaseClock();
    const similar = this.lockForClaim(
      this.db
        .selectFrom('jobs')
        .select('id')
        .where('contentHash', '=', like.mergeKey)
        .where('kind', '=', 'send')
        .where('state', '=', 'ready')
        .where('channel', '=', like.channel)
        .where('destination', '=', like.destination)
        .where('runAt', '<=', now)
        .where('sendStartedAt', 'is', null)
        .where('id', '!=', like.id)
        .orderBy('runAt')
        .limit(limit),
    );
    const rows = await this.db
      .updateTable('jobs')
      .set({ state: 'leased', leaseOwner: owner, leaseUntil: sql`${clock} + ${leaseMs}`, leaseToken: sql`lease_token + 1`, attempts: sql`attempts + 1` })
      .where('id', 'in', similar)
      .returningAll()
      .execute();
    return rows.map(toJob);
  }

  async renew(owner: string, fences: Fence[], leaseMs: number): Promise<Set<string>> {
    const held = new Set<string>();
    if (fences.length === 0) return held;
    const clock = this.leaseClock();
    for (const part of chunks([...fences].sort((a, b) => (a.id < b.id ? -1 : 1)))) {
      const mine = (db: Kysely<Database>) =>
        db
          .selectFrom('jobs')
          .select('id')
          .where('state', '=', 'leased')
          .where('leaseOwner', '=', owner)
          .where((eb) => eb.or(part.map((f) => eb.and([eb('id', '=', f.id), eb('leaseToken', '=', f.token)]))));
      const update = (db: Kysely<Database>, ids: string[]) =>
        db.updateTable('jobs').set({ leaseUntil: sql`${clock} + ${leaseMs}` }).where('id', 'in', ids).where('state', '=', 'leased').where('leaseOwner', '=', owner).returning('id').execute();
      // PostgreSQL: rows locked in id order first, as every unit of work locks its jobs, so that a renewal and a
      // handler never wait on each other in a cycle; then updated (a plain UPDATE re-checks its conditions on rows
      // changed meanwhile). SQLite has one writer at a time: one statement.
      const rows =
        this.kind === 'postgres'
          ? await this.leaseDb.transaction().execute(async (trx) => {
              const locked = await this.lockForUpdate(mine(trx).orderBy('id')).execute();
              return locked.length ? update(trx, locked.map((r) => r.id)) : [];
            })
          : await update(this.leaseDb, (await mine(this.leaseDb).execute()).map((r) => r.id));
      for (const r of rows) held.add(r.id);
    }
    return held;
  }

  // ── units of work ─────────────────────────────────────────────────────

  transact<T>(fences: Fence[] | null, now: number, work: (tx: Tx) => Promise<T>): Promise<T> {
    return this.inTransaction(async (trx) => {
      if (fences && fences.length > 0) {
        const ids = [...new Set(fences.map((f) => f.id))].sort();
        const rows = await this.lockForUpdate(trx.selectFrom('jobs').select(['id', 'leaseToken', 'state']).where('id', 'in', ids)).execute();
        const held = new Map(rows.map((r) => [r.id, r]));
        const lost = fences.filter((f) => {
          const r = held.get(f.id);
          return r?.state !== 'leased' || Number(r.leaseToken) !== f.token;
        });
        if (lost.length) throw new LeaseLost(lost.map((f) => f.id));
      }
      const tx = new KyselyTx(this.kind, trx as Transaction<Database>, now, (qb) => this.lockForUpdate(qb), (keys) => this.ensurePacingRows(trx, keys, now), this.eventBus);
      const result = await work(tx);
      await tx.settleTouched();
      return result;
    });
  }

  publishEvents(): void {
    this.eventBus = true;
  }

  async probe(): Promise<void> {
    const value = String(Date.now());
    await this.db
      .insertInto('meta')
      .values({ key: 'probe', value })
      .onConflict((oc) => oc.column('key').doUpdateSet({ value }))
      .execute();
  }

  lockedMeta(key: string, decide: (value: string | null) => Promise<string>): Promise<string> {
    return this.inTransaction(async (trx) => {
      // Created empty first, so that there is a row to lock even the first time.
      await trx.insertInto('meta').values({ key, value: '' }).onConflict((oc) => oc.column('key').doNothing()).execute();
      const row = await this.lockForUpdate(trx.selectFrom('meta').select('value').where('key', '=', key)).executeTakeFirstOrThrow();
      const value = await decide(row.value === '' ? null : row.value);
      if (value !== row.value) await trx.updateTable('meta').set({ value }).where('key', '=', key).execute();
      return value;
    });
  }

  async nextDue(scope: ClaimScope = {}): Promise<number | null> {
    const ready = () => this.db.selectFrom('jobs').select('runAt').where('state', '=', 'ready');
    const earliest = async (qb: ReturnType<typeof ready>) => {
      const row = await qb.orderBy('runAt').limit(1).executeTakeFirst();
      return row ? Number(row.runAt) : null;
    };
    if (!scope.lanes) {
      const gated = scope.gated ?? [];
      return earliest(ready().$if(gated.length > 0, (qb) => qb.where((eb) => eb.not(gatedWaiting(eb, gated)))));
    }
    // The ranges a claim in these lanes reads (see dueInLanes), each's first row, in one statement: the dispatcher asks
    // after every claim that found nothing, and a round trip per range (a dozen with the configured destinations) was
    // most of a busy cluster's queries.
    const first = (where: RawBuilder<unknown>) => sql`select run_at from jobs where state = 'ready' and ${where} order by run_at limit 1`;
    const ranges = [
      first(sql`slot_at is not null`),
      ...JOB_KINDS.filter((k) => k !== 'send').map((k) => first(sql`kind = ${k}`)),
      ...scope.lanes.map((l) => first(sql`channel = ${l.channel} and destination = ${l.destination} and kind = 'send' and slot_at is null`)),
    ];
    const arms = ranges.map((r, i) => sql`select run_at from (${r}) as ${sql.raw(`r${i}`)}`);
    const { rows } = await sql<{ next: number | string | null }>`select min(run_at) as next from (${sql.join(arms, sql` union all `)}) as due`.execute(this.db);
    const next = rows[0]?.next;
    return next === null || next === undefined ? null : Number(next);
  }

  async collectFolded(): Promise<number> {
    const res = await this.db
      .deleteFrom('jobs')
      .where('state', '=', 'folded')
      .where(({ not, exists, selectFrom }) => not(exists(selectFrom('jobs as digest').select('digest.id').whereRef('digest.id', '=', 'jobs.foldedInto'))))
      .executeTakeFirst();
    return Number(res.numDeletedRows);
  }

  async parkedDestinations(): Promise<{ channel: string; destination: string }[]> {
    const rows = await this.db.selectFrom('jobs').select(['channel', 'destination']).distinct().where('state', '=', 'parked').execute();
    return rows.filter((r) => r.channel !== null && r.destination !== null) as { channel: string; destination: string }[];
  }

  async queueStats(now: number): Promise<{ depth: number; oldestAgeMs: number; dead: number }> {
    const row = await this.db
      .selectFrom('jobs')
      .select((eb) => [eb.fn.countAll<number>().as('depth'), eb.fn.min<number>('createdAt').as('oldest')])
      .where('kind', 'in', ['send', 'resolve'])
      .where('state', 'not in', ['dead', 'folded'])
      .executeTakeFirst();
    const dead = await this.db
      .selectFrom('jobs')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .where('state', '=', 'dead')
      .executeTakeFirst();
    const depth = Number(row?.depth ?? 0);
    return {
      depth,
      oldestAgeMs: depth > 0 && row?.oldest !== null && row?.oldest !== undefined ? Math.max(0, now - Number(row.oldest)) : 0,
      dead: Number(dead?.n ?? 0),
    };
  }

  // ── the org directory (store/directory.ts) ────────────────────────────

  claimDirectorySync(app: string, owner: string, now: number, until: number): Promise<boolean> {
    return this.inTransaction((trx) => directory.claimSync(trx, app, owner, now, until));
  }

  renewDirectorySync(app: string, owner: string, until: number): Promise<boolean> {
    return directory.renewSync(this.db, app, owner, until);
  }

  replaceDirectory(app: string, owner: string, users: DirectoryEntry[], departments: number, now: number): Promise<boolean> {
    return this.inTransaction((trx) => directory.replaceDirectory(trx, (qb) => this.lockForUpdate(qb), app, owner, users, departments, now));
  }

  failDirectorySync(app: string, owner: string, error: string): Promise<void> {
    return directory.failSync(this.db, app, owner, error);
  }

  directorySync(app: string, now: number): Promise<DirectorySyncState | undefined> {
    return directory.syncState(this.db, app, now);
  }

  directoryUserids(app: string, mobiles: string[]): Promise<Map<string, string>> {
    return directory.useridsByMobile(this.db, app, mobiles);
  }

  directoryUsers(q: DirectoryQuery): Promise<DirectoryRow[]> {
    return directory.listDirectory(this.db, q);
  }

  async close(): Promise<void> {
    if (this.leaseDb !== this.db) await this.leaseDb.destroy();
    await this.db.destroy();
  }
}

async function readDeliveries(db: Kysely<Database>, q: DeliveryQuery): Promise<DeliveryRow[]> {
  const base = db
    .selectFrom('deliveries')
    .selectAll()
    .$if(q.notificationId !== undefined, (qb) => qb.where('notificationId', '=', q.notificationId!))
    .$if(q.statuses !== undefined, (qb) => qb.where('status', 'in', [...q.statuses!]))
    .$if(q.task !== undefined, (qb) => qb.where('destination', '=', q.task!.destination))
    .$if(q.task?.taskId !== undefined, (qb) => qb.where('taskId', '=', q.task!.taskId!))
    .$if(q.task?.processQueryKey !== undefined, (qb) => qb.where('processQueryKey', '=', q.task!.processQueryKey!))
    .$if(q.unresolved === true, (qb) => qb.where('recipientKind', '=', 'mobile').where('userid', 'is', null))
    .orderBy('id');
  const lists: [('id' | 'jobId'), string[] | undefined][] = [
    ['id', q.ids],
    ['jobId', q.jobIds],
  ];
  for (const [column, values] of lists) {
    if (values === undefined) continue;
    const out: DeliveryRow[] = [];
    for (const part of chunks(values)) out.push(...(await base.where(column, 'in', part).execute()).map(toDelivery));
    return out.sort((a, b) => (a.id < b.id ? -1 : 1));
  }
  return (await base.execute()).map(toDelivery);
}

async function readJobs(db: Kysely<Database>, q: JobQuery): Promise<JobRow[]> {
  let query = db.selectFrom('jobs').selectAll('jobs').orderBy('jobs.createdAt').orderBy('jobs.id');
  // A notification's jobs, and the jobs that carry its deliveries (a digest, a call shared with other notifications).
  if (q.notificationId) {
    const id = q.notificationId;
    query = query.where((eb) => eb.or([eb('jobs.notificationId', '=', id), eb('jobs.id', 'in', eb.selectFrom('deliveries').select('deliveries.jobId').where('deliveries.notificationId', '=', id))]));
  }
  if (q.kinds) query = query.where('jobs.kind', 'in', q.kinds);
  if (q.states) query = query.where('jobs.state', 'in', q.states);
  if (q.ids) query = query.where('jobs.id', 'in', q.ids.length ? q.ids : ['']);
  if (q.apiKey) query = query.innerJoin('notifications', 'notifications.id', 'jobs.notificationId').where('notifications.apiKey', '=', q.apiKey);
  if (q.limit) query = query.limit(q.limit);
  return (await query.execute()).map(toJob);
}

/** See Tx.lockDestination. SQLite has one writer at a time already. */
async function lockDestination(dialect: 'sqlite' | 'postgres', trx: Kysely<Database>, channel: string, destination: string): Promise<void> {
  if (dialect === 'postgres') await sql`select pg_advisory_xact_lock(hashtext(${`${channel}|${destination}`}))`.execute(trx);
}

/** A destination's head (see Tx.hasHead): a send job that is running, due, or holding a slot. */
const isHead = (eb: ExpressionBuilder<Database, 'jobs'>, now: number) =>
  eb.and([eb('kind', '=', 'send'), eb.or([eb('state', '=', 'leased'), eb.and([eb('state', '=', 'ready'), eb.or([eb('runAt', '<=', now), eb('slotAt', 'is not', null)])])])]);

/** See Tx.hasHead: a send job of the destination that is running, due, or holding a slot. */
async function headExists(db: Kysely<Database>, channel: string, destination: string, now: number, except: string[]): Promise<boolean> {
  const row = await db
    .selectFrom('jobs')
    .select('id')
    .where('channel', '=', channel)
    .where('destination', '=', destination)
    .where((eb) => isHead(eb, now))
    .$if(except.length > 0, (qb) => qb.where('id', 'not in', except))
    .limit(1)
    .executeTakeFirst();
  return row !== undefined;
}

/** A head (see headExists), or a parked job waiting behind one or for a head's promotion. One statement: its twin in sqlite.ts is prepared. */
async function queueOccupied(db: Kysely<Database>, channel: string, destination: string, now: number): Promise<boolean> {
  const row = await db
    .selectFrom('jobs')
    .select('id')
    .where('channel', '=', channel)
    .where('destination', '=', destination)
    .where((eb) =>
      eb.or([eb('state', '=', 'parked'), isHead(eb, now)]),
    )
    .limit(1)
    .executeTakeFirst();
  return row !== undefined;
}

/**
 * See park-on-arrival.ts: the destinations' queues looked at under their locks, in one order. A queue is occupied by
 * its head, or by parked jobs alone: between a head finishing and the next one being unparked (promoteParked, its own
 * transaction), an arrival that looked only for a head became one and went before the older parked jobs.
 */
async function parkedOnArrival(dialect: 'sqlite' | 'postgres', trx: Kysely<Database>, inputs: AcceptInput[]): Promise<Set<string>> {
  const arrivals = queuedArrivals(inputs);
  const occupied = new Map<string, boolean>();
  for (const d of destinationsOf(arrivals)) {
    await lockDestination(dialect, trx, d.channel, d.destination);
    occupied.set(`${d.channel}|${d.destination}`, await queueOccupied(trx, d.channel, d.destination, d.now));
  }
  return parkedAmong(arrivals, occupied);
}

const COUNTERS_EXPIRED = (now: number) => sql<number>`case when counters.expires_at > ${now} then counters.value else 0 end`;

/** A unit of work over one transaction (see Tx). */
class KyselyTx implements Tx {
  /** Notifications whose deliveries moved: their status (and events) are brought up to date before commit. */
  private readonly touched = new Set<string>();

  constructor(
    private readonly dialect: 'sqlite' | 'postgres',
    private readonly trx: Transaction<Database>,
    readonly now: number,
    private readonly lock: <T extends keyof Database, O>(qb: SelectQueryBuilder<Database, T, O>) => SelectQueryBuilder<Database, T, O>,
    private readonly ensurePacingRows: (keys: string[]) => Promise<void>,
    /** Events go to the bus too (events.amqp): each one pending, with a publish job. */
    private readonly eventBus: boolean,
  ) {}

  /**
   * Locked for the rest of the unit of work (PostgreSQL): a send that reads whether a recall was asked for, and the
   * recall that asks, then happen one after the other, so a recall can never fall between them.
   */
  async notification(id: string): Promise<NotificationRow | undefined> {
    const row = await this.lock(this.trx.selectFrom('notifications').selectAll().where('id', '=', id)).executeTakeFirst();
    return row ? toNotification(row) : undefined;
  }

  deliveries(q: DeliveryQuery): Promise<DeliveryRow[]> {
    return readDeliveries(this.trx, q);
  }

  async move(ids: string[], name: MoveName, fields: DeliveryFields = {}): Promise<DeliveryRow[]> {
    const m = MOVES[name];
    // A recalled notification sends nothing more: what would start now, or go back to waiting, is cancelled instead.
    if (name === 'startSend') await this.cancelRecalled(ids);
    let changed = await this.update(ids, { ...fields, status: m.to }, m.from);
    if (m.to === 'queued') {
      const cancelled = new Set((await this.cancelRecalled(changed.map((d) => d.id))).map((d) => d.id));
      changed = changed.filter((d) => !cancelled.has(d.id));
    }
    this.log(changed, m.to, fields.reason ?? null);
    for (const d of changed) this.touched.add(d.notificationId);
    return changed;
  }

  /** Moves the queued deliveries among `ids` whose notification a recall has been asked for (and that surely never went out) to `recalled`. */
  private async cancelRecalled(ids: string[]): Promise<DeliveryRow[]> {
    if (ids.length === 0) return [];
    const doomed: string[] = [];
    for (const part of chunks([...new Set(ids)])) {
      const rows = await this.trx
        .selectFrom('deliveries')
        .innerJoin('notifications', 'notifications.id', 'deliveries.notificationId')
        .select('deliveries.id')
        .where('deliveries.id', 'in', part)
        .where('notifications.recalledAt', 'is not', null)
        // A send whose answer was lost may have arrived: it is sent again (which proves or delivers it) and then
        // recalled at DingTalk, or reported as not recallable; never called cancelled.
        .where('deliveries.ambiguous', '=', 0)
        .execute();
      doomed.push(...rows.map((r) => r.id));
    }
    if (doomed.length === 0) return [];
    const m = MOVES.cancelled;
    const reason = 'recalled before it was sent';
    const cancelled = await this.update(doomed, { status: m.to, reason }, m.from);
    this.log(cancelled, m.to, reason);
    for (const d of cancelled) this.touched.add(d.notificationId);
    return cancelled;
  }

  async addMembers(members: NewMember[]): Promise<DeliveryRow[]> {
    const out: DeliveryRow[] = [];
    for (const part of chunks(uniqueById(members))) {
      const rows = await this.trx
        .insertInto('deliveries')
        .values(
          part.map(({ id, userid, of, ambiguous }) => ({
            id,
            notificationId: of.notificationId,
            channel: of.channel,
            destination: of.destination,
            recipient: userid,
            recipientKind: 'member',
            userid,
            jobId: of.jobId,
            status: 'sent',
            reason: null,
            attempts: of.attempts,
            taskId: of.taskId,
            processQueryKey: of.processQueryKey,
            ambiguous: ambiguous ? 1 : 0,
            lostAnswerAt: null,
            updatedAt: this.now,
            recallError: null,
            digestId: of.digestId,
            part: of.part ?? null,
            parts: of.parts ?? null,
          })),
        )
        .onConflict((oc) => oc.column('id').doNothing())
        .returningAll()
        .execute();
      out.push(...rows.map(toDelivery));
    }
    this.log(out, 'sent', 'reached by a department or all-users send (DingTalk named them in its result)');
    for (const d of out) this.touched.add(d.notificationId);
    return out.sort((a, b) => (a.id < b.id ? -1 : 1));
  }

  async patch(ids: string[], fields: DeliveryFields, onlyIn: readonly string[]): Promise<DeliveryRow[]> {
    const changed = await this.update(ids, fields, onlyIn);
    // A tracking handle decides whether a sent delivery is settled.
    if ('taskId' in fields || 'processQueryKey' in fields) for (const d of changed) this.touched.add(d.notificationId);
    return changed;
  }

  private async update(ids: string[], fields: DeliveryFields & { status?: string }, onlyIn: readonly string[]): Promise<DeliveryRow[]> {
    if (ids.length === 0) return [];
    const { addAttempt, undoAttempt, ambiguous, lostAnswerAt, clearLostAnswer, ...rest } = fields;
    const set: Record<string, unknown> = { ...rest, updatedAt: this.now };
    if (ambiguous !== undefined) set.ambiguous = ambiguous ? 1 : 0;
    const out: DeliveryRow[] = [];
    for (const part of chunks([...new Set(ids)])) {
      const rows = await this.trx
        .updateTable('deliveries')
        .set(set)
        .$if(addAttempt === true, (qb) => qb.set({ attempts: sql`attempts + 1` }))
        .$if(undoAttempt === true, (qb) => qb.set({ attempts: sql`attempts - 1` }))
        .$if(lostAnswerAt !== undefined, (qb) => qb.set({ lostAnswerAt: sql`coalesce(lost_answer_at, ${lostAnswerAt})` }))
        .$if(clearLostAnswer === true, (qb) => qb.set({ lostAnswerAt: null, ambiguous: 0 }))
        .where('id', 'in', part)
        .where('status', 'in', [...onlyIn])
        .returningAll()
        .execute();
      out.push(...rows.map(toDelivery));
    }
    return out.sort((a, b) => (a.id < b.id ? -1 : 1));
  }

  /** One history line per notification and move, not per row: cheap enough for a 5 000-recipient notification. */
  private pendingLog: { notificationId: string; status: string; reason: string | null; ids: string[] }[] = [];
  private log(rows: DeliveryRow[], status: string, reason: string | null): void {
    const byNotification = new Map<string, string[]>();
    for (const d of rows) byNotification.set(d.notificationId, [...(byNotification.get(d.notificationId) ?? []), d.id]);
    for (const [notificationId, ids] of byNotification) this.pendingLog.push({ notificationId, status, reason, ids });
  }

  async requestRecall(notificationId: string): Promise<boolean> {
    const res = await this.trx.updateTable('notifications').set({ recalledAt: this.now }).where('id', '=', notificationId).where('recalledAt', 'is', null).executeTakeFirst();
    this.touched.add(notificationId);
    return Number(res.numUpdatedRows) === 1;
  }

  async addJobs(jobs: NewJob[]): Promise<void> {
    for (const part of chunks(jobs)) {
      if (part.length === 0) continue;
      await this.trx
        .insertInto('jobs')
        .values(part.map((j) => jobRecord(j, this.now)))
        .onConflict((oc) => oc.column('id').doNothing())
        .execute();
    }
  }

  jobs(q: JobQuery): Promise<JobRow[]> {
    return readJobs(this.trx, q);
  }

  async complete(jobIds: string[]): Promise<void> {
    for (const part of chunks(jobIds)) await this.trx.deleteFrom('jobs').where('id', 'in', part).execute();
    await this.releaseFollowers(jobIds);
  }

  /** The next part of a split message is due once the job of the part before it has left the queue (done or dead). */
  private async releaseFollowers(jobIds: string[]): Promise<void> {
    for (const part of chunks(jobIds)) await this.trx.updateTable('jobs').set({ runAt: this.now, follows: null }).where('follows', 'in', part).execute();
  }

  async reschedule(jobIds: string[], runAt: number, opts: RescheduleOptions = {}): Promise<void> {
    for (const part of chunks(jobIds)) {
      await this.trx
        .updateTable('jobs')
        .set({ state: 'ready', runAt, leaseOwner: null, leaseUntil: null })
        .$if(opts.slotAt !== undefined, (qb) => qb.set({ slotAt: opts.slotAt!, slotKey: opts.slotKey ?? null }))
        .$if(opts.lastError !== undefined, (qb) => qb.set({ lastError: opts.lastError! }))
        .$if(opts.clearSendStarted === true, (qb) => qb.set({ sendStartedAt: null }))
        .$if(opts.countFailure === true, (qb) => qb.set({ failures: sql`failures + 1` }))
        .where('id', 'in', part)
        .execute();
    }
  }

  // ── a paced destination's queue (dispatch/destination-queue.ts) ───────

  lockDestination(channel: string, destination: string): Promise<void> {
    return lockDestination(this.dialect, this.trx, channel, destination);
  }

  hasHead(channel: string, destination: string, except: string[]): Promise<boolean> {
    return headExists(this.trx, channel, destination, this.now, except);
  }

  async park(jobIds: string[]): Promise<void> {
    for (const part of chunks(jobIds)) {
      await this.trx
        .updateTable('jobs')
        .set({ state: 'parked', leaseOwner: null, leaseUntil: null, slotAt: null, slotKey: null, sendStartedAt: null })
        .where('id', 'in', part)
        .execute();
    }
  }

  async waitingJobs(channel: string, destination: string, limit: number, alsoReady = false): Promise<JobRow[]> {
    const rows = await this.trx
      .selectFrom('jobs')
      .selectAll()
      .where('channel', '=', channel)
      .where('destination', '=', destination)
      .where('state', 'in', alsoReady ? ['parked', 'ready'] : ['parked'])
      .orderBy('id')
      .limit(limit)
      .execute();
    return rows.map(toJob);
  }

  async foldInto(jobIds: string[], digestId: string): Promise<string[]> {
    const out: string[] = [];
    for (const part of chunks(jobIds)) {
      const rows = await this.trx
        .updateTable('jobs')
        .set({ state: 'folded', foldedInto: digestId, leaseOwner: null, leaseUntil: null, slotAt: null, slotKey: null })
        .where('id', 'in', part)
        .where('state', 'in', ['parked', 'ready'])
        .returning('id')
        .execute();
      out.push(...rows.map((r) => r.id));
    }
    return out;
  }

  async unfold(digestId: string, runAt: number): Promise<JobRow[]> {
    const rows = await this.trx
      .updateTable('jobs')
      .set({ state: 'ready', foldedInto: null, runAt })
      .where('foldedInto', '=', digestId)
      .where('state', '=', 'folded')
      .returningAll()
      .execute();
    return rows.map(toJob);
  }

  async dropFolded(digestId: string): Promise<void> {
    await this.trx.deleteFrom('jobs').where('foldedInto', '=', digestId).where('state', '=', 'folded').execute();
  }

  async unpark(jobId: string, runAt: number, slotAt: number | null): Promise<boolean> {
    const res = await this.trx
      .updateTable('jobs')
      // Due no later than it was (its arrival, or its turn): an arrival that read its clock before this unpark then
      // still finds it due, a head to park behind, and claims (by run_at) take it before anything newer.
      .set({ state: 'ready', runAt: sql<number>`case when run_at < ${runAt} then run_at else ${runAt} end`, slotAt, slotKey: null })
      .where('id', '=', jobId)
      .where('state', '=', 'parked')
      .executeTakeFirst();
    return Number(res.numUpdatedRows) === 1;
  }

  async updatePayload(jobId: string, payload: unknown): Promise<void> {
    await this.trx.updateTable('jobs').set({ payload: JSON.stringify(payload) }).where('id', '=', jobId).execute();
  }

  async startSend(jobIds: string[]): Promise<void> {
    for (const part of chunks(jobIds)) {
      await this.trx
        .updateTable('jobs')
        .set({ sendStartedAt: this.now, sendAttempts: sql`send_attempts + 1`, slotAt: null, slotKey: null })
        .where('id', 'in', part)
        .execute();
    }
  }

  async kill(jobIds: string[], reason: string): Promise<void> {
    for (const part of chunks(jobIds)) {
      await this.trx
        .updateTable('jobs')
        .set({ state: 'dead', deadAt: this.now, lastError: reason, leaseOwner: null, leaseUntil: null })
        .where('id', 'in', part)
        .execute();
    }
    await this.releaseFollowers(jobIds);
  }

  async revive(jobs: { id: string; payload: unknown }[], runAt: number): Promise<JobRow[]> {
    const out: JobRow[] = [];
    for (const j of jobs) {
      const rows = await this.trx
        .updateTable('jobs')
        .set({ state: 'ready', runAt, deadAt: null, failures: 0, sendAttempts: 0, sendStartedAt: null, slotAt: null, slotKey: null, payload: JSON.stringify(j.payload) })
        .where('id', '=', j.id)
        .where('state', '=', 'dead')
        .returningAll()
        .execute();
      out.push(...rows.map(toJob));
    }
    return out;
  }

  async counters(keys: string[]): Promise<Map<string, number>> {
    const out = new Map<string, number>();
    for (const part of chunks(keys)) {
      const rows = await this.lock(this.trx.selectFrom('counters').selectAll().where('key', 'in', part).where('expiresAt', '>', this.now)).execute();
      for (const r of rows) out.set(r.key, Number(r.value));
    }
    return out;
  }

  async addToCounters(deltas: Map<string, number>, expiresAt: number): Promise<void> {
    const rows = [...deltas].filter(([, v]) => v !== 0).map(([key, value]) => ({ key, value, expiresAt }));
    // An expired count starts again from zero; a count never goes below zero.
    const greatest = sql.raw(this.dialect === 'postgres' ? 'greatest' : 'max');
    for (const part of chunks(rows)) {
      await this.trx
        .insertInto('counters')
        .values(part)
        .onConflict((oc) =>
          oc.column('key').doUpdateSet({
            value: sql`${greatest}(0, ${COUNTERS_EXPIRED(this.now)} + excluded.value)`,
            expiresAt: (eb) => eb.ref('excluded.expiresAt'),
          }),
        )
        .execute();
      const negative = part.filter((r) => r.value < 0).map((r) => r.key);
      if (negative.length) await this.trx.updateTable('counters').set({ value: 0 }).where('key', 'in', negative).where('value', '<', 0).execute();
    }
  }

  async recordAttempts(attempts: AttemptRecord[]): Promise<void> {
    for (const part of chunks(attempts)) if (part.length) await this.trx.insertInto('attempts').values(part).execute();
  }

  async event(id: string): Promise<EventRow | undefined> {
    const row = await this.trx.selectFrom('events').selectAll().where('id', '=', id).executeTakeFirst();
    return row ? toEvent(row) : undefined;
  }

  async events(notificationId: string): Promise<EventRow[]> {
    return (await this.trx.selectFrom('events').selectAll().where('notificationId', '=', notificationId).orderBy('at').orderBy('id').execute()).map(toEvent);
  }

  async updateEvent(id: string, patch: Partial<Pick<EventRow, 'body' | 'callbackState' | 'busState' | 'callbackAttempts' | 'callbackError' | 'deliveredAt'>>): Promise<void> {
    await this.trx.updateTable('events').set(patch).where('id', '=', id).execute();
  }

  async pacing(keys: string[]): Promise<Map<string, string>> {
    const sorted = [...new Set(keys)].sort();
    await this.ensurePacingRows(sorted);
    const rows = await this.lock(this.trx.selectFrom('pacing').selectAll().where('key', 'in', sorted).orderBy('key')).execute();
    return new Map(rows.map((r) => [r.key, r.state]));
  }

  async savePacing(states: Map<string, string>): Promise<void> {
    for (const [key, state] of states) {
      await this.trx
        .insertInto('pacing')
        .values({ key, state, updatedAt: this.now })
        .onConflict((oc) => oc.column('key').doUpdateSet({ state, updatedAt: this.now }))
        .execute();
    }
  }

  /**
   * The outbox: for every notification whose deliveries moved, derive its status; a change is written with an event
   * (and a callback job when it has a callback URL) in this same transaction, so no outcome commits without its
   * callback being scheduled, and no callback is scheduled for an outcome that did not commit.
   */
  async settleTouched(): Promise<void> {
    for (const part of chunks(this.pendingLog, 200)) {
      if (part.length === 0) continue;
      await this.trx
        .insertInto('delivery_log')
        .values(part.map((l) => ({ id: newId('log'), notificationId: l.notificationId, at: this.now, status: l.status, reason: l.reason, deliveryIds: JSON.stringify(l.ids) })))
        .execute();
    }
    this.pendingLog = [];
    // In id order, each notification row locked first: concurrent units of work touching one notification then
    // derive its status one after the other, so a change is recorded (and called back) once.
    for (const id of [...this.touched].sort()) {
      const n = await this.notification(id);
      if (!n) continue;
      const c = await this.trx
        .selectFrom('deliveries')
        .select((eb) => [
          eb.fn.countAll<number>().as('total'),
          eb.fn.sum<number>(eb.case().when(eb.and([eb('status', '=', 'queued'), eb('attempts', '=', 0)])).then(1).else(0).end()).as('untouched'),
          eb.fn.sum<number>(eb.case().when(settledSql(eb)).then(0).else(1).end()).as('unsettled'),
          eb.fn.sum<number>(eb.case().when('status', '=', 'recalled').then(1).else(0).end()).as('recalled'),
        ])
        .where('notificationId', '=', id)
        .executeTakeFirstOrThrow();
      const status = notificationStatus(
        { total: Number(c.total), untouched: Number(c.untouched ?? 0), unsettled: Number(c.unsettled ?? 0), recalled: Number(c.recalled ?? 0) },
        n.status,
        n.recalledAt !== null,
      );
      if (status === n.status) continue;
      await this.trx.updateTable('notifications').set({ status }).where('id', '=', id).execute();
      const updated: NotificationRow = { ...n, status };
      const eventId = newId('evt');
      const type = `notification.${status}`;
      const deliveries = await this.deliveries({ notificationId: id });
      const events = await this.trx.selectFrom('events').selectAll().where('notificationId', '=', id).orderBy('at').execute();
      const deadJobs = await this.jobs({ notificationId: id, states: ['dead'] });
      const at = this.now;
      const body = JSON.stringify({ eventId, type, at: new Date(at).toISOString(), notification: notificationView(updated, deliveries, { events: events.map(toEvent), deadJobs }) });
      await this.trx
        .insertInto('events')
        .values({ id: eventId, notificationId: id, type, at, body, callbackState: n.callbackUrl ? 'pending' : 'none', callbackAttempts: 0, callbackError: null, deliveredAt: null, busState: this.eventBus ? 'pending' : 'none' })
        .execute();
      if (n.callbackUrl)
        await this.addJobs([{ id: `cbk_${eventId}`, kind: 'callback', notificationId: id, channel: null, destination: null, mergeKey: null, runAt: at, payload: { eventId } }]);
      // The same outbox row goes to the bus: its job commits (or not) with the change it reports.
      if (this.eventBus)
        await this.addJobs([{ id: `bus_${eventId}`, kind: 'publish', notificationId: id, channel: null, destination: null, mergeKey: null, runAt: at, payload: { eventId } }]);
    }
    this.touched.clear();
  }
}
