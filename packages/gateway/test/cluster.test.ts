import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseOrg, type RunningEmulator, startEmulator } from '@dingpush/emulator';
import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { openRedis } from '../src/cluster/redis-link.js';
import { RedisTokenStore } from '../src/cluster/token-store.js';
import { createLogger } from '../src/observability/logger.js';
import { type ConfigInput, DingpushClient, parseConfig, type RunningGateway, startGateway } from '../src/server.js';
import { ownRedisServer } from './own-redis.js';
import { API_KEY, busiestMinute, type EmulatorCall, gatewayConfig, org, PG_URL, SEND, text, usePostgresSchema } from './helpers.js';

/**
 * Cluster mode: several gateways on one PostgreSQL schema and one Redis share tokens and wake-ups (quotas and windows
 * live in the shared store). Each test's Redis keys carry its own schema name, so runs never share state.
 */

const REDIS_URL = process.env.DINGPUSH_TEST_REDIS ?? 'redis://127.0.0.1:6379';
const TOKEN_PATHS = ['/gettoken', '/v1.0/oauth2/accessToken'];

interface Cluster {
  emu: RunningEmulator;
  gateways: RunningGateway[];
  api: DingpushClient[];
  calls(): Promise<EmulatorCall[]>;
  /** Moves the gateways' and the emulator's clocks forward together. */
  advance(ms: number): Promise<void>;
  now(): number;
  /** The PostgreSQL schema, which names the cluster (its Redis keys' prefix). */
  schema: string;
}

function useCluster(
  name: string,
  opts: { instances: number; redis?: () => string; config?: Partial<ConfigInput>; dispatch?: boolean[]; configure?: (c: ConfigInput) => void },
): Cluster {
  const schema = usePostgresSchema(name);
  const c = { gateways: [], api: [], schema } as unknown as Cluster;
  beforeAll(async () => {
    c.emu = await startEmulator({ org: parseOrg(org()), port: 0 });
    const input = gatewayConfig(c.emu.url, mkdtempSync(join(tmpdir(), 'dingpush-cluster-')), {
      ...opts.config,
      store: { postgres: PG_URL, schema, redis: opts.redis?.() ?? REDIS_URL },
    });
    opts.configure?.(input);
    const config = parseConfig(input);
    let offset = 0;
    c.now = () => Date.now() + offset;
    c.advance = async (ms) => {
      offset += ms;
      await fetch(`${c.emu.url}/_emulator/api/clock`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ advanceMs: ms }) });
      for (const gw of c.gateways) gw.runtime.wake();
    };
    for (let i = 0; i < opts.instances; i++) {
      const gw = await startGateway(config, { dispatch: opts.dispatch?.[i] ?? true, now: c.now });
      c.gateways.push(gw);
      c.api.push(new DingpushClient({ url: gw.url, apiKey: API_KEY }));
    }
    c.calls = async () => (await (await fetch(`${c.emu.url}/_emulator/api/calls`)).json()).calls;
  });
  afterAll(async () => {
    for (const gw of c.gateways) await gw.close();
    await c.emu?.close();
    const redis = new Redis(opts.redis?.() ?? REDIS_URL, { lazyConnect: true, maxRetriesPerRequest: 1, retryStrategy: () => null });
    redis.on('error', () => {});
    await redis.connect().catch(() => {});
    if (redis.status === 'ready') {
      const keys = await redis.keys(`dingpush:${schema}:*`);
      if (keys.length) await redis.del(...keys);
    }
    redis.disconnect();
  });
  return c;
}

describe('three gateways on PostgreSQL and Redis', () => {
  const c = useCluster('cluster', { instances: 3 });

  it('300 work notifications to 300 people accepted across three instances: each arrives once, and the cluster fetches one token', async () => {
    const ids = await Promise.all(
      Array.from({ length: 300 }, (_, i) => c.api[i % 3]!.send({ to: { userIds: [`u${i}`] }, message: text(`cluster ${i}`) }).then((r) => r.id)),
    );
    for (const id of ids) {
      // Paced at the app's 16 calls a second (300 sends and their read checks): about 40 s on a quiet machine, and
      // the whole suite beside it on two cores can double that. Correctness is asserted here, speed in bench/.
      const n = await c.api[0]!.waitFor(id, { timeoutMs: 150_000 });
      expect(['read', 'unread']).toContain(n.deliveries![0]!.status);
    }
    for (let i = 0; i < 300; i++) {
      const inbox = (await (await fetch(`${c.emu.url}/_emulator/api/inbox/users/u${i}`)).json()).messages;
      expect(inbox.filter((m: { message: { text?: { content: string } } }) => m.message.text?.content === `cluster ${i}`)).toHaveLength(1);
    }
    const calls = await c.calls();
    expect(calls.filter((x) => TOKEN_PATHS.includes(x.path))).toHaveLength(1);
  }, 180_000);

  it('a revoked token is fetched again once for the cluster, however many instances see the error', async () => {
    const before = (await c.calls()).filter((x) => TOKEN_PATHS.includes(x.path)).length;
    await fetch(`${c.emu.url}/_emulator/api/faults`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ path: SEND, kind: 'revokeToken', count: 1 }),
    });
    const ids = await Promise.all(Array.from({ length: 30 }, (_, i) => c.api[i % 3]!.send({ to: { userIds: [`u${i}`] }, message: text(`after revoke ${i}`) }).then((r) => r.id)));
    for (const id of ids) expect(['read', 'unread', 'sent']).toContain((await c.api[0]!.waitFor(id, { timeoutMs: 60_000 })).deliveries![0]!.status);
    const fetched = (await c.calls()).filter((x) => TOKEN_PATHS.includes(x.path)).length - before;
    // Whichever instance sees the revocation first refreshes; the others find its token (compare-and-delete, fetch lock).
    expect(fetched).toBe(1);
  }, 90_000);
});

