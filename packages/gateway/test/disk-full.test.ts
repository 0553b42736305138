import { join } from 'node:path';
import { parseOrg, type RunningEmulator, startEmulator } from '@dingpush/emulator';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DingpushClient, parseConfig, type RunningGateway, startGateway } from '../src/server.js';
import { API_KEY, gatewayConfig, org } from './helpers.js';
import { fillDisk, freeDisk, mountTmpfs } from './tmpfs.js';

// 16 MB: SQLite's WAL grows to about 4 MB before it is checkpointed (1000 pages), so a smaller disk fills up again
// by itself after the test frees its filler.
const disk = mountTmpfs(16 * 1024, 'dingpush-full-');

describe.skipIf(disk.skip !== undefined)(`a full disk under the SQLite store${disk.skip ? ` (skipped: ${disk.skip})` : ''}`, () => {
  const dir = disk.skip === undefined ? disk.dir : '';
  const filler = join(dir, 'filler');
  let emu: RunningEmulator;
  let gw: RunningGateway;
  let api: DingpushClient;

  beforeAll(async () => {
    emu = await startEmulator({ org: parseOrg(org({ deliveryMs: 20 })), port: 0 });
    // Slow pacing: part of what was accepted before the disk filled is still queued while it is full.
    const config = gatewayConfig(emu.url, dir, { delivery: { appCallsPerSecond: 4, backoffBaseMs: 50, backoffMaxMs: 500, pollMs: 50, leaseMs: 1_500 } });
    gw = await startGateway(parseConfig(config));
    api = new DingpushClient({ url: gw.url, apiKey: API_KEY });
  });
  afterAll(async () => {
    await gw?.close();
    await emu?.close();
    if (disk.skip === undefined) disk.unmount();
  });

  const post = async (i: number) => {
    const res = await fetch(`${gw.url}/v1/notifications`, {
      method: 'POST',
      headers: { authorization: `Bearer ${API_KEY}`, 'content-type': 'application/json', 'idempotency-key': `disk-${i}` },
      body: JSON.stringify({ to: { userIds: [`u${i % 300}`] }, message: { type: 'text', content: `disk test ${i}` } }),
    });
    return { status: res.status, body: (await res.json()) as Record<string, any> };
  };
  const get = async (path: string) => {
    const res = await fetch(`${gw.url}${path}`);
    return { status: res.status, body: (await res.json()) as Record<string, any> };
  };

  it('refuses with 503 store_unavailable while the disk is full, recovers when space is freed, and loses nothing accepted', async () => {
    const accepted = new Map<number, string>();
    const refused = new Set<number>();
    let i = 0;
    for (; i < 12; i++) {
      const r = await post(i);
      expect(r.status).toBe(202);
      accepted.set(i, r.body.id);
    }
    expect((await get('/readyz')).status).toBe(200);

    const filled = fillDisk(filler);
    expect(filled).toBeGreaterThan(0);
    // SQLite may still have room in pages it already holds: send until the store refuses (bounded).
    const statuses: number[] = [];
    for (; refused.size < 5 && i < 1_000; i++) {
      const r = await post(i);
      statuses.push(r.status);
      if (r.status === 202) accepted.set(i, r.body.id);
      else {
        expect(r.status).toBe(503);
        expect(r.body).toEqual({ error: { code: 'store_unavailable', message: expect.stringContaining('nothing was stored') } });
        refused.add(i);
      }
    }
    expect(refused.size, `answers after the disk filled: ${statuses.join(',')}`).toBe(5);

    const ready = await get('/readyz');
    expect(ready).toEqual({ status: 503, body: { ok: false, reason: expect.stringContaining('the store cannot write') } });
    expect(await get('/healthz')).toEqual({ status: 200, body: { ok: true } });
    // Still full: every send is refused the same way, none is half-stored.
    for (let k = 0; k < 5; k++, i++) {
      const r = await post(i);
      expect(r.status).toBe(503);
      expect(r.body.error.code).toBe('store_unavailable');
      refused.add(i);
    }

    // Stay full a while: the dispatcher meets the full disk too (claims, records of sends it made).
    await new Promise((r) => setTimeout(r, 1_500));
    expect((await get('/readyz')).status).toBe(503);

    freeDisk(filler);
    const deadline = Date.now() + 10_000;
    while ((await get('/readyz')).status !== 200) {
      expect(Date.now()).toBeLessThan(deadline);
      await new Promise((r) => setTimeout(r, 100));
    }
    const after = await post(i);
    expect(after.status).toBe(202);
    accepted.set(i, after.body.id);

    // Nothing accepted is lost; nothing refused was stored.
    const keys = new Set<string>();
    for (let cursor: string | null = null; ; ) {
      const page = await api.list({ limit: 500, ...(cursor ? { cursor } : {}) });
      for (const n of page.items) keys.add(n.idempotencyKey!);
      cursor = page.nextCursor;
      if (!cursor) break;
    }
    expect([...keys].sort()).toEqual([...accepted.keys()].map((k) => `disk-${k}`).sort());
    for (const k of refused) expect(keys.has(`disk-${k}`)).toBe(false);

    for (const [k, id] of accepted) {
      const n = await api.waitFor(id, { timeoutMs: 60_000, intervalMs: 200 });
      // A send whose outcome could not be written (the disk filled right after the call) is a lost answer: sent again,
      // DingTalk's duplicate filter proves the first arrived — `sent`, its read status unknowable — and never twice.
      const d = n.deliveries![0]!;
      const proven = d.status === 'sent' && (d.reason ?? '').includes('delivered by an earlier attempt whose answer was lost');
      expect(proven || ['read', 'unread'].includes(d.status), `disk-${k}: ${JSON.stringify(n.deliveries)}`).toBe(true);
    }
    for (const k of accepted.keys()) {
      const inbox = (await (await fetch(`${emu.url}/_emulator/api/inbox/users/u${k % 300}`)).json()).messages as { message: { text: { content: string } } }[];
      expect(inbox.filter((m) => m.message.text.content === `disk test ${k}`)).toHaveLength(1);
    }
    for (const k of refused) {
      const inbox = (await (await fetch(`${emu.url}/_emulator/api/inbox/users/u${k % 300}`)).json()).messages as { message: { text: { content: string } } }[];
      expect(inbox.filter((m) => m.message.text.content === `disk test ${k}`)).toHaveLength(0);
    }
    console.info(`disk full: ${accepted.size} accepted (${statuses.filter((s) => s === 202).length} after filling ${filled} bytes), ${refused.size} refused`);
  }, 120_000);
});
