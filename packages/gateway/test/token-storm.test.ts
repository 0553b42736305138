import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseOrg, type RunningEmulator, startEmulator } from '@dingpush/emulator';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DingpushClient, parseConfig, type RunningGateway, startGateway } from '../src/server.js';
import { API_KEY, gatewayConfig, org, SEND } from './helpers.js';

const TOKEN_PATHS = ['/v1.0/oauth2/accessToken', '/gettoken'];
const CONCURRENCY = 16;

interface Call {
  time?: number;
  path: string;
  status: number;
  errcode?: number | string;
}

describe('a revoked token under load ("200 sends cost 235 token fetches and 1 068 failing calls")', () => {
  let emu: RunningEmulator;
  let gw: RunningGateway;
  let api: DingpushClient;

  beforeAll(async () => {
    emu = await startEmulator({ org: parseOrg(org({ deliveryMs: 20, readAfterMs: 200 })), port: 0 });
    const config = gatewayConfig(emu.url, mkdtempSync(join(tmpdir(), 'dingpush-storm-')), {
      delivery: { concurrency: CONCURRENCY, backoffBaseMs: 50, backoffMaxMs: 500, pollMs: 50 },
    });
    gw = await startGateway(parseConfig(config));
    api = new DingpushClient({ url: gw.url, apiKey: API_KEY });
  });
  afterAll(async () => {
    await gw?.close();
    await emu?.close();
  });

  const calls = async (path?: string): Promise<Call[]> =>
    (await (await fetch(`${emu.url}/_emulator/api/calls${path ? `?path=${encodeURIComponent(path)}` : ''}`)).json()).calls;
  const tokenFetches = async () => (await Promise.all(TOKEN_PATHS.map((p) => calls(p)))).flat().length;
  /** DingTalk's answers for a token it does not take (oapi 88 with a token sub-code, 400xx; the new API's 401). */
  const rejectedToken = (c: Call) => [88, 40001, 40014, 42001, 33001, 'InvalidAuthentication'].includes(c.errcode as number);

  it('200 work notifications to 200 users, the token revoked mid-run: one extra token fetch, few failing calls, all delivered', async () => {
    const fault = (f: Record<string, unknown>) =>
      fetch(`${emu.url}/_emulator/api/faults`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(f) });
    // Slow answers keep as many sends in flight as the dispatcher runs at once.
    const slow = { path: SEND, kind: 'latency', latencyMs: 1_000, rate: 1 };
    await fault(slow);
    const sent = await Promise.all(
      Array.from({ length: 200 }, (_, i) => api.send({ to: { userIds: [`u${i}`] }, message: { type: 'text', content: `storm ${i}` } })),
    );
    // Revoke every token once the run is going: the calls in flight then all fail at once.
    const deadline = Date.now() + 20_000;
    while ((await calls(SEND)).length < 40) {
      expect(Date.now()).toBeLessThan(deadline);
      await new Promise((r) => setTimeout(r, 20));
    }
    expect(await tokenFetches()).toBe(1);
    // Faults apply in the order they were added: the revocation goes before the latency.
    await fetch(`${emu.url}/_emulator/api/faults`, { method: 'DELETE' });
    await fault({ path: SEND, kind: 'revokeToken', count: 1 });
    await fault(slow);

    for (const { id } of sent) {
      const n = await api.waitFor(id, { timeoutMs: 60_000, intervalMs: 200 });
      expect(['read', 'unread']).toContain(n.deliveries![0]!.status);
    }
    for (let i = 0; i < 200; i++) {
      const inbox = (await (await fetch(`${emu.url}/_emulator/api/inbox/users/u${i}`)).json()).messages as { message: { text: { content: string } } }[];
      expect(inbox.filter((m) => m.message.text.content === `storm ${i}`)).toHaveLength(1);
    }

    const all = await calls();
    const sends = all.filter((c) => c.path === SEND);
    const tokenFailures = all.filter(rejectedToken);
    const rateLimited = all.filter((c) => c.errcode === 90018);
    console.info(
      `token storm: ${await tokenFetches()} token fetches; ${sends.length} asyncsend_v2 calls, ${sends.filter(rejectedToken).length} rejected for the token; ` +
        `${tokenFailures.length} calls rejected for the token in all; ${rateLimited.length} calls got 90018 (calls per second); ${all.length} calls`,
    );
    // The revocation costs exactly one token fetch, however many calls failed with the old token at once.
    expect(await tokenFetches()).toBe(2);
    // Only the calls in flight at the revocation fail for it: at least the one that revoked, at most the concurrency.
    expect(sends.filter(rejectedToken).length).toBeGreaterThanOrEqual(1);
    expect(tokenFailures.length).toBeLessThanOrEqual(CONCURRENCY);
  }, 120_000);
});
