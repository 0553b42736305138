import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseOrg, type RunningEmulator, startEmulator } from '@dingpush/emulator';
import { stringify } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DingpushClient, parseConfig, type RunningGateway, startGateway } from '../src/server.js';
import { API_KEY, gatewayConfig, org } from './helpers.js';
import { spawnDingpush } from './process.js';
import { mountTmpfs, remount, type Tmpfs } from './tmpfs.js';

const clean = mountTmpfs(16 * 1024, 'dingpush-ro-');
const killed = mountTmpfs(16 * 1024, 'dingpush-ro-killed-');
const skipped = (disk: Tmpfs) => (disk.skip ? ` (skipped: ${disk.skip})` : '');

/** The gateway on a store it cannot write: it starts, reads answer, /readyz and POST say 503. */
async function expectReadOnlyGateway(gw: RunningGateway, earlier: string) {
  const ready = await fetch(`${gw.url}/readyz`);
  expect(ready.status).toBe(503);
  expect(await ready.json()).toEqual({ ok: false, reason: expect.stringContaining('the store cannot write') });
  expect((await fetch(`${gw.url}/healthz`)).status).toBe(200);
  for (let i = 0; i < 3; i++) {
    const res = await fetch(`${gw.url}/v1/notifications`, {
      method: 'POST',
      headers: { authorization: `Bearer ${API_KEY}`, 'content-type': 'application/json' },
      body: JSON.stringify({ to: { userIds: ['u2'] }, message: { type: 'text', content: `read-only ${i}` } }),
    });
    expect(res.status).toBe(503);
    expect(await res.json()).toEqual({ error: { code: 'store_unavailable', message: expect.stringContaining('nothing was stored') } });
  }
  const api = new DingpushClient({ url: gw.url, apiKey: API_KEY });
  expect((await api.get(earlier)).id).toBe(earlier);
  expect((await api.list()).items.map((n) => n.id)).toEqual([earlier]);
}

describe('a read-only SQLite store', () => {
  let emu: RunningEmulator;
  let gw: RunningGateway | undefined;
  beforeAll(async () => {
    emu = await startEmulator({ org: parseOrg(org({ deliveryMs: 20 })), port: 0 });
  });
  afterAll(async () => {
    await gw?.close();
    await emu?.close();
    for (const disk of [clean, killed]) if (disk.skip === undefined) disk.unmount();
  });

  it.skipIf(clean.skip !== undefined)(`migrated and closed cleanly, then the file system goes read-only${skipped(clean)}`, async () => {
    if (clean.skip !== undefined) return;
    // A gateway creates and migrates the database, delivers one notification, and stops (no -wal file is left).
    const first = await startGateway(parseConfig(gatewayConfig(emu.url, clean.dir)));
    let earlier: string;
    try {
      const api = new DingpushClient({ url: first.url, apiKey: API_KEY });
      earlier = (await api.send({ to: { userIds: ['u1'] }, message: { type: 'text', content: 'before read-only' } })).id;
      await api.waitFor(earlier, { timeoutMs: 15_000 });
    } finally {
      await first.close();
    }
    expect(existsSync(join(clean.dir, 'dingpush.db-wal'))).toBe(false);
    // chmod does not stop root: the file system itself goes read-only.
    remount(clean.dir, 'ro');
    gw = await startGateway(parseConfig(gatewayConfig(emu.url, clean.dir)));
    await expectReadOnlyGateway(gw, earlier);
    await gw.close();
    gw = undefined;
  });

  it.skipIf(killed.skip !== undefined)(`a gateway process killed (its -wal and -shm left behind), then the file system goes read-only${skipped(killed)}`, async () => {
    if (killed.skip !== undefined) return;
    const configFile = join(killed.dir, 'dingpush.yaml');
    writeFileSync(configFile, stringify(gatewayConfig(emu.url, killed.dir)));
    const proc = spawnDingpush(['serve', '--config', configFile]);
    let earlier: string;
    try {
      const url = (await proc.waitFor(/API:\s+(http:\/\/127\.0\.0\.1:\d+)/))[1]!;
      const api = new DingpushClient({ url, apiKey: API_KEY });
      earlier = (await api.send({ to: { userIds: ['u3'] }, message: { type: 'text', content: 'before the kill' } })).id;
      await api.waitFor(earlier, { timeoutMs: 15_000 });
    } finally {
      proc.child.kill('SIGKILL');
      await proc.exited;
    }
    expect(existsSync(join(killed.dir, 'dingpush.db-wal'))).toBe(true);
    remount(killed.dir, 'ro');
    gw = await startGateway(parseConfig(gatewayConfig(emu.url, killed.dir)));
    await expectReadOnlyGateway(gw, earlier);
  });
});
