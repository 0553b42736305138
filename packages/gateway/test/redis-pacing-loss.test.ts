
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RedisEpoch } from '../src/cluster/redis-epoch.js';
import { openRedis, type RedisLink } from '../src/cluster/redis-link.js';
import { RedisPacer } from '../src/cluster/redis-pacing.js';
import type { Reservation } from '../src/dispatch/pacer.js';
import { createLogger } from '../src/observability/logger.js';
import { openStore, type Store } from '../src/server.js';
import { PG_URL, usePostgresSchema } from './helpers.js';
import { ownRedisServer } from './own-redis.js';

/**
 * Ways Redis can lose part of the windows that the epoch marker alone does not see, on a Redis of the test's own (it
 * is killed and restarted; the shared one is never touched).
 */

const silent = createLogger('silent');

const robot: Reservation = { key: 'robot:r', rule: { limit: 20, windowMs: 62_000, lateMs: 1_500 }, weight: 1 };

describe('Redis losing part of the windows', () => {
  const schema = usePostgresSchema('redis_pacing_loss');
  const otherSchema = usePostgresSchema('redis_pacing_loss_other');
  const redis = ownRedisServer();
  let store: Store;
  const links: RedisLink[] = [];
  const open = async (cluster: string) => {
    const link = openRedis(redis.url(), cluster, 'http://dingtalk.test', silent);
    links.push(link);
    await link.ready(2_000);
    return link;
  };
  beforeAll(async () => {
    await redis.start();
    store = await openStore({ postgres: PG_URL, schema });
  });
  afterAll(async () => {
    for (const link of links) await link.close();
    await store.close();
    await redis.cleanup();
  });

  it('Redis restarted from an older snapshot (the same epoch, fewer slots) is a loss: the window counts as full, not as the snapshot says', async () => {
    const link = await open(`${schema}_snapshot`);
    const pacer = new RedisPacer(link, new RedisEpoch(link, store, silent, Date.now));
    const t0 = Date.now();
    for (let i = 0; i < 10; i++) expect(await pacer.acquire([robot], t0)).toBe(t0);
    await link.redis.save();
    // Ten more after the snapshot: the minute is full.
    for (let i = 0; i < 10; i++) expect(await pacer.acquire([robot], t0 + 1)).toBe(t0 + 1);
    await redis.kill();
    await redis.start();
    await link.ready(5_000);
    expect(link.problem()).toBeNull();
    // The snapshot has ten slots: trusted, a 21st to 30th call would go within the minute.
    expect(await pacer.acquire([robot], t0 + 2)).toBeGreaterThanOrEqual(t0 + 62_001);
  }, 30_000);

  it('two clusters named alike (each its own PostgreSQL) on one Redis are refused, not taken for a loss each time the other settles', async () => {
    const other = await openStore({ postgres: PG_URL, schema: otherSchema });
    try {
      const link = await open(`${schema}_twins`);
      const a = new RedisPacer(link, new RedisEpoch(link, store, silent, Date.now));
      const bEpoch = new RedisEpoch(link, other, silent, Date.now);
      const b = new RedisPacer(link, bEpoch);
      const t0 = 5_000_000;
      expect(await a.acquire([robot], t0)).toBe(t0);
      // The second cluster must not adopt the first one's epoch (and so its windows, and every loss after it).
      const err = await b.acquire([robot], t0 + 1).catch((e: unknown) => e);
      expect(String((err as Error)?.message)).toMatch(/another cluster/);
      expect(bEpoch.problem()).toMatch(/give each its own store.cluster/);
      // And the first goes on undisturbed: no loss declared for it.
      expect(await a.acquire([robot], t0 + 2)).toBe(t0 + 2);
      expect(await link.redis.get(`${link.prefix}lost`)).toBeNull();
    } finally {
      await other.close();
    }
  });

  // KNOWN DEFECT (not fixed, see the review report): a slot held from before a loss, later than the lost window's end,
  // is honoured after it: nothing tells it from a slot of the new epoch, and the new epoch's windows do not count it.
  // 20 held at t0+124002 plus 20 reserved after the loss at t0+63000: 40 in one 62 s window. `it.fails` until fixed.
  it.fails('a slot held from before a loss beyond the lost window is not honoured on top of the new epoch\'s slots', async () => {
    const link = await open(`${schema}_heldfar`);
    const pacer = new RedisPacer(link, new RedisEpoch(link, store, silent, Date.now));
    const t0 = 9_000_000;
    let held = 0;
    for (let i = 0; i < 60; i++) held = await pacer.acquire([robot], t0);
    expect(held).toBe(t0 + 124_002);
    await link.redis.flushall();
    for (let i = 0; i < 20; i++) expect(await pacer.acquire([robot], t0 + 1_000)).toBe(t0 + 63_000);
    expect(await pacer.acquire([robot], held, held)).toBeGreaterThan(t0 + 63_000 + 62_000);
  });
});
