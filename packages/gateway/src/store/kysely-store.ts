import { type ExpressionBuilder, type Kysely, type SelectQueryBuilder, sql } from 'kysely';
import type { Database, DeliveriesTable, JobsTable, NotificationsTable } from './schema.js';
import type {
  AcceptInput,
  AcceptResult,
  AttemptRecord,
  DeliveryPatch,
  DeliveryRow,
  JobRow,
  ListQuery,
  NewJob,
  NotificationRow,
  Store,
} from './types.js';

const CHUNK = 400;

/** SQL twin of isFinal(): queued or sending, or sent on a channel whose outcome is still to be tracked. */
const unsettled = (eb: ExpressionBuilder<Database, 'deliveries'>) =>
  eb.or([eb('status', 'in', ['queued', 'sending']), eb.and([eb('status', '=', 'sent'), eb('channel', 'in', ['work_notice', 'robot_oto'])])]);
const GROUP_COMMIT_MAX = 500;

function chunks<T>(items: T[], size = CHUNK): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

export const toNotification = (r: NotificationsTable): NotificationRow => ({
  ...r,
  request: JSON.parse(r.request),
  createdAt: Number(r.createdAt),
  sendAt: Number(r.sendAt),
  recalledAt: r.recalledAt === null ? null : Number(r.recalledAt),
  callbackState: r.callbackState as NotificationRow['callbackState'],
});

const toDelivery = (r: DeliveriesTable): DeliveryRow => ({
  ...r,
  channel: r.channel as DeliveryRow['channel'],
  recipientKind: r.recipientKind as DeliveryRow['recipientKind'],
  status: r.status as DeliveryRow['status'],
  ambiguous: Number(r.ambiguous) === 1,
  updatedAt: Number(r.updatedAt),
});

const toJob = (r: JobsTable): JobRow => ({
  ...r,
  kind: r.kind as JobRow['kind'],
  channel: r.channel as JobRow['channel'],
  state: r.state as JobRow['state'],
  runAt: Number(r.runAt),
  leaseUntil: r.leaseUntil === null ? null : Number(r.leaseUntil),
  createdAt: Number(r.createdAt),
  sendStartedAt: r.sendStartedAt === null ? null : Number(r.sendStartedAt),
  payload: JSON.parse(r.payload),
});

const jobRecord = (j: NewJob, now: number): JobsTable => ({
  id: j.id,
  kind: j.kind,
  notificationId: j.notificationId,
  channel: j.channel,
  destination: j.destination,
  contentHash: j.contentHash,
  state: 'ready',
  runAt: j.runAt,
  leaseUntil: null,
  leaseOwner: null,
  attempts: 0,
  createdAt: now,
  sendStartedAt: null,
  payload: JSON.stringify(j.payload),
  lastError: null,
});

interface Pending {
  input: AcceptInput;
  resolve: (r: AcceptResult) => void;
  reject: (e: unknown) => void;
}

/**
 * The Store over Kysely: one query layer for SQLite and PostgreSQL. Accepts are group-committed: requests that
 * arrive together share one transaction (one fsync), and each caller is answered only after it commits.
 */
export abstract class KyselyStore implements Store {
  abstract readonly kind: 'sqlite' | 'postgres';
  private pending: Pending[] = [];
  private flushScheduled = false;
  private flushing = false;

  protected constructor(protected readonly db: Kysely<Database>) {}

