import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openStore, type Store } from '../src/server.js';
import type { AcceptInput } from '../src/store/types.js';
import { PG_URL } from './helpers.js';

/**
 * Review of issue 12: claims in lanes read each range as a derived table with FOR UPDATE SKIP LOCKED inside a UNION
 * ALL. Three stores (three pools, as three instances) claim one backlog at once: each job is claimed exactly once.
 */
const schema = `dingpush_rev12_claims_${process.pid}_${Date.now()}`;
const LANES = [
  { channel: 'work_notice', destination: 'a' },
  { channel: 'work_notice', destination: 'b' },
  { channel: 'chat', destination: 'a' },
];
let seq = 0;
function input(lane: { channel: string; destination: string }, runAt: number): AcceptInput {
  const n = ++seq;
  const id = `ntf_${String(n).padStart(6, '0')}`;
  const job = { id: `job_${String(n).padStart(6, '0')}`, kind: 'send' as const, notificationId: id, channel: lane.channel as 'work_notice', destination: lane.destination, mergeKey: `h${n}`, runAt, payload: { body: { n }, dueAt: runAt } };
  return {
    notification: { id, apiKey: 'k', idempotencyKey: null, requestHash: 'r', app: 'a', request: { n }, createdAt: runAt, sendAt: runAt, callbackUrl: null },
    deliveries: [{ id: `dlv_${n}`, notificationId: id, channel: lane.channel as 'work_notice', destination: lane.destination, recipient: 'u', recipientKind: 'userid' as const, userid: 'u', jobId: job.id }],
    jobs: [job],
  };
}

describe('claims in lanes on PostgreSQL, three instances', () => {
  const stores: Store[] = [];
  beforeAll(async () => {
    for (let i = 0; i < 3; i++) stores.push(await openStore({ postgres: PG_URL, schema }));
  });
  afterAll(async () => {
    for (const s of stores) await s.close();
    const client = new pg.Client({ connectionString: PG_URL });
    await client.connect();
    await client.query(`drop schema if exists "${schema}" cascade`);
    await client.end();
  });

  it('600 due jobs in three lanes, some holding slots: every one claimed exactly once, by one of them', async () => {
    const ids: string[] = [];
    for (let i = 0; i < 600; i++) {
      const x = input(LANES[i % 3]!, 1_000 + i);
      ids.push(x.jobs[0]!.id);
      await stores[0]!.accept(x);
    }
    // A third hold a slot (the range of held slots), as a deferred job would.
    await stores[0]!.transact(null, 1, (tx) => tx.reschedule(ids.filter((_, i) => i % 3 === 1), 1_500, { slotAt: 1_500, slotKey: null }));
    const claimed: string[][] = [[], [], []];
    await Promise.all(
      stores.map(async (s, k) => {
        for (let round = 0; round < 400; round++) {
          const got = await s.claim(`w${k}`, 10_000, 7, 60_000, [], { lanes: LANES });
          if (got.length === 0 && claimed.flat().length >= 600) break;
          claimed[k]!.push(...got.map((j) => j.id));
        }
      }),
    );
    const all = claimed.flat();
    expect(all.length).toBe(600);
    expect(new Set(all).size).toBe(600);
    expect(claimed.every((c) => c.length > 0)).toBe(true);
  }, 120_000);
});
