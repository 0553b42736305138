import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseOrg, type RunningEmulator, startEmulator } from '@dingpush/emulator';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { DingpushClient } from '../src/server.js';
import { API_KEY, gatewayConfig, org, PG_URL, SEND, text, usePostgresSchema } from './helpers.js';
import { type Spawned, spawnDingpush } from './process.js';

const REDIS_URL = process.env.DINGPUSH_TEST_REDIS ?? 'redis://127.0.0.1:6379';

/**
 * Three `dingpush serve` processes on one PostgreSQL schema and one Redis. One is killed with SIGKILL in the middle of
 * 300 work notifications (its leases expire, the others finish its work), another stopped with SIGTERM in the middle
 * of a backlog (it finishes or releases what it holds and exits 0): every notification arrives exactly once.
 */
describe('cluster processes: kill -9 and SIGTERM in the middle of the work', () => {
  const schema = usePostgresSchema('cluster_proc');
  let emu: RunningEmulator;
  let configFile: string;
  const running: Spawned[] = [];
  beforeAll(async () => {
    emu = await startEmulator({ org: parseOrg(org({ deliveryMs: 20 })), port: 0 });
    const dir = mkdtempSync(join(tmpdir(), 'dingpush-cluster-proc-'));
    configFile = join(dir, 'dingpush.yaml');
    const config = gatewayConfig(emu.url, dir, {
      store: { postgres: PG_URL, schema, redis: REDIS_URL },
      delivery: { pollMs: 50, leaseMs: 1_500, backoffBaseMs: 50, backoffMaxMs: 300 },
      logLevel: 'warn',
    });
    writeFileSync(configFile, stringify(config));
  });
  afterAll(async () => {
    for (const p of running) if (p.child.exitCode === null) p.child.kill('SIGKILL');
    await emu?.close();
    const redis = new Redis(REDIS_URL, { maxRetriesPerRequest: 1 });
    const keys = await redis.keys(`dingpush:${schema}:*`);
    if (keys.length) await redis.del(...keys);
    redis.disconnect();
  });
  const start = async () => {
    const p = spawnDingpush(['serve', '--config', configFile]);
    running.push(p);
    const url = (await p.waitFor(/API:\s+(http:\/\/127\.0\.0\.1:\d+)/))[1]!;
    return { p, api: new DingpushClient({ url, apiKey: API_KEY }) };
  };
  const received = async (user: string, content: string) =>
    ((await (await fetch(`${emu.url}/_emulator/api/inbox/users/${user}`)).json()).messages as { message: { text?: { content: string } } }[]).filter(
      (m) => m.message.text?.content === content,
    ).length;
  const fault = (f: unknown) => fetch(`${emu.url}/_emulator/api/faults`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(f) });

  it('kill -9 of one of three in the middle of 120 work notifications: each arrives exactly once', async () => {
    const nodes = [await start(), await start(), await start()];
    // Slow sends, so that the killed process dies with calls in flight (their answers are lost with it).
    await fault({ path: SEND, kind: 'latency', latencyMs: 300, rate: 1 });
    const ids = await Promise.all(Array.from({ length: 120 }, (_, i) => nodes[i % 3]!.api.send({ to: { userIds: [`u${i}`] }, message: text(`kill ${i}`) }).then((r) => r.id)));
    const survivor = nodes[1]!.api;
    const done = async () => (await Promise.all(ids.map((id) => survivor.get(id)))).filter((n) => n.deliveries![0]!.status !== 'queued' && n.deliveries![0]!.status !== 'sending').length;
    await expect.poll(done, { timeout: 30_000, interval: 200 }).toBeGreaterThan(20);
    nodes[0]!.p.child.kill('SIGKILL');
    await nodes[0]!.p.exited;
    await fetch(`${emu.url}/_emulator/api/faults`, { method: 'DELETE' });
    for (const id of ids) {
      const d = (await survivor.waitFor(id, { timeoutMs: 60_000 })).deliveries![0]!;
      // A call in flight when its process died lost its answer: sent again, DingTalk's duplicate filter (143106)
      // proves the first arrival, and it stays `sent` (its read status needs the lost task id). Otherwise read/unread.
      if (d.status === 'sent') expect(d.reason).toMatch(/duplicate filter proves it/);
      else expect(['read', 'unread']).toContain(d.status);
    }
    const counts = await Promise.all(ids.map((_, i) => received(`u${i}`, `kill ${i}`)));
    expect(counts.filter((n) => n !== 1)).toEqual([]);

    // SIGTERM (a rolling upgrade) in the middle of a backlog: it exits 0, the other finishes, nothing twice.
    await fault({ path: SEND, kind: 'latency', latencyMs: 300, rate: 1 });
    const more = await Promise.all(Array.from({ length: 40 }, (_, i) => nodes[1 + (i % 2)]!.api.send({ to: { userIds: [`u${i}`] }, message: text(`term ${i}`) }).then((r) => r.id)));
    await new Promise((r) => setTimeout(r, 500));
    nodes[2]!.p.child.kill('SIGTERM');
    expect(await nodes[2]!.p.exited).toBe(0);
    await fetch(`${emu.url}/_emulator/api/faults`, { method: 'DELETE' });
    for (const id of more) expect(['read', 'unread']).toContain((await survivor.waitFor(id, { timeoutMs: 60_000 })).deliveries![0]!.status);
    const termCounts = await Promise.all(more.map((_, i) => received(`u${i}`, `term ${i}`)));
    expect(termCounts.filter((n) => n !== 1)).toEqual([]);
  }, 150_000);
});
