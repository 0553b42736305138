import { copyFileSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { promoteParked } from '../src/dispatch/destination-queue.js';
import type { JobRow } from '../src/domain/jobs.js';
import { openStore, type Store } from '../src/server.js';
import { type AcceptInput, LeaseLost } from '../src/store/types.js';

/** The same contract, run against the embedded SQLite store and a real PostgreSQL (127.0.0.1:5432, database test). */
const PG_URL = process.env.DINGPUSH_TEST_POSTGRES ?? 'postgres://postgres@127.0.0.1:5432/test';
const schema = `dingpush_test_${process.pid}_${Date.now()}`;
const upgraded = `${schema}_upgraded`;
const FIXTURES = new URL('./fixtures/', import.meta.url).pathname;

const stores: [string, () => Promise<Store>, () => Promise<Store>][] = [
  [
    'sqlite',
    () => openStore({ sqlite: join(mkdtempSync(join(tmpdir(), 'dingpush-store-')), 'db.sqlite') }),
    async () => {
      const file = join(mkdtempSync(join(tmpdir(), 'dingpush-upgrade-')), 'db.sqlite');
      copyFileSync(join(FIXTURES, 'v0.1.0.sqlite'), file);
      return openStore({ sqlite: file });
    },
  ],
  [
    'postgres',
    () => openStore({ postgres: PG_URL, schema }),
    async () => {
      const client = new pg.Client({ connectionString: PG_URL });
      await client.connect();
      await client.query(readFileSync(join(FIXTURES, 'v0.1.0.pg.sql'), 'utf8').replaceAll('dingpush_upgrade_fixture', upgraded));
      await client.end();
      return openStore({ postgres: PG_URL, schema: upgraded });
    },
  ],
];

let seq = 0;
function input(opts: { key?: string | null; apiKey?: string; hash?: string; jobs?: number; runAt?: number; mergeKey?: string; callbackUrl?: string } = {}): AcceptInput {
  const n = ++seq;
  const id = `ntf_${String(n).padStart(6, '0')}`;
  const jobs = Array.from({ length: opts.jobs ?? 1 }, (_, i) => ({
    id: `job_${n}_${i}`,
    kind: 'send' as const,
    notificationId: id,
    channel: 'work_notice' as const,
    destination: 'main',
    mergeKey: opts.mergeKey ?? `h${n}`,
    runAt: opts.runAt ?? 1000,
    payload: { body: { n }, dueAt: 1000 },
  }));
  return {
    notification: { id, apiKey: opts.apiKey ?? 'k', idempotencyKey: opts.key ?? null, requestHash: opts.hash ?? 'r', app: 'main', request: { n }, createdAt: 1000 + n, sendAt: 1000, callbackUrl: opts.callbackUrl ?? null },
    deliveries: jobs.map((j, i) => ({ id: `dlv_${n}_${i}`, notificationId: id, channel: 'work_notice' as const, destination: 'main', recipient: `u${i}`, recipientKind: 'userid' as const, userid: `u${i}`, jobId: j.id })),
    jobs,
  };
}

afterAll(async () => {
  const client = new pg.Client({ connectionString: PG_URL });
  await client.connect();
  await client.query(`drop schema if exists "${schema}" cascade`);
  await client.query(`drop schema if exists "${upgraded}" cascade`);
  await client.end();
});

describe.each(stores)('%s store', (_name, open, openUpgraded) => {
  let store: Store;
  beforeAll(async () => {
    store = await open();
  });
  afterAll(async () => store?.close());
  const claimAll = async (owner: string, now: number, leaseMs = 60_000) => store.claim(owner, now, 1000, leaseMs, []);

  it('accepts concurrently (group commit) and reads back what was written', async () => {
    const inputs = Array.from({ length: 50 }, () => input({ jobs: 2 }));
    const results = await Promise.all(inputs.map((i) => store.accept(i)));
    expect(results.every((r) => r.created)).toBe(true);
    const n = await store.getNotification(inputs[7]!.notification.id);
    expect(n).toMatchObject({ id: inputs[7]!.notification.id, request: inputs[7]!.notification.request, status: 'queued' });
    expect((await store.deliveries({ notificationId: n!.id })).map((d) => [d.status, d.attempts, d.ambiguous])).toEqual([
      ['queued', 0, false],
      ['queued', 0, false],
    ]);
  });

  it('an idempotency key returns the original; a different request with it is flagged as a conflict', async () => {
    const a = input({ key: 'idem-1', hash: 'A' });
    expect((await store.accept(a)).created).toBe(true);
    const again = await store.accept(input({ key: 'idem-1', hash: 'A' }));
    expect(again).toMatchObject({ created: false, conflict: false, notification: { id: a.notification.id } });
    expect(await store.accept(input({ key: 'idem-1', hash: 'B' }))).toMatchObject({ created: false, conflict: true });
    expect((await store.accept(input({ key: 'idem-1', apiKey: 'other' }))).created).toBe(true);
    const same = await Promise.all(Array.from({ length: 10 }, () => store.accept(input({ key: 'idem-2', hash: 'C' }))));
    expect(same.filter((r) => r.created)).toHaveLength(1);
    expect(new Set(same.map((r) => r.notification.id)).size).toBe(1);
  });

  it('a lease is fenced: once another worker claims the expired job, the first one can write nothing', async () => {
    const job = input({ runAt: 5_000_000 });
    await store.accept(job);
    const id = job.jobs[0]!.id;
    const [first] = (await claimAll('w1', 5_000_000, 100)).filter((j) => j.id === id);
    expect(first).toMatchObject({ state: 'leased', leaseOwner: 'w1', claims: 1 });
    // Renewed while its worker runs: not claimable although a lease of 100 ms has long passed by then.
    await new Promise((r) => setTimeout(r, 60));
    expect(await store.renew('w1', [{ id, token: first!.leaseToken }], 100)).toEqual(new Set([id]));
    await new Promise((r) => setTimeout(r, 60));
    expect((await claimAll('w2', 5_000_000)).map((j) => j.id)).not.toContain(id);
    // Not renewed: it expires and w2 takes it with a new token.
    await new Promise((r) => setTimeout(r, 150));
    const [second] = (await claimAll('w2', 5_000_000)).filter((j) => j.id === id);
    expect(second).toMatchObject({ leaseOwner: 'w2', claims: 2 });
    expect(second!.leaseToken).toBeGreaterThan(first!.leaseToken);
    // w1's writes are refused as a whole: the status move inside the same unit of work is not written either.
    await expect(
      store.transact([{ id, token: first!.leaseToken }], 5_000_001, async (tx) => {
        await tx.move([job.deliveries[0]!.id], 'startSend');
        await tx.complete([id]);
      }),
    ).rejects.toBeInstanceOf(LeaseLost);
    expect((await store.deliveries({ ids: [job.deliveries[0]!.id] }))[0]!.status).toBe('queued');
    expect(await store.renew('w1', [{ id, token: first!.leaseToken }], 100)).toEqual(new Set());
    // A worker never claims again what it is still running.
    await new Promise((r) => setTimeout(r, 30));
    await store.transact([{ id, token: second!.leaseToken }], 5_000_002, (tx) => tx.reschedule([id], 5_000_000));
    expect((await store.claim('w2', 5_000_000, 10, 60_000, [id])).map((j) => j.id)).not.toContain(id);
    await store.transact(null, 1, (tx) => tx.complete([id]));
  });

  it('two workers never claim the same job', async () => {
    for (let i = 0; i < 40; i++) await store.accept(input({ runAt: 20_000_000 }));
    const [a, b] = await Promise.all([store.claim('a', 20_000_000, 30, 60_000, []), store.claim('b', 20_000_000, 30, 60_000, [])]);
    const ids = [...a, ...b].map((j) => j.id);
    expect(new Set(ids).size).toBe(ids.length);
    expect(ids.length).toBeGreaterThanOrEqual(40);
    await store.transact(null, 1, (tx) => tx.complete(ids));
  });

  it('claims in lanes: only the open destinations\' waiting sends, in order; held slots always; two workers never the same job', async () => {
    const t = 40_000_000;
    const lane = (destination: string) => ({ channel: 'work_notice', destination });
    const at = (destination: string, runAt: number) => {
      const i = input({ runAt });
      for (const j of i.jobs) j.destination = destination;
      return i;
    };
    const a = Array.from({ length: 10 }, (_, i) => at('main', t + i));
    const b = Array.from({ length: 3 }, (_, i) => at('other', t + 20 + i));
    for (const i of [...a, ...b]) await store.accept(i);
    const ids = (jobs: JobRow[]) => jobs.map((j) => j.id);
    const jobOf = (i: AcceptInput) => i.jobs[0]!.id;
    expect(await store.nextDue({ lanes: [] })).toBeNull();
    expect(await store.nextDue({ lanes: [lane('other')] })).toBe(t + 20);
    // The first three of one lane, in order; nothing of the other.
    const first = await store.claim('w', t + 100, 3, 60_000, [], { lanes: [lane('main')] });
    expect(ids(first)).toEqual(a.slice(0, 3).map(jobOf));
    // No lane open: waiting sends stay; a job holding a slot is claimed all the same.
    expect(await store.claim('w', t + 100, 10, 60_000, [], { lanes: [] })).toEqual([]);
    const held = first[2]!;
    await store.transact([{ id: held.id, token: held.leaseToken }], t + 50, (tx) => tx.reschedule([held.id], t + 50, { slotAt: t + 50 }));
    expect(await store.nextDue({ lanes: [] })).toBe(t + 50);
    expect(ids(await store.claim('w', t + 100, 10, 60_000, [], { lanes: [] }))).toEqual([held.id]);
    // Both lanes open: the rest, by due time, split between two workers without overlap.
    const [x, y] = await Promise.all([
      store.claim('x', t + 100, 5, 60_000, [], { lanes: [lane('main'), lane('other')] }),
      store.claim('y', t + 100, 20, 60_000, [], { lanes: [lane('main'), lane('other')] }),
    ]);
    // (On PostgreSQL a claim locks up to its limit in each range and takes the first of them: rows it locked and did not
    // take are skipped by the other, which takes them at its next claim.)
    const z = await store.claim('z', t + 100, 20, 60_000, [], { lanes: [lane('main'), lane('other')] });
    const rest = [...a.slice(3), ...b].map(jobOf);
    const all = ids([...x, ...y, ...z]);
    expect(new Set(all).size).toBe(all.length);
    expect([...all].sort()).toEqual([...rest].sort());
    for (const w of [x, y, z]) expect(ids(w)).toEqual(rest.filter((id) => ids(w).includes(id)));
    await store.transact(null, 1, (tx) => tx.complete([...ids(first), ...rest]));
  });

  it('a robot message arriving behind parked ones parks too, even in the moment between its head finishing and the next one being unparked', async () => {
    // The CI run of 2026-12-01 saw "backlog 04" reach the group before "backlog 03": 03 was parked behind the head,
    // the head finished, and 04 arrived (on another gateway) before 03 was promoted, found no head and became one.
    const t = 50_000_000;
    const robot = () => {
      const i = input({ runAt: t });
      i.notification.createdAt = t;
      for (const j of i.jobs) Object.assign(j, { channel: 'robot', destination: 'order-ops' });
      for (const d of i.deliveries) Object.assign(d, { channel: 'robot', destination: 'order-ops' });
      return i;
    };
    const [head, behind, late] = [robot(), robot(), robot()];
    await store.accept(head);
    await store.accept(behind);
    const state = async (i: AcceptInput) => (await store.jobs({ ids: [i.jobs[0]!.id] }))[0]!.state;
    expect(await state(behind)).toBe('parked');
    await store.transact(null, t, (tx) => tx.complete([head.jobs[0]!.id]));
    await store.accept(late);
    expect(await state(late)).toBe('parked');
    // The next one in turn is the older of the two.
    await store.transact(null, t, async (tx) => {
      await tx.lockDestination('robot', 'order-ops');
      const [oldest] = await tx.waitingJobs('robot', 'order-ops', 1);
      expect(oldest!.id).toBe(behind.jobs[0]!.id);
      await tx.complete([behind.jobs[0]!.id, late.jobs[0]!.id]);
    });
  });

  it('a robot message whose request came in before the next parked one was unparked parks behind it (its clock is read before the store is)', async () => {
    // acceptNotification reads the clock (createdAt, the arrival's "now") before fetching its media and waiting for the
    // destination's lock: promoteParked may unpark the next job (due at its own, later, now) in between. That job is the
    // queue's head, but a head is "due by the arrival's now", so the arrival found no head and no parked job, became a
    // second head, due earlier, and is claimed (and sent) before the older message.
    const t = 52_000_000;
    const robot = (at: number) => {
      const i = input({ runAt: at });
      i.notification.createdAt = at;
      for (const j of i.jobs) Object.assign(j, { channel: 'robot', destination: 'ops-skew' });
      for (const d of i.deliveries) Object.assign(d, { channel: 'robot', destination: 'ops-skew' });
      return i;
    };
    const [head, behind] = [robot(t), robot(t)];
    await store.accept(head);
    await store.accept(behind);
    const state = async (i: AcceptInput) => (await store.jobs({ ids: [i.jobs[0]!.id] }))[0]!.state;
    expect(await state(behind)).toBe('parked');
    await store.transact(null, t + 10, (tx) => tx.complete([head.jobs[0]!.id]));
    expect(await promoteParked(store, t + 30, 'robot', 'ops-skew')).toBe(true);
    const late = robot(t + 20);
    await store.accept(late);
    const [b, l] = await store.jobs({ ids: [behind.jobs[0]!.id, late.jobs[0]!.id] }).then((rows) => [behind, late].map((i) => rows.find((r) => r.id === i.jobs[0]!.id)!));
    await store.transact(null, t + 100, (tx) => tx.complete([b!.id, l!.id]));
    // Parked behind the older one, not a second head (ready, due at t + 20: claimed before the older one, due at t + 30).
    expect(l!.state).toBe('parked');
  });

  it('claims mergeable jobs (same message, same destination) only when asked', async () => {
    const x = input({ runAt: 30_000_000, mergeKey: 'same' });
    const y = input({ runAt: 30_000_000, mergeKey: 'same' });
    const z = input({ runAt: 30_000_000, mergeKey: 'different' });
    for (const i of [x, y, z]) await store.accept(i);
    const [first] = await store.claim('w', 30_000_000, 1, 60_000, []);
    const similar = await store.claimMergeable(first!, 'w', 30_000_000, 10, 60_000);
    expect([first!.id, ...similar.map((j) => j.id)].sort()).toEqual([x.jobs[0]!.id, y.jobs[0]!.id].sort());
    await store.transact(null, 1, (tx) => tx.complete([first!.id, ...similar.map((j) => j.id), z.jobs[0]!.id]));
  });

  it('status moves are guarded by the state machine and act only on the rows they changed', async () => {
    const i = input({ jobs: 3, runAt: 40_000_000 });
    await store.accept(i);
    const [a, b, c] = i.deliveries.map((d) => d.id) as [string, string, string];
    await store.transact(null, 40_000_000, async (tx) => {
      expect((await tx.move([a], 'cancelled', { reason: 'recalled before it was sent' })).map((d) => d.id)).toEqual([a]);
      // The recall got there first: starting the send moves only the other two.
      expect((await tx.move([a, b, c], 'startSend', { addAttempt: true })).map((d) => d.id)).toEqual([b, c]);
      expect(await tx.move([a], 'accepted')).toEqual([]);
      expect((await tx.move([b, c], 'accepted', { taskId: '77' })).map((d) => d.status)).toEqual(['sent', 'sent']);
      expect((await tx.move([b], 'unread')).length).toBe(1);
      // A recalled or final delivery never moves again, whoever asks.
      expect(await tx.move([a], 'read')).toEqual([]);
      expect((await tx.move([b], 'recalled')).length).toBe(1);
      expect(await tx.move([b], 'read')).toEqual([]);
    });
    expect((await store.deliveries({ notificationId: i.notification.id })).map((d) => d.status)).toEqual(['recalled', 'recalled', 'sent']);
    expect((await store.getNotification(i.notification.id))!.status).toBe('in_progress');
  });

  it('an outcome and its callback commit together: a failure between them leaves neither', async () => {
    const i = input({ runAt: 50_000_000, callbackUrl: 'https://example.com/hook' });
    await store.accept(i);
    const d = i.deliveries[0]!.id;
    await store.transact(null, 50_000_000, (tx) => tx.move([d], 'startSend', { addAttempt: true }));
    const events = async () => store.events(i.notification.id);
    const callbackJobs = async () => (await store.jobs({ notificationId: i.notification.id, kinds: ['callback'] })).length;
    expect((await events()).map((e) => e.type)).toEqual(['notification.in_progress']);
    // The store fails after the outcome was written and before the unit of work ends: nothing of it is kept.
    await expect(
      store.transact(null, 50_000_001, async (tx) => {
        await tx.move([d], 'accepted', { taskId: null });
        throw new Error('disk I/O error');
      }),
    ).rejects.toThrow('disk I/O error');
    expect((await store.deliveries({ ids: [d] }))[0]!.status).toBe('sending');
    expect((await events()).map((e) => e.type)).toEqual(['notification.in_progress']);
    expect((await store.getNotification(i.notification.id))!.status).toBe('in_progress');
    // Committed: the status, the event and its callback job arrive together.
    await store.transact(null, 50_000_002, (tx) => tx.move([d], 'sendFailed', { reason: 'permanent' }));
    expect((await events()).map((e) => [e.type, e.callbackState])).toEqual([
      ['notification.in_progress', 'pending'],
      ['notification.completed', 'pending'],
    ]);
    expect(await callbackJobs()).toBe(2);
    const body = JSON.parse((await events())[1]!.body!);
    expect(body).toMatchObject({ type: 'notification.completed', notification: { id: i.notification.id, status: 'completed', deliveries: [{ status: 'failed' }] } });
  });

  it('dead letters are kept and revived with fresh counters', async () => {
    const i = input({ runAt: 60_000_000 });
    await store.accept(i);
    const id = i.jobs[0]!.id;
    await store.transact(null, 60_000_000, (tx) => tx.kill([id], 'gave up'));
    expect(await store.claim('w', 70_000_000, 100, 1000, [])).not.toContainEqual(expect.objectContaining({ id }));
    expect((await store.queueStats(60_000_000)).dead).toBeGreaterThan(0);
    const [revived] = await store.transact(null, 60_000_001, (tx) => tx.revive([{ id, payload: { body: {}, dueAt: 60_000_001 } }], 60_000_001));
    expect(revived).toMatchObject({ id, state: 'ready', deadAt: null, failures: 0, payload: { dueAt: 60_000_001 } });
    await store.transact(null, 1, (tx) => tx.complete([id]));
  });

  it('counts per-day quotas atomically and lets them expire; pacing windows persist', async () => {
    const future = Date.now() + 60_000;
    await store.transact(null, Date.now(), async (tx) => {
      await tx.addToCounters(new Map([['cap|a|u1|1', 2], ['cap|a|u2|1', 1]]), future);
      await tx.addToCounters(new Map([['cap|a|u1|1', 1], ['cap|a|u2|1', -5]]), future);
      expect(await tx.counters(['cap|a|u1|1', 'cap|a|u2|1', 'cap|a|u3|1'])).toEqual(new Map([['cap|a|u1|1', 3], ['cap|a|u2|1', 0]]));
      await tx.savePacing(new Map([['robot:x', '{"log":[[1,1]]}']]));
    });
    expect(await store.transact(null, future + 1, (tx) => tx.counters(['cap|a|u1|1']))).toEqual(new Map());
    expect(await store.transact(null, 1, (tx) => tx.pacing(['robot:x', 'robot:y']))).toEqual(new Map([['robot:x', '{"log":[[1,1]]}'], ...(_name === 'postgres' ? [['robot:y', '{}'] as [string, string]] : [])]));
    await store.probe();
  });

  it('opens a database written by the previous release, migrated, with its notifications readable and its jobs claimable', async () => {
    const old = await openUpgraded();
    try {
      const list = await old.listNotifications({ limit: 10 });
      expect(list).toHaveLength(3);
      const byStatus = Object.fromEntries(list.map((n) => [(n.request as { idempotencyKey?: string }).idempotencyKey ?? 'robot', n.status]));
      expect(byStatus).toEqual({ 'upgrade-1': 'completed', robot: 'completed', 'upgrade-2': 'queued' });
      const scheduled = list.find((n) => n.idempotencyKey === 'upgrade-2')!;
      expect((await old.deliveries({ notificationId: scheduled.id })).map((d) => [d.status, d.recallError])).toEqual([['queued', null]]);
      const jobs: JobRow[] = await old.claim('w', Date.parse('2030-01-01T00:00:01Z'), 100, 60_000, []);
      const send = jobs.find((j) => j.notificationId === scheduled.id)!;
      expect(send).toMatchObject({ kind: 'send', state: 'leased', leaseToken: 1, sendAttempts: 0, payload: { dueAt: Date.parse('2030-01-01T00:00:00Z') } });
      // The same idempotency key still answers the same notification.
      const replay = await old.accept({ ...input({ key: 'upgrade-2', apiKey: 'tests', hash: scheduled.requestHash }) });
      expect(replay).toMatchObject({ created: false, notification: { id: scheduled.id } });
    } finally {
      await old.close();
    }
  });
});
