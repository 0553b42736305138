import net from 'node:net';
import pg from 'pg';
import { parseOrg, type RunningEmulator, startEmulator } from '@dingpush/emulator';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DingpushClient, parseConfig, type RunningGateway, startGateway } from '../src/server.js';
import { API_KEY, gatewayConfig, org } from './helpers.js';

const PG_URL = process.env.DINGPUSH_TEST_POSTGRES ?? 'postgres://postgres@127.0.0.1:5432/test';

/**
 * A TCP proxy in front of PostgreSQL that the test can cut and restore (the shared server is never touched).
 * 'blackhole': nothing gets through any more and nothing answers, as when the network drops packets: connections
 * stay open and new ones are accepted but never reach the server. 'refuse': every connection is closed and new ones
 * are refused. Restoring closes what was open during the cut (its bytes were lost) and forwards anew.
 */
class PgProxy {
  private server = net.createServer((client) => this.accept(client));
  private pairs = new Set<{ client: net.Socket; upstream?: net.Socket }>();
  private state: 'open' | 'blackhole' | 'refuse' = 'open';
  port = 0;

  constructor(private readonly target: { host: string; port: number }) {}

  async listen(): Promise<void> {
    await new Promise<void>((r) => this.server.listen(0, '127.0.0.1', r));
    this.port = (this.server.address() as net.AddressInfo).port;
  }

  private accept(client: net.Socket): void {
    const pair: { client: net.Socket; upstream?: net.Socket } = { client };
    this.pairs.add(pair);
    client.on('error', () => {});
    client.on('close', () => {
      pair.upstream?.destroy();
      this.pairs.delete(pair);
    });
    if (this.state === 'refuse') return void client.destroy();
    if (this.state === 'blackhole') return; // accepted, never forwarded
    const upstream = net.connect(this.target);
    pair.upstream = upstream;
    upstream.on('error', () => client.destroy());
    upstream.on('close', () => client.destroy());
    client.on('data', (d) => {
      if (this.state === 'open') upstream.write(d);
    });
    upstream.on('data', (d) => {
      if (this.state === 'open') client.write(d);
    });
  }

  cut(mode: 'blackhole' | 'refuse'): void {
    this.state = mode;
    if (mode === 'refuse') for (const p of this.pairs) p.client.destroy();
  }

  restore(): void {
    for (const p of this.pairs) p.client.destroy();
    this.state = 'open';
  }

  async close(): Promise<void> {
    this.restore();
    await new Promise((r) => this.server.close(r));
  }
}

describe('PostgreSQL unreachable', () => {
  const schema = `dingpush_outage_${process.pid}_${Date.now()}`;
  const proxy = new PgProxy({ host: '127.0.0.1', port: 5432 });
  let emu: RunningEmulator;
  let gw: RunningGateway;
  let api: DingpushClient;
  const accepted: { id: string; user: string; content: string }[] = [];
  let seq = 0;

  beforeAll(async () => {
    await proxy.listen();
    emu = await startEmulator({ org: parseOrg(org({ deliveryMs: 20 })), port: 0 });
    const url = new URL(PG_URL);
    url.host = `127.0.0.1:${proxy.port}`;
    gw = await startGateway(parseConfig(gatewayConfig(emu.url, '', { store: { postgres: url.toString(), schema }, logLevel: 'silent' })));
    api = new DingpushClient({ url: gw.url, apiKey: API_KEY });
  });
  afterAll(async () => {
    await gw?.close();
    await emu?.close();
    await proxy.close();
    const client = new pg.Client({ connectionString: PG_URL });
    await client.connect();
    await client.query(`drop schema if exists "${schema}" cascade`);
    await client.end();
  });

  const post = async () => {
    const n = seq++;
    const user = `u${n % 300}`;
    const content = `pg outage ${n}`;
    const started = Date.now();
    const res = await fetch(`${gw.url}/v1/notifications`, {
      method: 'POST',
      headers: { authorization: `Bearer ${API_KEY}`, 'content-type': 'application/json', 'idempotency-key': `pg-${n}` },
      body: JSON.stringify({ to: { userIds: [user] }, message: { type: 'text', content } }),
    });
    const body = (await res.json()) as Record<string, any>;
    if (res.status === 202) accepted.push({ id: body.id, user, content });
    return { status: res.status, body, ms: Date.now() - started, key: `pg-${n}` };
  };
  const readyz = async () => {
    const started = Date.now();
    const res = await fetch(`${gw.url}/readyz`);
    return { status: res.status, body: (await res.json()) as Record<string, any>, ms: Date.now() - started };
  };

  /** While cut: /readyz and POST answer 503 within the pool's timeouts; /healthz 200. */
  async function expectUnavailable(refused: string[]) {
    const ready = await readyz();
    expect(ready.status).toBe(503);
    expect(ready.body).toEqual({ ok: false, reason: expect.stringContaining('the store cannot write') });
    expect(ready.ms).toBeLessThan(15_000);
    for (let i = 0; i < 3; i++) {
      const r = await post();
      expect(r.status, JSON.stringify(r.body)).toBe(503);
      expect(r.body).toEqual({ error: { code: 'store_unavailable', message: expect.stringContaining('nothing was stored') } });
      expect(r.ms).toBeLessThan(15_000);
      refused.push(r.key);
    }
    expect((await fetch(`${gw.url}/healthz`)).status).toBe(200);
  }

  /** After the restore: the gateway finds the database again by itself, and delivers. */
  async function expectRecovered() {
    const deadline = Date.now() + 30_000;
    while ((await readyz()).status !== 200) {
      expect(Date.now(), 'the gateway did not find PostgreSQL again').toBeLessThan(deadline);
      await new Promise((r) => setTimeout(r, 200));
    }
    const r = await post();
    expect(r.status).toBe(202);
  }

  for (const mode of ['blackhole', 'refuse'] as const) {
    it(`cut (${mode}): 503 store_unavailable within the timeouts; restored: recovers by itself, loses nothing`, async () => {
      const before = await post();
      expect(before.status).toBe(202);
      await api.waitFor(before.body.id, { timeoutMs: 15_000 });

      proxy.cut(mode);
      const refused: string[] = [];
      await expectUnavailable(refused);
      proxy.restore();
      await expectRecovered();

      for (const a of accepted) {
        const n = await api.waitFor(a.id, { timeoutMs: 30_000, intervalMs: 200 });
        expect(['read', 'unread'], JSON.stringify(n.deliveries)).toContain(n.deliveries![0]!.status);
        const inbox = (await (await fetch(`${emu.url}/_emulator/api/inbox/users/${a.user}`)).json()).messages as { message: { text: { content: string } } }[];
        expect(inbox.filter((m) => m.message.text.content === a.content)).toHaveLength(1);
      }
      const keys = new Set((await api.list({ limit: 500 })).items.map((n) => n.idempotencyKey));
      for (const k of refused) expect(keys.has(k), `${k} was answered 503 but stored`).toBe(false);
      expect(keys.size).toBe(accepted.length);
    }, 120_000);
  }
});
