import { DingTalkError } from '@dingpush/dingtalk';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RedisEpoch } from '../src/cluster/redis-epoch.js';
import { openRedis, type RedisLink } from '../src/cluster/redis-link.js';
import { RedisPacer } from '../src/cluster/redis-pacing.js';
import { decide, earliestSlot, type PaceRule, type Reservation, type WindowState } from '../src/dispatch/pacer.js';
import { createLogger } from '../src/observability/logger.js';
import { openStore, type Store } from '../src/server.js';
import { PG_URL, usePostgresSchema } from './helpers.js';

/**
 * The Redis pacer is pacer.ts ported to Lua: the same random sequences of reservations, peeks and blocks (random
 * rules, weights, held slots, and Redis losing everything now and then) through the TypeScript functions and through
 * the scripts on a real Redis must give the same slots and leave the same windows.
 */

const REDIS_URL = process.env.DINGPUSH_TEST_REDIS ?? 'redis://127.0.0.1:6379';
const silent = createLogger('silent');

/** A small seeded generator (mulberry32): a failing sequence can be replayed from its seed. */
function random(seed: number) {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const int = (lo: number, hi: number) => lo + Math.floor(next() * (hi - lo + 1));
  return { next, int, pick: <T>(xs: T[]) => xs[int(0, xs.length - 1)]! };
}

/** pacer.ts over a map, with what the Redis scripts add: a window lost with Redis counts as full until lost + lostMs. */
class Reference {
  windows = new Map<string, WindowState>();
  lost: number | null = null;
  load(c: Pick<Reservation, 'key' | 'rule'>, now: number): WindowState {
    const s = this.windows.get(c.key);
    if (s) return s;
    const lostMs = c.rule.lostMs ?? c.rule.windowMs;
    return this.lost !== null && now < this.lost + lostMs ? { log: [], blockedUntil: this.lost + lostMs } : { log: [] };
  }
  acquire(calls: Reservation[], now: number, held: number | null): number {
    const { at, save } = decide(new Map(calls.map((c) => [c.key, this.load(c, now)])), calls, now, held);
    for (const [k, s] of save ?? []) this.windows.set(k, s);
    return at;
  }
  peek(calls: Reservation[], now: number): number {
    return Math.max(...calls.map((c) => earliestSlot(this.load(c, now), c.rule, c.weight, now)));
  }
  block(c: Pick<Reservation, 'key' | 'rule'>, until: number, now: number): void {
    const s = this.load(c, now);
    if ((s.blockedUntil ?? 0) < until) this.windows.set(c.key, { ...s, blockedUntil: until });
  }
}

/** A window as the scripts stored it, read back (null: none). */
async function stored(link: RedisLink, key: string): Promise<WindowState | null> {
  const raw = await link.redis.get(`${link.prefix}pace:${key}`);
  if (raw === null) return null;
  const [, b, rest] = raw.split('|') as [string, string, string];
  const log = rest ? rest.split(';').map((e) => e.split(',').map(Number) as [number, number]) : [];
  return { log, ...(b ? { blockedUntil: Number(b) } : {}) };
}