describe('a robot backlog across three instances', () => {
  // One message a slot, in order (digest: false), the whole minute for them (no reserve for urgent ones).
  const c = useCluster('cluster_robot', {
    instances: 3,
    config: { delivery: { pollMs: 20, backoffBaseMs: 50, backoffMaxMs: 300, robotReserve: 0 } },
    configure: (input) => {
      for (const r of input.robots ?? []) r.digest = false;
    },
  });

  it('50 robot messages accepted across three instances: in acceptance order, never more than 20 in a minute, none refused', async () => {
    const accepted: string[] = [];
    for (let i = 0; i < 50; i++) {
      const content = `cluster backlog ${String(i).padStart(2, '0')}`;
      await c.api[i % 3]!.send({ to: { robots: ['ops'] }, message: text(content) });
      accepted.push(content);
    }
    const arrived = async () =>
      ((await (await fetch(`${c.emu.url}/_emulator/api/inbox/robots/ops`)).json()).messages as { message: { text: { content: string } } }[])
        .map((m) => m.message.text.content)
        .filter((x) => x.startsWith('cluster backlog '));
    const robotCalls = async () => (await c.calls()).filter((x) => x.path === '/robot/send');
    let firstSlot = 0;
    for (const [window, expected] of [20, 40, 50].entries()) {
      await expect.poll(async () => (await arrived()).length, { timeout: 10_000, interval: 50 }).toBe(expected);
      if (window === 0) {
        firstSlot = (await robotCalls())[0]!.time;
        // The dashboard's view of the robot's minute is the shared one (Redis), whichever instance is asked.
        for (const gw of c.gateways) {
          const view = await (await fetch(`${gw.url}/v1/destinations`, { headers: { authorization: `Bearer ${API_KEY}` } })).json();
          expect(view.robots.find((r: { name: string }) => r.name === 'ops').quota).toMatchObject({ used: 20, limit: 20 });
        }
      }
      // Nothing more goes until the minute has passed, whichever instance holds the next job.
      await new Promise((r) => setTimeout(r, 200));
      expect((await arrived()).length).toBe(expected);
      if (expected < 50) await c.advance(firstSlot + (window + 1) * 62_001 + 20 - c.now());
    }
    expect(await arrived()).toEqual(accepted);
    const calls = await robotCalls();
    expect(calls.filter((x) => x.errcode !== 0)).toEqual([]);
    expect(busiestMinute(calls)).toBe(20);
  }, 60_000);
});

describe('the shared token store', () => {
  it('a fetch lock that expired and was taken by another is not given back by its first holder', async () => {
    const link = openRedis(REDIS_URL, `dingpush_lock_${process.pid}_${Date.now()}`, 'http://dingtalk.test', createLogger('silent'));
    await link.ready(2_000);
    try {
      const store = new RedisTokenStore(link);
      const first = await store.lock('app', 100);
      expect(first).not.toBeNull();
      expect(await store.lock('app', 100)).toBeNull();
      await new Promise((r) => setTimeout(r, 150));
      const second = await store.lock('app', 5_000);
      expect(second).not.toBeNull();
      // The slow first holder finishes and gives back what it no longer holds: the second's lock stands.
      await store.unlock('app', first!);
      expect(await store.lock('app', 5_000)).toBeNull();
      await store.unlock('app', second!);
      expect(await store.lock('app', 100)).not.toBeNull();
      // A token is deleted only while it is still the stored one.
      await store.set('app', { token: 'T2', expiresAt: Date.now() + 60_000 });
      await store.delete('app', 'T1');
      expect((await store.get('app'))?.token).toBe('T2');
      await store.delete('app', 'T2');
      expect(await store.get('app')).toBeUndefined();
    } finally {
      const keys = await link.redis.keys(`${link.prefix}*`);
      if (keys.length) await link.redis.del(...keys);
      await link.close();
    }
  });
});