  /** Row locking for claims: PostgreSQL skips rows another instance is claiming; SQLite has one writer. */
  protected abstract lockForClaim<O>(qb: SelectQueryBuilder<Database, 'jobs', O>): SelectQueryBuilder<Database, 'jobs', O>;

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
    return this.db.transaction().execute(async (trx) => {
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
        const row: NotificationRow = { ...n, callbackState: n.callbackUrl ? 'pending' : 'none', recalledAt: null };
        if (key) existing.set(key, row);
        fresh.push(input);
        results.push({ created: true, notification: row });
      }
      const now = Date.now();
      for (const part of chunks(fresh.map((f) => f.notification))) {
        await trx
          .insertInto('notifications')
          .values(part.map((n) => ({ ...n, request: JSON.stringify(n.request), callbackState: n.callbackUrl ? 'pending' : 'none', recalledAt: null })))
          .execute();
      }
      for (const part of chunks(fresh.flatMap((f) => f.deliveries))) {
        await trx
          .insertInto('deliveries')
          .values(part.map((d) => ({ ...d, status: 'queued', reason: null, attempts: 0, taskId: null, processQueryKey: null, ambiguous: 0, updatedAt: now })))
          .execute();
      }
      for (const part of chunks(fresh.flatMap((f) => f.jobs))) {
        await trx.insertInto('jobs').values(part.map((j) => jobRecord(j, now))).execute();
      }
      return results;
    });
  }

  async getNotification(id: string): Promise<NotificationRow | undefined> {
    const row = await this.db.selectFrom('notifications').selectAll().where('id', '=', id).executeTakeFirst();
    return row ? toNotification(row) : undefined;
  }

  async listNotifications(q: ListQuery): Promise<NotificationRow[]> {
    let query = this.db.selectFrom('notifications').selectAll().orderBy('id', 'desc').limit(q.limit);
    if (q.apiKey) query = query.where('apiKey', '=', q.apiKey);
    if (q.since !== undefined) query = query.where('createdAt', '>=', q.since);
    if (q.cursor) query = query.where('id', '<', q.cursor);
    if (q.status) {
      const open = this.db.selectFrom('deliveries').select('notificationId').where(unsettled);
      query = q.status === 'in_progress' ? query.where('id', 'in', open) : query.where('id', 'not in', open);
    }
    return (await query.execute()).map(toNotification);
  }

  async deliveriesOf(notificationId: string): Promise<DeliveryRow[]> {
    const rows = await this.db.selectFrom('deliveries').selectAll().where('notificationId', '=', notificationId).orderBy('id').execute();
    return rows.map(toDelivery);
  }

  async deliveriesOfNotifications(notificationIds: string[]): Promise<DeliveryRow[]> {
    const out: DeliveryRow[] = [];
    for (const part of chunks(notificationIds)) {
      out.push(...(await this.db.selectFrom('deliveries').selectAll().where('notificationId', 'in', part).orderBy('id').execute()).map(toDelivery));
    }
    return out;
  }

  async deliveriesOfJobs(jobIds: string[]): Promise<DeliveryRow[]> {
    const out: DeliveryRow[] = [];
    for (const part of chunks(jobIds)) {
      out.push(...(await this.db.selectFrom('deliveries').selectAll().where('jobId', 'in', part).orderBy('id').execute()).map(toDelivery));
    }
    return out;
  }

  async deliveriesByIds(ids: string[]): Promise<DeliveryRow[]> {
    const out: DeliveryRow[] = [];
    for (const part of chunks(ids)) out.push(...(await this.db.selectFrom('deliveries').selectAll().where('id', 'in', part).execute()).map(toDelivery));
    return out;
  }

  async unsettledNotifications(ids: string[]): Promise<Set<string>> {
    const out = new Set<string>();
    for (const part of chunks(ids)) {
      const rows = await this.db
        .selectFrom('deliveries')
        .select('notificationId')
        .distinct()
        .where('notificationId', 'in', part)
        .where(unsettled)
        .execute();
      for (const r of rows) out.add(r.notificationId);
    }
    return out;
  }

  async updateDeliveries(ids: string[], patch: DeliveryPatch, now: number): Promise<void> {
    if (ids.length === 0) return;
    const { addAttempt, ambiguous, ...rest } = patch;
    const set: Record<string, unknown> = { ...rest, updatedAt: now };
    if (ambiguous !== undefined) set.ambiguous = ambiguous ? 1 : 0;
    for (const part of chunks(ids)) {
      await this.db
        .updateTable('deliveries')
        .set(set)
        .$if(addAttempt === true, (qb) => qb.set({ attempts: sql`attempts + 1` }))
        .where('id', 'in', part)
        .execute();
    }
  }

  async claimJobs(owner: string, now: number, limit: number, leaseMs: number): Promise<JobRow[]> {
    const due = this.lockForClaim(
      this.db
        .selectFrom('jobs')
        .select('id')
        .where((eb) => eb.or([eb.and([eb('state', '=', 'ready'), eb('runAt', '<=', now)]), eb.and([eb('state', '=', 'leased'), eb('leaseUntil', '<', now)])]))
        .orderBy('runAt')
        .limit(limit),
    );
    const rows = await this.db
      .updateTable('jobs')
      .set({ state: 'leased', leaseOwner: owner, leaseUntil: now + leaseMs, attempts: sql`attempts + 1` })
      .where('id', 'in', due)
      .returningAll()
      .execute();
    return rows.map(toJob).sort((a, b) => a.runAt - b.runAt);
  }

  async claimSimilar(job: JobRow, owner: string, now: number, limit: number, leaseMs: number): Promise<JobRow[]> {
    if (!job.contentHash || limit <= 0) return [];
    const similar = this.lockForClaim(
      this.db
        .selectFrom('jobs')
        .select('id')
        .where('contentHash', '=', job.contentHash)
        .where('kind', '=', 'send')
        .where('state', '=', 'ready')
        .where('channel', '=', job.channel)
        .where('destination', '=', job.destination)
        .where('runAt', '<=', now)
        .where('id', '!=', job.id)
        .orderBy('runAt')
        .limit(limit),
    );
    const rows = await this.db
      .updateTable('jobs')
      .set({ state: 'leased', leaseOwner: owner, leaseUntil: now + leaseMs, attempts: sql`attempts + 1` })
      .where('id', 'in', similar)
      .returningAll()
      .execute();
    return rows.map(toJob);
  }

  async completeJobs(ids: string[]): Promise<void> {
    for (const part of chunks(ids)) await this.db.deleteFrom('jobs').where('id', 'in', part).execute();
  }

  async rescheduleJobs(ids: string[], runAt: number, lastError: string | null): Promise<void> {
    for (const part of chunks(ids)) {
      await this.db.updateTable('jobs').set({ state: 'ready', runAt, leaseOwner: null, leaseUntil: null, lastError }).where('id', 'in', part).execute();
    }
  }

  async markSendStarted(ids: string[], at: number | null): Promise<void> {
    for (const part of chunks(ids)) await this.db.updateTable('jobs').set({ sendStartedAt: at }).where('id', 'in', part).execute();
  }

  async addJobs(jobs: NewJob[], now: number): Promise<void> {
    for (const part of chunks(jobs)) await this.db.insertInto('jobs').values(part.map((j) => jobRecord(j, now))).execute();
  }

  async recordAttempts(attempts: AttemptRecord[]): Promise<void> {
    for (const part of chunks(attempts)) if (part.length) await this.db.insertInto('attempts').values(part).execute();
  }

  async setCallbackState(notificationId: string, state: NotificationRow['callbackState']): Promise<void> {
    await this.db.updateTable('notifications').set({ callbackState: state }).where('id', '=', notificationId).execute();
  }

  async claimCallback(notificationId: string): Promise<boolean> {
    const res = await this.db
      .updateTable('notifications')
      .set({ callbackState: 'scheduled' })
      .where('id', '=', notificationId)
      .where('callbackState', '=', 'pending')
      .executeTakeFirst();
    return Number(res.numUpdatedRows) === 1;
  }

  async markRecalled(notificationId: string, at: number): Promise<void> {
    await this.db.updateTable('notifications').set({ recalledAt: at }).where('id', '=', notificationId).execute();
  }

  async counters(keys: string[], now: number): Promise<Map<string, number>> {
    const out = new Map<string, number>();
    for (const part of chunks(keys)) {
      const rows = await this.db.selectFrom('counters').selectAll().where('key', 'in', part).where('expiresAt', '>', now).execute();
      for (const r of rows) out.set(r.key, Number(r.value));
    }
    return out;
  }

  async incrementCounters(keys: string[], expiresAt: number, now: number): Promise<void> {
    const counts = new Map<string, number>();
    for (const k of keys) counts.set(k, (counts.get(k) ?? 0) + 1);
    const rows = [...counts].map(([key, value]) => ({ key, value, expiresAt }));
    for (const part of chunks(rows)) {
      await this.db
        .insertInto('counters')
        .values(part)
        .onConflict((oc) =>
          oc.column('key').doUpdateSet({
            value: sql`case when counters.expires_at > ${now} then counters.value + excluded.value else excluded.value end`,
            expiresAt: (eb) => eb.ref('excluded.expiresAt'),
          }),
        )
        .execute();
    }
  }

  async queueStats(now: number): Promise<{ depth: number; oldestAgeMs: number }> {
    const row = await this.db
      .selectFrom('jobs')
      .select((eb) => [eb.fn.countAll<number>().as('depth'), eb.fn.min<number>('createdAt').as('oldest')])
      .where('kind', '=', 'send')
      .executeTakeFirst();
    const depth = Number(row?.depth ?? 0);
    return { depth, oldestAgeMs: depth > 0 && row?.oldest !== null && row?.oldest !== undefined ? Math.max(0, now - Number(row.oldest)) : 0 };
  }

  async close(): Promise<void> {
    await this.db.destroy();
  }
}