describe('the Redis pacer', () => {
  const schema = usePostgresSchema('redis_pacing');
  let store: Store;
  const links: RedisLink[] = [];
  const open = async (cluster: string, url = REDIS_URL) => {
    const link = openRedis(url, cluster, 'http://dingtalk.test', silent);
    links.push(link);
    await link.ready(2_000);
    return link;
  };
  beforeAll(async () => {
    store = await openStore({ postgres: PG_URL, schema });
  });
  afterAll(async () => {
    for (const link of links) {
      if (link.problem() === null) {
        const keys = await link.redis.keys(`${link.prefix}*`);
        if (keys.length) await link.redis.del(...keys);
      }
      await link.close();
    }
    await store.close();
  });
  const wipe = async (link: RedisLink) => {
    const keys = await link.redis.keys(`${link.prefix}*`);
    if (keys.length) await link.redis.del(...keys);
  };

  for (const seed of [1, 2, 3, 4, 5, 6]) {
    it(`gives the same slots and windows as pacer.ts (random sequence, seed ${seed})`, async () => {
      const link = await open(`${schema}_diff${seed}`);
      const pacer = new RedisPacer(link, new RedisEpoch(link, store, silent, Date.now));
      const ref = new Reference();
      const r = random(seed);
      // Each window keeps one rule, as each quota key does: small or large limits; two merge slots (granularity); one
      // counts as empty after a loss, one as full for a time of its own, the others for their window length.
      const windows = Array.from({ length: 5 }, (_, i) => {
        const windowMs = r.int(20, 3_000);
        const rule: PaceRule = {
          limit: r.next() < 0.5 ? r.int(1, 25) : r.int(50, 500),
          windowMs,
          lateMs: r.int(0, 300),
          ...(i % 2 === 1 ? { granularityMs: r.pick([1, 5, 10, 20, 50, 100, r.int(1, 400)]) } : {}),
          ...(i === 2 ? { lostMs: 0 } : i === 3 ? { lostMs: r.int(1, 2 * windowMs) } : {}),
        };
        return { key: `w${i}`, rule };
      });
      let now = Date.now() + r.int(0, 10_000_000);
      let lastSlot: number | null = null;
      let losses = 0;
      let lostPending = false;
      let used = false;
      let helds = 0;
      for (let step = 0; step < 1_500; step++) {
        // Steps of round sizes too, so that slots fall exactly on rule boundaries (granularity, lateness) now and then.
        now += r.next() < 0.05 ? r.int(1_000, 8_000) : r.next() < 0.5 ? 5 * r.int(0, 20) : r.int(0, 120);
        const op = r.next();
        used ||= op >= 0.02;
        // The loss is found (and counted from) by the first step after it.
        if (lostPending && op >= 0.02) [ref.lost, lostPending] = [now, false];
        const calls: Reservation[] = [...new Set(Array.from({ length: r.int(1, 3) }, () => r.pick(windows)))].map((w) => ({
          ...w,
          weight: r.next() < 0.1 ? r.int(w.rule.limit, w.rule.limit + 10) : r.int(1, Math.max(1, Math.ceil(w.rule.limit / 3))),
        }));
        if (op < 0.02 && !used) continue;
        if (op < 0.02) {
          // Redis loses everything (a restart without persistence): the next step must find it and count from then.
          // (Before any step it would be a first start: nothing recorded yet.)
          await wipe(link);
          ref.windows.clear();
          lostPending = true;
          losses++;
        } else if (op < 0.12) {
          const w = r.pick(windows);
          const until = now + r.int(0, 4_000);
          ref.block(w, until, now);
          await pacer.block(w, until, now);
        } else if (op < 0.3) {
          expect(await pacer.peek(calls, now), `peek at step ${step}`).toBe(ref.peek(calls, now));
        } else {
          // Held: the last slot handed out (good, or late by now), one a little ahead or behind, or none.
          const held: number | null = r.next() < 0.4 && lastSlot !== null ? r.pick([lastSlot, lastSlot + r.int(-200, 200), now - r.int(0, 400)]) : null;
          const expected = ref.acquire(calls, now, held);
          const got = await pacer.acquire(calls, now, held);
          expect(got, `acquire at step ${step}`).toBe(expected);
          if (held !== null && got === held) helds++;
          lastSlot = got;
        }
        // After every step, the windows it touched hold the same slots.
        if (op >= 0.02 && (op >= 0.3 || op < 0.12)) for (const w of windows) expect(await stored(link, w.key), `${w.key} after step ${step}`).toEqual(ref.windows.get(w.key) ?? null);
      }
      // The sequence went through the paths that matter.
      expect(losses).toBeGreaterThan(0);
      expect(helds).toBeGreaterThan(0);
    }, 60_000);
  }

  it('a cluster\'s first start is not a loss; Redis coming back empty is, found by the first step after it, and declared once for the cluster', async () => {
    const link = await open(`${schema}_epoch`);
    const first = new RedisPacer(link, new RedisEpoch(link, store, silent, Date.now));
    const second = new RedisPacer(link, new RedisEpoch(link, store, silent, Date.now));
    const robot: Reservation = { key: 'robot:r', rule: { limit: 20, windowMs: 62_000, lateMs: 1_500 }, weight: 1 };
    const t0 = 1_000_000;
    // First start: 20 at once on both instances together.
    const slots = await Promise.all(Array.from({ length: 20 }, (_, i) => (i % 2 ? first : second).acquire([robot], t0)));
    expect(slots).toEqual(Array(20).fill(t0));
    expect(await link.redis.get(`${link.prefix}lost`)).toBeNull();
    expect(await second.acquire([robot], t0 + 10)).toBe(t0 + 62_001);
    // The keys carry the cluster's prefix and expire once idle (a few window lengths after their last slot).
    const ttl = await link.redis.pttl(`${link.prefix}pace:robot:r`);
    expect(ttl).toBeGreaterThan(62_001 + 2 * 62_000);
    expect(ttl).toBeLessThanOrEqual(62_001 - 10 + 3 * 62_000);
    // Redis comes back empty: the next reservation (on either instance) finds the loss and counts the window full.
    await wipe(link);
    const t1 = t0 + 5_000;
    const after = await Promise.all([first.acquire([robot], t1), second.acquire([robot], t1)]);
    expect(after.sort()).toEqual([t1 + 62_000, t1 + 62_000]);
    expect(await link.redis.get(`${link.prefix}lost`)).toBe(String(t1));
    // A window of another rule counts from the same moment; one that may be guessed empty (lostMs 0) is not held back.
    expect(await first.peek([{ key: 'app:k:/x', rule: { limit: 20, windowMs: 1_250, lateMs: 100 }, weight: 1 }], t1 + 100)).toBe(t1 + 1_250);
    expect(await first.peek([{ key: 'recipients:k', rule: { limit: 5_000, windowMs: 60_000, lateMs: 5_000, lostMs: 0 }, weight: 1 }], t1 + 100)).toBe(t1 + 100);
    // A Redis restored from an older snapshot (another epoch) is a loss too: its windows are not trusted.
    await link.redis.set(`${link.prefix}epoch`, 'an-old-snapshot');
    const t2 = t1 + 100_000;
    expect(await second.acquire([robot], t2)).toBe(t2 + 62_000);
    expect(await link.redis.get(`${link.prefix}lost`)).toBe(String(t2));
  });

  it('a held slot from before a loss is void: it is reserved again behind the lost window', async () => {
    const link = await open(`${schema}_held`);
    const pacer = new RedisPacer(link, new RedisEpoch(link, store, silent, Date.now));
    const robot: Reservation = { key: 'robot:h', rule: { limit: 20, windowMs: 62_000, lateMs: 1_500 }, weight: 1 };
    const held = await pacer.acquire([robot], 50_000);
    await wipe(link);
    expect(await pacer.acquire([robot], 50_100, held)).toBe(50_100 + 62_000);
  });

  it('Redis away: a step fails as "nothing sent, retry", not as a call that may have arrived', async () => {
    const link = await open(`${schema}_away`, 'redis://127.0.0.1:1');
    const pacer = new RedisPacer(link, new RedisEpoch(link, store, silent, Date.now));
    const err = await pacer.acquire([{ key: 'robot:x', rule: { limit: 20, windowMs: 62_000, lateMs: 1_500 }, weight: 1 }], 1_000).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DingTalkError);
    expect(err).toMatchObject({ errorClass: 'retry', mayHaveSucceeded: false });
  });
});