describe('wake-ups across instances', () => {
  // The accepting instance runs no dispatcher; the other polls only every 5 s: only a wake-up gets the work out fast.
  const c = useCluster('cluster_wake', { instances: 2, dispatch: [false, true], config: { delivery: { pollMs: 5_000, backoffBaseMs: 50, backoffMaxMs: 500 } } });

  it('a notification accepted on one instance is claimed by another at once, not at its next poll', async () => {
    // Let the dispatcher settle into its long poll first.
    await new Promise((r) => setTimeout(r, 1_000));
    const started = Date.now();
    const { id } = await c.api[0]!.send({ to: { robots: ['ops'] }, message: text('wake up') });
    await expect.poll(async () => (await c.api[0]!.get(id)).deliveries![0]!.status, { timeout: 4_000, interval: 20 }).toBe('sent');
    expect(Date.now() - started).toBeLessThan(2_000);
  });

  it('a burst of accepts is a few announcements, not one each: every one still reaches the other instance', async () => {
    // Every announcement costs each instance a claim on the shared store: one per accept made them claim at the accept rate.
    const sub = new Redis(REDIS_URL);
    const heard: string[] = [];
    await sub.psubscribe(`dingpush:${c.schema}:*wake`);
    sub.on('pmessage', (_p: string, _ch: string, message: string) => heard.push(message));
    const started = Date.now();
    const ids = await Promise.all(Array.from({ length: 200 }, (_, i) => c.api[0]!.send({ to: { userIds: [`u${i}`] }, message: text(`burst ${i}`) }).then((r) => r.id)));
    const took = Date.now() - started;
    await new Promise((r) => setTimeout(r, 100));
    await sub.quit();
    // At most one every 50 ms, and the first at once; each names the work (send jobs to the app), not just "look".
    expect(heard.length).toBeGreaterThan(0);
    expect(heard.length).toBeLessThanOrEqual(Math.ceil(took / 50) + 2);
    expect(heard.length).toBeLessThan(200);
    expect(JSON.parse(heard[0]!).due).toEqual([expect.objectContaining({ kind: 'send', channel: 'work_notice' })]);
    // Nothing is left waiting for the 5 s poll.
    // (200 sends at the app's 16 calls a second, tracking looks sharing them: about 20 s.)
    for (const id of ids.slice(-5)) await c.api[0]!.waitFor(id, { timeoutMs: 45_000, until: (n) => n.deliveries!.every((d) => d.status !== 'queued') });
  }, 80_000);
});

/** A Redis server of the describe's own (a restart comes back empty), which its tests may kill; started again after each. */
function useOwnRedis() {
  const own = ownRedisServer();
  beforeAll(own.start);
  afterEach(async () => {
    if (!own.running()) await own.start();
  });
  afterAll(own.cleanup);
  return { url: own.url, start: own.start, stop: own.kill };
}

