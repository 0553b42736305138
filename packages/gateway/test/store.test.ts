import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PostgresStore, SqliteStore, type Store } from '../src/server.js';
import type { AcceptInput } from '../src/store/types.js';

/** The same contract, run against the embedded SQLite store and a real PostgreSQL (127.0.0.1:5432, database test). */
const PG_URL = process.env.DINGPUSH_TEST_POSTGRES ?? 'postgres://postgres@127.0.0.1:5432/test';
const schema = `dingpush_test_${process.pid}_${Date.now()}`;

const stores: [string, () => Promise<Store>][] = [
  ['sqlite', () => SqliteStore.open(join(mkdtempSync(join(tmpdir(), 'dingpush-store-')), 'db.sqlite'))],
  ['postgres', () => PostgresStore.open(PG_URL, { schema })],
];

let seq = 0;
function input(opts: { key?: string | null; apiKey?: string; hash?: string; jobs?: number; runAt?: number; contentHash?: string } = {}): AcceptInput {
  const n = ++seq;
  const id = `ntf_${String(n).padStart(6, '0')}`;
  const jobs = Array.from({ length: opts.jobs ?? 1 }, (_, i) => ({
    id: `job_${n}_${i}`,
    kind: 'send' as const,
    notificationId: id,
    channel: 'work_notice' as const,
    destination: 'main',
    contentHash: opts.contentHash ?? `h${n}`,
    runAt: opts.runAt ?? 1000,
    payload: { body: { n }, dueAt: 1000 },
  }));
  return {
    notification: { id, apiKey: opts.apiKey ?? 'k', idempotencyKey: opts.key ?? null, requestHash: opts.hash ?? 'r', app: 'main', request: { n }, createdAt: 1000 + n, sendAt: 1000, callbackUrl: null },
    deliveries: jobs.map((j, i) => ({ id: `dlv_${n}_${i}`, notificationId: id, channel: 'work_notice' as const, destination: 'main', recipient: `u${i}`, recipientKind: 'userid' as const, userid: `u${i}`, jobId: j.id })),
    jobs,
  };
}

afterAll(async () => {
  const client = new pg.Client({ connectionString: PG_URL });
  await client.connect();
  await client.query(`drop schema if exists "${schema}" cascade`);
  await client.end();
});

describe.each(stores)('%s store', (_name, open) => {
  let store: Store;
  beforeAll(async () => {
    store = await open();
  });
  afterAll(async () => store?.close());

  it('accepts concurrently (group commit) and reads back what was written', async () => {
    const inputs = Array.from({ length: 50 }, () => input({ jobs: 2 }));
    const results = await Promise.all(inputs.map((i) => store.accept(i)));
    expect(results.every((r) => r.created)).toBe(true);
    const n = await store.getNotification(inputs[7]!.notification.id);
    expect(n).toMatchObject({ id: inputs[7]!.notification.id, request: inputs[7]!.notification.request, callbackState: 'none' });
    expect((await store.deliveriesOf(n!.id)).map((d) => [d.status, d.attempts, d.ambiguous])).toEqual([
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

  it('claims due jobs under a lease; an expired lease is claimed again (its worker died)', async () => {
    const due = input({ runAt: 5_000_000 });
    const later = input({ runAt: 9_000_000 });
    await store.accept(due);
    await store.accept(later);
    const first = await store.claimJobs('w1', 5_000_000, 1000, 10_000);
    expect(first.map((j) => j.id)).toContain(due.jobs[0]!.id);
    expect(first.map((j) => j.id)).not.toContain(later.jobs[0]!.id);
    expect(first.find((j) => j.id === due.jobs[0]!.id)).toMatchObject({ state: 'leased', leaseOwner: 'w1', attempts: 1 });
    expect((await store.claimJobs('w2', 5_005_000, 1000, 10_000)).map((j) => j.id)).not.toContain(due.jobs[0]!.id);
    const reclaimed = await store.claimJobs('w2', 5_010_001, 1000, 10_000);
    expect(reclaimed.find((j) => j.id === due.jobs[0]!.id)).toMatchObject({ leaseOwner: 'w2', attempts: 2 });
    await store.completeJobs(reclaimed.map((j) => j.id));
    await store.completeJobs(first.map((j) => j.id));
  });

  it('two workers never claim the same job', async () => {
    for (let i = 0; i < 40; i++) await store.accept(input({ runAt: 20_000_000 }));
    const [a, b] = await Promise.all([store.claimJobs('a', 20_000_000, 30, 60_000), store.claimJobs('b', 20_000_000, 30, 60_000)]);
    const ids = [...a, ...b].map((j) => j.id);
    expect(new Set(ids).size).toBe(ids.length);
    expect(ids.length).toBeGreaterThanOrEqual(40);
    await store.completeJobs(ids);
  });

  it('claims similar jobs (same message, same destination) for merging', async () => {
    const x = input({ runAt: 30_000_000, contentHash: 'same' });
    const y = input({ runAt: 30_000_000, contentHash: 'same' });
    const z = input({ runAt: 30_000_000, contentHash: 'different' });
    for (const i of [x, y, z]) await store.accept(i);
    const [first] = await store.claimJobs('w', 30_000_000, 1, 60_000);
    const similar = await store.claimSimilar(first!, 'w', 30_000_000, 10, 60_000);
    expect([first!.id, ...similar.map((j) => j.id)].sort()).toEqual([x.jobs[0]!.id, y.jobs[0]!.id].sort());
    await store.completeJobs([first!.id, ...similar.map((j) => j.id)]);
    await store.completeJobs([z.jobs[0]!.id]);
  });

  it('updates deliveries, reschedules jobs, counts per-day quotas and reports the queue', async () => {
    const i = input({ runAt: 40_000_000 });
    await store.accept(i);
    await store.updateDeliveries([i.deliveries[0]!.id], { status: 'sent', taskId: '123', addAttempt: true, ambiguous: true }, 42);
    expect((await store.deliveriesOf(i.notification.id))[0]).toMatchObject({ status: 'sent', taskId: '123', attempts: 1, ambiguous: true, updatedAt: 42 });
    expect(await store.unsettledNotifications([i.notification.id])).toEqual(new Set([i.notification.id]));
    await store.updateDeliveries([i.deliveries[0]!.id], { status: 'read' }, 43);
    expect(await store.unsettledNotifications([i.notification.id])).toEqual(new Set());
    await store.rescheduleJobs([i.jobs[0]!.id], 50_000_000, 'later');
    expect(await store.claimJobs('w', 45_000_000, 100, 1000)).toEqual([]);
    const future = Date.now() + 60_000;
    await store.incrementCounters(['cap|a|u1|1', 'cap|a|u1|1', 'cap|a|u2|1'], future, Date.now());
    await store.incrementCounters(['cap|a|u1|1'], future, Date.now());
    expect(await store.counters(['cap|a|u1|1', 'cap|a|u2|1', 'cap|a|u3|1'], Date.now())).toEqual(new Map([['cap|a|u1|1', 3], ['cap|a|u2|1', 1]]));
    expect(await store.counters(['cap|a|u1|1'], future + 1)).toEqual(new Map());
    expect((await store.deliveriesOfNotifications([i.notification.id])).map((d) => d.id)).toEqual(i.deliveries.map((d) => d.id));
    expect((await store.queueStats(60_000_000)).depth).toBeGreaterThan(0);
    expect(await store.claimCallback(i.notification.id)).toBe(false);
  });
});
