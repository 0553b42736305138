import { copyFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseOrg, type RunningEmulator, startEmulator } from '@dingpush/emulator';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DingpushClient, parseConfig, type RunningGateway, startGateway } from '../src/server.js';
import { API_KEY, gatewayConfig, org, text } from './helpers.js';

/** A database written by the previous release (test/fixtures/README.md), opened by this one. */
describe('upgrading from the previous release', () => {
  let emu: RunningEmulator;
  let gw: RunningGateway;
  let api: DingpushClient;
  let offset = 0;
  beforeAll(async () => {
    const dir = mkdtempSync(join(tmpdir(), 'dingpush-upgrade-'));
    copyFileSync(new URL('./fixtures/v0.1.0.sqlite', import.meta.url).pathname, join(dir, 'dingpush.db'));
    emu = await startEmulator({ org: parseOrg(org()), port: 0 });
    gw = await startGateway(parseConfig(gatewayConfig(emu.url, dir, { delivery: { pollMs: 20 } })), { now: () => Date.now() + offset });
    api = new DingpushClient({ url: gw.url, apiKey: API_KEY });
  });
  afterAll(async () => {
    await gw?.close();
    await emu?.close();
  });

  it('migrates the schema, keeps every notification readable and its idempotency key bound, and sends old and new work', async () => {
    const { items } = await api.list({ limit: 10 });
    expect(items.map((n) => [n.idempotencyKey ?? null, n.status])).toEqual([
      ['upgrade-2', 'queued'],
      [null, 'completed'],
      ['upgrade-1', 'completed'],
    ]);
    const delivered = await api.get(items[2]!.id);
    expect(delivered.deliveries!.map((d) => [d.recipient, d.status])).toEqual([
      ['u1', expect.stringMatching(/^(read|unread)$/)],
      ['u2', expect.stringMatching(/^(read|unread)$/)],
    ]);
    // The same idempotency key answers the same notification across the upgrade.
    const replay = await api.send({ to: { userIds: ['u3'] }, message: text('scheduled across the upgrade'), sendAt: '2030-01-01T00:00:00Z', idempotencyKey: 'upgrade-2' });
    expect(replay).toMatchObject({ id: items[0]!.id, replayed: true });
    // New work goes out; the job the previous release scheduled runs when its time comes.
    const fresh = await api.send({ to: { userIds: ['u4'], robots: ['ops'] }, message: text('after the upgrade') });
    expect((await api.waitFor(fresh.id, { timeoutMs: 10_000 })).status).toBe('completed');
    offset = Date.parse('2030-01-01T00:00:01Z') - Date.now();
    await fetch(`${emu.url}/_emulator/api/clock`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ advanceMs: offset }) });
    gw.runtime.wake();
    const scheduled = await api.waitFor(items[0]!.id, { timeoutMs: 10_000 });
    expect(['read', 'unread']).toContain(scheduled.deliveries![0]!.status);
    expect((await (await fetch(`${emu.url}/_emulator/api/inbox/users/u3`)).json()).messages.map((m: { message: { text: { content: string } } }) => m.message.text.content)).toEqual([
      'scheduled across the upgrade',
    ]);
  });
});