describe('Redis away', () => {
  const own = useOwnRedis();
  const [startRedis, stopRedis] = [own.start, own.stop];
  const c = useCluster('cluster_redis_down', { instances: 2, redis: own.url, config: { delivery: { pollMs: 50, backoffBaseMs: 50, backoffMaxMs: 500 } } });

  it('Redis stalls (connected, not answering) while a chat message is sent: nothing reached DingTalk, so it is retried and arrives once, not failed as a lost answer', async () => {
    const admin = new Redis(own.url());
    admin.on('error', () => {});
    // Tokens live in Redis only: drop them, so that the send must read Redis while it stalls.
    await admin.flushall();
    await admin.call('CLIENT', 'PAUSE', '3000', 'ALL');
    const { id } = await c.api[0]!.send({ to: { chats: ['chat1'] }, message: text('during a Redis stall') });
    const n = await c.api[0]!.waitFor(id, { timeoutMs: 20_000 });
    admin.disconnect();
    expect(n.deliveries![0]).toMatchObject({ status: 'sent' });
    const inbox = (await (await fetch(`${c.emu.url}/_emulator/api/inbox/chats/chat1`)).json()).messages as { message: { text?: { content: string } } }[];
    expect(inbox.filter((m) => m.message.text?.content === 'during a Redis stall')).toHaveLength(1);
  }, 30_000);

  it('accepts go on, sends wait (nothing guessed), /readyz says why with 200, and everything goes once Redis is back empty', async () => {
    const first = await c.api[0]!.send({ to: { userIds: ['u1'] }, message: text('before the outage') });
    expect(['read', 'unread']).toContain((await c.api[0]!.waitFor(first.id, { timeoutMs: 10_000 })).deliveries![0]!.status);
    await stopRedis();
    const ready = await fetch(`${c.gateways[1]!.url}/readyz`);
    expect(ready.status).toBe(200);
    expect(await ready.json()).toMatchObject({ ok: true, degraded: expect.stringMatching(/Redis at 127\.0\.0\.1:\d+ is/) });
    expect(await (await fetch(`${c.gateways[1]!.url}/metrics`)).text()).toMatch(/^dingpush_degraded 1$/m);
    const during = await Promise.all(Array.from({ length: 10 }, (_, i) => c.api[i % 2]!.send({ to: { userIds: [`u${10 + i}`] }, message: text(`during ${i}`) }).then((r) => r.id)));
    await new Promise((r) => setTimeout(r, 1_500));
    for (const id of during) expect((await c.api[0]!.get(id)).deliveries![0]!.status).toBe('queued');
    await startRedis();
    for (const id of during) expect(['read', 'unread']).toContain((await c.api[1]!.waitFor(id, { timeoutMs: 20_000 })).deliveries![0]!.status);
    expect(await (await fetch(`${c.gateways[1]!.url}/readyz`)).json()).not.toHaveProperty('degraded');
    const metrics = await (await fetch(`${c.gateways[1]!.url}/metrics`)).text();
    expect(metrics).toMatch(/^dingpush_degraded 0$/m);
    expect(metrics).toMatch(/^dingpush_jobs_held \d+$/m);
    for (let i = 0; i < 10; i++) {
      const inbox = (await (await fetch(`${c.emu.url}/_emulator/api/inbox/users/u${10 + i}`)).json()).messages;
      expect(inbox.filter((m: { message: { text?: { content: string } } }) => m.message.text?.content === `during ${i}`)).toHaveLength(1);
    }
  }, 60_000);
});

describe('Redis lost the robot windows', () => {
  const own = useOwnRedis();
  const c = useCluster('cluster_redis_lost', {
    instances: 2,
    redis: own.url,
    config: { delivery: { pollMs: 20, backoffBaseMs: 50, backoffMaxMs: 300, robotReserve: 0 } },
    configure: (input) => {
      for (const r of input.robots ?? []) r.digest = false;
    },
  });
  const arrived = async () =>
    ((await (await fetch(`${c.emu.url}/_emulator/api/inbox/robots/ops`)).json()).messages as { message: { text: { content: string } } }[]).map((m) => m.message.text.content);
  const robotCalls = async () => (await c.calls()).filter((x) => x.path === '/robot/send');

  it('a fresh cluster takes its first 20 at once; Redis restarted empty after them: the lost minute counts as full, never as empty', async () => {
    const accepted: string[] = [];
    const send = async (i: number) => {
      const content = `lost window ${String(i).padStart(2, '0')}`;
      await c.api[i % 2]!.send({ to: { robots: ['ops'] }, message: text(content) });
      accepted.push(content);
    };
    // A cluster's first start (no epoch in Redis or PostgreSQL) is no loss: the robot's burst of 20 goes at once (a
    // window counted full would hold them for a minute of a clock that does not move unless the test moves it).
    for (let i = 0; i < 20; i++) await send(i);
    await expect.poll(async () => (await arrived()).length, { timeout: 10_000, interval: 50 }).toBe(20);
    const admin = new Redis(own.url());
    admin.on('error', () => {});
    expect(await admin.keys('*:lost')).toEqual([]);
    admin.disconnect();

    // Redis restarts empty: the window of those 20 calls is gone from it.
    await own.stop();
    await own.start();
    for (const gw of c.gateways) await expect.poll(async () => (await (await fetch(`${gw.url}/readyz`)).json()).degraded, { timeout: 10_000, interval: 50 }).toBeUndefined();
    for (let i = 20; i < 30; i++) await send(i);
    // No call is made within the minute: the window Redis lost counts as full from the moment the loss was found
    // (counted as empty, they would go at once, and DingTalk would answer 130101 and block the robot for ten minutes).
    await new Promise((r) => setTimeout(r, 1_500));
    expect((await robotCalls()).length).toBe(20);
    await c.advance(62_001);
    await expect.poll(async () => (await arrived()).length, { timeout: 10_000, interval: 50 }).toBe(30);
    expect(await arrived()).toEqual(accepted);
    const calls = await robotCalls();
    expect(calls.filter((x) => x.errcode !== 0)).toEqual([]);
    // Counting the calls made before the loss: never more than 20 in any minute.
    expect(busiestMinute(calls)).toBe(20);
  }, 60_000);
});
