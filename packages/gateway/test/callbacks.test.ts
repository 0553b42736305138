import { lookup } from 'node:dns/promises';
import { mkdtempSync } from 'node:fs';
import { createServer, type IncomingHttpHeaders } from 'node:http';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { parseOrg, type RunningEmulator, startEmulator } from '@dingpush/emulator';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AllowList, guardedLookup, isPrivateAddress, refusedHost } from '../src/net/address-policy.js';
import { createLogger } from '../src/observability/logger.js';
import {
  type ConfigInput,
  callbackSecretFor,
  DingpushApiError,
  DingpushClient,
  type NotificationView,
  parseConfig,
  type RunningGateway,
  signCallback,
  startGateway,
  verifyCallback,
} from '../src/server.js';
import { API_KEY, gatewayConfig, org, text, useGateway } from './helpers.js';

// ── A callback receiver: a real HTTP server that records every request and answers as the test says ──────────────

interface Received {
  at: number;
  path: string;
  headers: IncomingHttpHeaders;
  body: string;
  eventId: string;
  type: string;
  status: number;
}

interface Answer {
  status: number;
  headers?: Record<string, string>;
  /** Never answer (the connection stays open until the receiver closes). */
  hang?: boolean;
}

interface Receiver {
  url: string;
  port: number;
  requests: Received[];
  /** How to answer the next request (it sees the request and how many came before it). */
  answer: (r: Omit<Received, 'status'>, index: number) => Answer;
  close(): Promise<void>;
}

async function startReceiver(host = '127.0.0.1', answer: Receiver['answer'] = () => ({ status: 200 })): Promise<Receiver> {
  const requests: Received[] = [];
  const rcv = { requests, answer } as Receiver;
  const server = createServer((req, res) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (c: string) => {
      body += c;
    });
    req.on('end', () => {
      let parsed: { eventId?: string; type?: string } = {};
      try {
        parsed = JSON.parse(body);
      } catch {}
      const r = { at: Date.now(), path: req.url ?? '', headers: req.headers, body, eventId: parsed.eventId ?? '', type: parsed.type ?? '' };
      const a = rcv.answer(r, requests.length);
      requests.push({ ...r, status: a.status });
      if (a.hang) return;
      res.writeHead(a.status, { 'content-type': 'text/plain', ...a.headers });
      res.end(a.status < 300 ? 'ok' : 'no');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, host, resolve));
  const port = (server.address() as { port: number }).port;
  rcv.port = port;
  rcv.url = `http://${host.includes(':') ? `[${host}]` : host}:${port}`;
  rcv.close = () =>
    new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    });
  return rcv;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const types = (rs: Received[]) => rs.map((r) => r.type);
const tempDir = () => mkdtempSync(join(tmpdir(), 'dingpush-cb-'));

const DEFAULT_CALLBACKS = { attempts: 4, timeoutMs: 2000, backoffBaseMs: 50, backoffMaxMs: 400 };

/** A further gateway on an emulator a describe already runs (its own SQLite file), for a config of its own. */
async function extraGateway(emuUrl: string, overrides: Partial<ConfigInput>, dir = tempDir()): Promise<{ gw: RunningGateway; api: DingpushClient }> {
  const gw = await startGateway(parseConfig(gatewayConfig(emuUrl, dir, overrides)));
  return { gw, api: new DingpushClient({ url: gw.url, apiKey: API_KEY }) };
}

const callbackDeadLetters = (n: NotificationView) => (n.deadLetters ?? []).filter((d) => d.kind === 'callback');

/**
 * Waits until both events of a completed notification are settled: `delivered`, or `failed` with both kept as dead
 * letters (the view says `failed` as soon as one event failed, even while another is still being tried).
 */
async function callbackSettles(api: DingpushClient, id: string, state: 'delivered' | 'failed', timeoutMs = 15_000): Promise<NotificationView> {
  return api.waitFor(id, {
    timeoutMs,
    until: (n) => n.status === 'completed' && n.callback?.state === state && n.callback.events === 2 && (state === 'delivered' || callbackDeadLetters(n).length === 2),
  });
}

// ── 1. One signed POST per status change ─────────────────────────────────────────────────────────────────────────

describe('callbacks: one signed POST per status change', () => {
  const env = useGateway();
  let rcv: Receiver;
  beforeAll(async () => {
    rcv = await startReceiver();
  });
  afterAll(() => rcv.close());

  it('in order, each with its own event id, signed with the callback secret derived from the key, never with the key', async () => {
    const { id } = await env.api.send({ to: { userIds: ['u1'] }, message: text('callback please'), callbackUrl: `${rcv.url}/hooks/dingpush?tenant=7` });
    const n = await callbackSettles(env.api, id, 'delivered');
    await sleep(500);
    expect(types(rcv.requests)).toEqual(['notification.in_progress', 'notification.completed']);

    const secret = callbackSecretFor(API_KEY);
    expect(secret).not.toContain(API_KEY);
    const ids = new Set<string>();
    for (const r of rcv.requests) {
      expect(r.path).toBe('/hooks/dingpush?tenant=7');
      expect(r.headers['content-type']).toBe('application/json');
      const body = JSON.parse(r.body);
      expect(body.eventId).toMatch(/^evt_/);
      expect(r.headers['x-dingpush-event-id']).toBe(body.eventId);
      expect(body.notification.id).toBe(id);
      expect(body.type).toBe(`notification.${body.notification.status}`);
      expect(new Date(body.at).toISOString()).toBe(body.at);
      ids.add(body.eventId);

      const header = r.headers['x-dingpush-signature'] as string;
      expect(verifyCallback(secret, header, r.body)).toBeNull();
      // The raw API key does not produce this signature: a receiver never needs (or learns) the sending key.
      const t = Number(/^t=(\d+),/.exec(header)![1]);
      expect(Math.abs(t - Date.now() / 1000)).toBeLessThan(60);
      expect(signCallback(API_KEY, t, r.body)).not.toBe(header);
      expect(verifyCallback(API_KEY, header, r.body)).toBe('signature does not match');
      // And the signature covers the body.
      expect(verifyCallback(secret, header, r.body.replace('"status"', '"Status"'))).toBe('signature does not match');
      // Nothing secret travels in the callback itself.
      expect(JSON.stringify(r.headers) + r.body).not.toContain(API_KEY);
      expect(JSON.stringify(r.headers) + r.body).not.toContain(secret);
    }
    expect(ids.size).toBe(2);
    expect(n.callback).toEqual({ url: `${rcv.url}/hooks/dingpush?tenant=7`, state: 'delivered', events: 2, lastEventId: rcv.requests[1]!.eventId });
  });

  it('a notification without a callbackUrl calls nobody', async () => {
    const before = rcv.requests.length;
    const { id } = await env.api.send({ to: { userIds: ['u2'] }, message: text('no callback') });
    const n = await env.api.waitFor(id);
    await sleep(300);
    expect(n.callback).toBeUndefined();
    expect(rcv.requests.length).toBe(before);
  });
});

describe('callbacks: a configured apiKeys[].callbackSecret signs instead of the derived one', () => {
  const CONFIGURED = 'whsec_configured_for_tests_0123456789';
  const env = useGateway({ config: { apiKeys: [{ name: 'tests', key: API_KEY, callbackSecret: CONFIGURED }] } });
  let rcv: Receiver;
  beforeAll(async () => {
    rcv = await startReceiver();
  });
  afterAll(() => rcv.close());

  it('verifies with the configured secret only', async () => {
    const { id } = await env.api.send({ to: { userIds: ['u1'] }, message: text('configured secret'), callbackUrl: `${rcv.url}/hook` });
    await callbackSettles(env.api, id, 'delivered');
    expect(types(rcv.requests)).toEqual(['notification.in_progress', 'notification.completed']);
    for (const r of rcv.requests) {
      const header = r.headers['x-dingpush-signature'] as string;
      expect(verifyCallback(CONFIGURED, header, r.body)).toBeNull();
      expect(verifyCallback(callbackSecretFor(API_KEY), header, r.body)).toBe('signature does not match');
      expect(verifyCallback(API_KEY, header, r.body)).toBe('signature does not match');
    }
  });
});

// ── 2, 3, 7. Retries, dead letters, re-delivery, redirects ───────────────────────────────────────────────────────

describe('callbacks: retries, dead letters and re-delivery', () => {
  const env = useGateway();
  let rcv: Receiver;
  beforeAll(async () => {
    rcv = await startReceiver();
  });
  afterAll(() => rcv.close());

  it('a receiver failing twice then succeeding: delivered, same event id on every attempt, no duplicate afterwards', async () => {
    rcv.requests.length = 0;
    rcv.answer = (_r, i) => ({ status: i < 2 ? 500 : 200 });
    const { id } = await env.api.send({ to: { userIds: ['u3'] }, message: text('flaky receiver'), callbackUrl: `${rcv.url}/flaky` });
    const n = await callbackSettles(env.api, id, 'delivered');
    await sleep(1_000);
    expect(rcv.requests.map((r) => [r.type, r.status])).toEqual([
      ['notification.in_progress', 500],
      ['notification.in_progress', 500],
      ['notification.in_progress', 200],
      ['notification.completed', 200],
    ]);
    const first = rcv.requests[0]!.eventId;
    expect(rcv.requests.slice(0, 3).map((r) => r.eventId)).toEqual([first, first, first]);
    expect(rcv.requests.slice(0, 3).map((r) => r.headers['x-dingpush-event-id'])).toEqual([first, first, first]);
    expect(rcv.requests[3]!.eventId).not.toBe(first);
    // Every attempt is signed afresh, and the body is the same each time.
    expect(new Set(rcv.requests.slice(0, 3).map((r) => r.body)).size).toBe(1);
    for (const r of rcv.requests) expect(verifyCallback(callbackSecretFor(API_KEY), r.headers['x-dingpush-signature'] as string, r.body)).toBeNull();
    expect(n.callback).toMatchObject({ state: 'delivered', events: 2 });
    expect(n.callback!.lastError).toBeUndefined();
    expect(n.deadLetters).toBeUndefined();
  });

  it('a receiver that always fails: after `attempts` the events fail and wait as dead letters; POST …/callback delivers them, in order, same ids', async () => {
    rcv.requests.length = 0;
    rcv.answer = () => ({ status: 500 });
    const { id } = await env.api.send({ to: { userIds: ['u4'] }, message: text('down receiver'), callbackUrl: `${rcv.url}/down` });
    const failed = await callbackSettles(env.api, id, 'failed');
    await expect.poll(() => rcv.requests.length, { timeout: 10_000 }).toBe(8);
    await sleep(800);
    // callbacks.attempts (4) per event, nothing more; the later event went only after the earlier one gave up.
    expect(rcv.requests.length).toBe(8);
    expect(types(rcv.requests)).toEqual([...Array(4).fill('notification.in_progress'), ...Array(4).fill('notification.completed')]);
    const [inProgress, completed] = [rcv.requests[0]!.eventId, rcv.requests[4]!.eventId];
    expect(new Set(rcv.requests.slice(0, 4).map((r) => r.eventId))).toEqual(new Set([inProgress]));
    expect(new Set(rcv.requests.slice(4).map((r) => r.eventId))).toEqual(new Set([completed]));

    const n = await env.api.get(id);
    expect(n.callback).toMatchObject({ state: 'failed', events: 2, lastEventId: completed, lastError: 'HTTP 500' });
    expect(failed.callback!.state).toBe('failed');
    const dead = callbackDeadLetters(n);
    expect(dead).toHaveLength(2);
    for (const d of dead) expect(d.reason).toMatch(/callback gave up after 4 attempts: HTTP 500/);

    // The receiver is back: re-delivery sends both failed events again, in order, with their original ids.
    rcv.answer = () => ({ status: 200 });
    const again = await env.api.redeliverCallback(id);
    expect(again).toEqual({ id, events: [inProgress, completed] });
    const delivered = await callbackSettles(env.api, id, 'delivered');
    await sleep(500);
    const redelivered = rcv.requests.slice(8);
    expect(redelivered.map((r) => [r.eventId, r.type, r.status])).toEqual([
      [inProgress, 'notification.in_progress', 200],
      [completed, 'notification.completed', 200],
    ]);
    // The same event: the same body, re-signed.
    expect(redelivered[0]!.body).toBe(rcv.requests[0]!.body);
    expect(verifyCallback(callbackSecretFor(API_KEY), redelivered[0]!.headers['x-dingpush-signature'] as string, redelivered[0]!.body)).toBeNull();
    expect(delivered.callback).toMatchObject({ state: 'delivered', events: 2, lastEventId: completed });
    expect(delivered.callback!.lastError).toBeUndefined();
    expect(callbackDeadLetters(delivered)).toEqual([]);
  });

  it('a receiver that never answers: each attempt ends after callbacks.timeoutMs and counts as a failure', async () => {
    rcv.requests.length = 0;
    rcv.answer = () => ({ status: 0, hang: true });
    const { gw, api } = await extraGateway(env.emu.url, { callbacks: { ...DEFAULT_CALLBACKS, attempts: 2, timeoutMs: 300, allowHosts: ['127.0.0.1'] } });
    try {
      const started = Date.now();
      const { id } = await api.send({ to: { userIds: ['u8'] }, message: text('silent receiver'), callbackUrl: `${rcv.url}/silent` });
      const n = await callbackSettles(api, id, 'failed');
      expect(types(rcv.requests)).toEqual(['notification.in_progress', 'notification.in_progress', 'notification.completed', 'notification.completed']);
      expect(n.callback!.lastError).toMatch(/timeout/i);
      // Each attempt waited for the answer at least timeoutMs before the next (undici's timers tick about once a second).
      for (let i = 1; i < rcv.requests.length; i++) expect(rcv.requests[i]!.at - rcv.requests[i - 1]!.at).toBeGreaterThanOrEqual(300);
      expect(Date.now() - started).toBeLessThan(10_000);
    } finally {
      await gw.close();
    }
  });

  it('redirects are not followed: a 302 to another local server reaches nothing there, and counts as a failed attempt', async () => {
    const elsewhere = await startReceiver();
    try {
      rcv.requests.length = 0;
      rcv.answer = () => ({ status: 302, headers: { location: `${elsewhere.url}/stolen` } });
      const { id } = await env.api.send({ to: { userIds: ['u5'] }, message: text('redirect'), callbackUrl: `${rcv.url}/moved` });
      const n = await callbackSettles(env.api, id, 'failed');
      await sleep(300);
      expect(elsewhere.requests).toEqual([]);
      expect(rcv.requests.length).toBe(8);
      expect(n.callback).toMatchObject({ state: 'failed', lastError: 'HTTP 302' });
    } finally {
      await elsewhere.close();
    }
  });
});

describe('callbacks: a later event waits while an earlier one is still being retried', () => {
  const env = useGateway({ config: { callbacks: { ...DEFAULT_CALLBACKS, attempts: 60, backoffMaxMs: 200, allowHosts: ['127.0.0.1'] } } });
  let rcv: Receiver;
  let open = false;
  beforeAll(async () => {
    rcv = await startReceiver('127.0.0.1', (r) => ({ status: r.type === 'notification.in_progress' && !open ? 503 : 200 }));
  });
  afterAll(() => rcv.close());

  it('notification.completed is not sent before notification.in_progress got through', async () => {
    const { id } = await env.api.send({ to: { userIds: ['u6'] }, message: text('order'), callbackUrl: `${rcv.url}/ordered` });
    // The notification completes (its completed event is written) while in_progress is still failing.
    await env.api.waitFor(id);
    await sleep(1_000);
    expect(new Set(types(rcv.requests))).toEqual(new Set(['notification.in_progress']));
    expect(rcv.requests.length).toBeGreaterThanOrEqual(2);
    expect((await env.api.get(id)).callback).toMatchObject({ state: 'pending', events: 2 });
    open = true;
    await callbackSettles(env.api, id, 'delivered');
    await sleep(300);
    const statuses = rcv.requests.map((r) => `${r.type}:${r.status}`);
    expect(statuses.at(-2)).toBe('notification.in_progress:200');
    expect(statuses.at(-1)).toBe('notification.completed:200');
    expect(statuses.filter((s) => s.startsWith('notification.completed'))).toHaveLength(1);
  });
});

// ── 4. SSRF when the notification is accepted ────────────────────────────────────────────────────────────────────

describe('callbacks: a callbackUrl may not point into this machine or a private network', () => {
  const env = useGateway({ config: { callbacks: { ...DEFAULT_CALLBACKS, allowHosts: [] } } });
  const later = new Date(Date.now() + 24 * 3600_000).toISOString();

  it.each([
    'http://127.0.0.1:5432/',
    'http://169.254.169.254/latest/meta-data',
    'http://[::1]/',
    'http://10.1.2.3/',
    'http://172.16.9.9/',
    'http://192.168.0.1/',
    'http://localhost/',
    'http://LOCALHOST:8080/',
    'http://foo.localhost/',
    'http://localhost./',
    'http://foo.localhost./',
    'http://[::ffff:127.0.0.1]/',
    'http://[::ffff:a9fe:a9fe]/',
    'http://[64:ff9b::127.0.0.1]/',
    'http://[::127.0.0.1]/',
    'http://0x7f000001/',
    'http://2130706433/',
    'http://127.1/',
    'http://0177.0.0.1/',
    'http://0/',
    'http://0.0.0.0/',
    'http://[::]/',
    'http://[fd00::1]/',
    'http://[fe80::1]/',
    'http://100.64.0.1/',
    'https://user:pass@10.0.0.1/hook',
  ])('%s is refused with 400 naming callbackUrl, and nothing is stored', async (callbackUrl) => {
    const before = (await env.api.list({ limit: 500 })).items.length;
    const err = await env.api.send({ to: { userIds: ['u1'] }, message: text('ssrf'), callbackUrl }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DingpushApiError);
    expect(err).toMatchObject({ status: 400, path: 'callbackUrl' });
    expect((err as Error).message).toMatch(/must not reach this machine or a private network/);
    expect((await env.api.list({ limit: 500 })).items).toHaveLength(before);
  });

  it('public URLs are accepted (sent a day later, so nothing is called here)', async () => {
    const before = (await env.api.list({ limit: 500 })).items.length;
    for (const callbackUrl of ['https://example.com/hook', 'http://93.184.215.14:8080/x', 'https://[2606:4700::1111]/hook', 'https://hooks.example.org./y']) {
      const { id } = await env.api.send({ to: { userIds: ['u1'] }, message: text('public'), callbackUrl, sendAt: later });
      expect((await env.api.get(id)).callback).toEqual({ url: callbackUrl, state: 'none', events: 0 });
    }
    expect((await env.api.list({ limit: 500 })).items).toHaveLength(before + 4);
  });
});

describe('callbacks: allowHosts by CIDR and by name at accept time', () => {
  const env = useGateway({ config: { callbacks: { ...DEFAULT_CALLBACKS, allowHosts: ['10.0.0.0/8', 'Intranet.Example', '[fd00::1]'] } } });
  const later = new Date(Date.now() + 24 * 3600_000).toISOString();

  it('accepts what is listed, refuses the rest', async () => {
    for (const callbackUrl of ['http://10.1.2.3/', 'http://intranet.example/', 'http://INTRANET.example./', 'http://[fd00::1]/'])
      await expect(env.api.send({ to: { userIds: ['u1'] }, message: text('allowed'), callbackUrl, sendAt: later })).resolves.toMatchObject({ status: 'queued' });
    for (const callbackUrl of ['http://192.168.1.1/', 'http://[fd00::2]/', 'http://127.0.0.1/'])
      await expect(env.api.send({ to: { userIds: ['u1'] }, message: text('refused'), callbackUrl, sendAt: later })).rejects.toMatchObject({ status: 400, path: 'callbackUrl' });
  });
});

// ── 5. SSRF when connecting: a name that resolves to a private address (DNS rebinding) ───────────────────────────

/** A host name (not localhost) that resolves here to a loopback or private address: this machine's own name, usually. */
async function privateName(): Promise<{ name: string; address: string; family: number } | undefined> {
  for (const name of [hostname(), 'ip6-localhost', 'ip6-loopback']) {
    const lower = name.toLowerCase();
    if (!lower || lower === 'localhost' || lower.endsWith('.localhost')) continue;
    const answers = await lookup(name, { all: true }).catch(() => []);
    const hit = answers.find((a) => isPrivateAddress(a.address));
    if (hit) return { name, ...hit };
  }
  return undefined;
}

const rebound = await privateName();

describe.skipIf(!rebound)(
  `callbacks: a host name resolving to a private address is refused when connecting (${rebound ? `${rebound.name} → ${rebound.address}` : 'SKIPPED: no host name here resolves to a loopback or private address'})`,
  () => {
    const env = useGateway({ config: { callbacks: { ...DEFAULT_CALLBACKS, allowHosts: [] } } });
    let rcv: Receiver;
    beforeAll(async () => {
      rcv = await startReceiver(rebound!.address);
    });
    afterAll(() => rcv.close());

    it('not allowed: accepted (a name), then refused at connect time; nothing reaches the receiver', async () => {
      const url = `http://${rebound!.name}:${rcv.port}/rebound`;
      const { id } = await env.api.send({ to: { userIds: ['u1'] }, message: text('rebinding'), callbackUrl: url });
      const n = await callbackSettles(env.api, id, 'failed');
      await sleep(300);
      expect(rcv.requests).toEqual([]);
      expect(n.callback!.lastError).toContain(rebound!.address);
      expect(n.callback!.lastError).toMatch(/loopback, private or link-local/);
      expect(callbackDeadLetters(n)).toHaveLength(2);
    });

    it.each([
      ['the name', () => [rebound!.name.toUpperCase()]],
      ['the address', () => [rebound!.address]],
      ['a CIDR holding the address', () => [rebound!.family === 4 ? `${rebound!.address.split('.')[0]}.0.0.0/8` : `${rebound!.address}/128`]],
    ])('listed in allowHosts (%s): delivered', async (_what, allowHosts) => {
      const before = rcv.requests.length;
      const { gw, api } = await extraGateway(env.emu.url, { callbacks: { ...DEFAULT_CALLBACKS, allowHosts: allowHosts() } });
      try {
        const { id } = await api.send({ to: { userIds: ['u2'] }, message: text('allowed name'), callbackUrl: `http://${rebound!.name}:${rcv.port}/allowed` });
        await callbackSettles(api, id, 'delivered');
        expect(types(rcv.requests.slice(before))).toEqual(['notification.in_progress', 'notification.completed']);
      } finally {
        await gw.close();
      }
    });
  },
);

// ── 5b. The address policy itself ────────────────────────────────────────────────────────────────────────────────

describe('address policy', () => {
  it.each([
    // IPv4: loopback, private, CGNAT, link-local (cloud metadata), "this network", documentation, multicast, broadcast
    ['127.0.0.1', true],
    ['127.255.255.254', true],
    ['10.0.0.1', true],
    ['172.16.0.1', true],
    ['172.31.255.255', true],
    ['192.168.1.1', true],
    ['100.64.0.1', true],
    ['169.254.169.254', true],
    ['0.0.0.0', true],
    ['224.0.0.1', true],
    ['255.255.255.255', true],
    ['172.32.0.1', false],
    ['100.128.0.1', false],
    ['8.8.8.8', false],
    ['93.184.215.14', false],
    // IPv6: loopback, unspecified, ULA, link-local, multicast, documentation
    ['::1', true],
    ['::', true],
    ['0:0:0:0:0:0:0:1', true],
    ['fd00::1', true],
    ['fc00::1', true],
    ['FE80::1', true],
    ['fe80::1ff:fe23:4567:890a', true],
    ['ff02::1', true],
    ['2001:db8::1', true],
    ['fec0::1', true],
    ['2606:4700::1111', false],
    ['2001:4860:4860::8888', false],
    // IPv4 inside IPv6: mapped (dotted and hex, any case, written out), compatible, translated, NAT64 (well-known, local-use)
    ['::ffff:127.0.0.1', true],
    ['::FFFF:127.0.0.1', true],
    ['::ffff:7f00:1', true],
    ['::FFFF:7F00:0001', true],
    ['0:0:0:0:0:ffff:7f00:1', true],
    ['0000:0000:0000:0000:0000:ffff:127.0.0.1', true],
    ['::ffff:a9fe:a9fe', true],
    ['::ffff:10.0.0.1', true],
    ['::ffff:8.8.8.8', false],
    ['::ffff:808:808', false],
    ['::127.0.0.1', true],
    ['::7f00:1', true],
    ['::ffff:0:7f00:1', true],
    ['::ffff:0:127.0.0.1', true],
    ['64:ff9b::127.0.0.1', true],
    ['64:ff9b::7f00:1', true],
    ['64:ff9b::a9fe:a9fe', true],
    ['64:ff9b::10.0.0.1', true],
    ['64:ff9b::808:808', false],
    ['64:ff9b:1::a00:1', true],
    ['2002:7f00:1::1', true],
    ['2002:a9fe:a9fe::', true],
    ['2002:808:808::1', false],
    // With a zone, as DNS may answer for link-local addresses
    ['fe80::1%eth0', true],
    ['::ffff:127.0.0.1%lo', true],
    ['::ffff:7f00:1%1', true],
    ['2606:4700::1111%eth0', false],
    // Not addresses at all
    ['example.com', false],
    ['', false],
  ])('isPrivateAddress(%s) is %s', (ip, expected) => {
    expect(isPrivateAddress(ip as string)).toBe(expected);
  });

  const none = new AllowList([]);
  const refused = (url: string, allow = none) => refusedHost(new URL(url), allow);

  it('refusedHost: localhost names in any case and with a trailing dot, literal private addresses in any spelling', () => {
    for (const url of [
      'http://localhost/',
      'http://LocalHost/',
      'http://localhost./',
      'http://a.b.LOCALHOST/',
      'http://a.localhost./',
      'http://127.0.0.1/',
      'http://[::1]/',
      'http://[::ffff:127.0.0.1]/',
      'http://[::ffff:7f00:1]/',
      'http://[::127.0.0.1]/',
      'http://[64:ff9b::a9fe:a9fe]/',
      'http://0x7f.1/',
      'http://017700000001/',
    ])
      expect(refused(url), url).toMatch(/callbacks\.allowHosts/);
    for (const url of ['https://example.com/', 'https://localhost.example.com/', 'https://notlocalhost/', 'http://8.8.8.8/', 'http://[2606:4700::1111]/'])
      expect(refused(url), url).toBeNull();
  });

  it('AllowList: names in any case (entries and hosts), addresses, brackets, CIDR ranges, mapped forms of allowed addresses', () => {
    const allow = new AllowList(['Hooks.Internal', ' 10.0.0.0/8 ', '[::1]', 'fd00::/8', '192.168.5.5', 'trailing.dot.', 'Bücher.Example']);
    expect(allow.allowsName('hooks.internal')).toBe(true);
    expect(allow.allowsName('HOOKS.INTERNAL')).toBe(true);
    expect(allow.allowsName('hooks.internal.')).toBe(true);
    expect(allow.allowsName('trailing.dot')).toBe(true);
    expect(allow.allowsName('other.internal')).toBe(false);
    expect(allow.allowsAddress('10.200.3.4')).toBe(true);
    expect(allow.allowsAddress('11.0.0.1')).toBe(false);
    expect(allow.allowsAddress('::1')).toBe(true);
    expect(allow.allowsAddress('fd12::1')).toBe(true);
    expect(allow.allowsAddress('fe80::1')).toBe(false);
    expect(allow.allowsAddress('192.168.5.5')).toBe(true);
    expect(allow.allowsAddress('192.168.5.6')).toBe(false);
    expect(allow.allowsAddress('::ffff:10.1.1.1')).toBe(true);
    expect(allow.allowsAddress('hooks.internal')).toBe(false);

    expect(refused('http://HOOKS.internal/', allow)).toBeNull();
    expect(allow.allowsName(new URL('http://bücher.example/').hostname)).toBe(true);
    expect(refused('http://10.9.9.9:8080/', allow)).toBeNull();
    expect(refused('http://[::1]/', allow)).toBeNull();
    expect(refused('http://[fd00:1::2]/', allow)).toBeNull();
    expect(refused('http://192.168.5.6/', allow)).toMatch(/192\.168\.5\.6/);
    expect(refused('http://127.0.0.1/', allow)).toMatch(/127\.0\.0\.1/);
    expect(refused('http://localhost/', allow)).toMatch(/localhost/);
    // Listing localhost by name allows it, and only it.
    expect(refused('http://localhost:9000/', new AllowList(['localhost']))).toBeNull();
    expect(refused('http://foo.localhost/', new AllowList(['localhost']))).toMatch(/foo\.localhost/);
  });

  it('the configuration refuses an allowHosts entry that is no address, range or host name, naming it and its key', () => {
    for (const bad of ['10.0.0.0/33', '10.0.0.0/abc', 'fd00::/129', '10.0.0.0/8/8', 'http://x.example/', 'x.example:8080', '*.example.com', 'a b', ''])
      expect(() => parseConfig({ callbacks: { allowHosts: ['127.0.0.1', bad] } }), bad).toThrow(`callbacks.allowHosts[1]: "${bad}" is neither a host name`);
  });

  const lookupWith = (allow: AllowList, name: string, all: boolean) =>
    new Promise<{ err: (Error & { code?: string }) | null; address: unknown }>((resolve) =>
      guardedLookup(allow)(name, { all }, (err, address) => resolve({ err, address })),
    );

  it.skipIf(!rebound)('guardedLookup refuses a name resolving to a private address unless the name or the address is allowed', async () => {
    const { name, address } = rebound!;
    for (const all of [true, false]) {
      const r = await lookupWith(none, name, all);
      expect(r.err?.code).toBe('EPRIVATEADDRESS');
      expect(r.err?.message).toContain(address);
      expect((await lookupWith(new AllowList([name.toUpperCase()]), name, all)).err).toBeNull();
      expect((await lookupWith(new AllowList([address]), name, all)).err).toBeNull();
    }
    const one = await lookupWith(new AllowList([name]), name, false);
    expect(one.address).toBe(address);
  });
});

// ── 6. A key removed from the configuration ──────────────────────────────────────────────────────────────────────

describe('callbacks: the sending key is removed from the configuration', () => {
  const OTHER_KEY = 'other-key-0123456789abcdef';
  let emu: RunningEmulator;
  let rcv: Receiver;
  beforeAll(async () => {
    emu = await startEmulator({ org: parseOrg(org()), port: 0 });
    rcv = await startReceiver('127.0.0.1', () => ({ status: 500 }));
  });
  afterAll(async () => {
    await rcv.close();
    await emu.close();
  });

  it('pending callbacks fail naming the key; nothing is sent, signed or unsigned', async () => {
    const dir = tempDir();
    // Retried for long (many attempts), so the callbacks are still pending when the gateway stops.
    const callbacks = { ...DEFAULT_CALLBACKS, attempts: 1000, backoffMaxMs: 200, allowHosts: ['127.0.0.1'] };
    const keys = [
      { name: 'tests', key: API_KEY },
      { name: 'other', key: OTHER_KEY },
    ];
    const first = await extraGateway(emu.url, { apiKeys: keys, callbacks }, dir);
    let id: string;
    try {
      ({ id } = await first.api.send({ to: { userIds: ['u7'] }, message: text('orphan'), callbackUrl: `${rcv.url}/orphan` }));
      await first.api.waitFor(id, { until: (n) => n.status === 'completed' && n.callback?.events === 2 });
      await expect.poll(() => rcv.requests.length).toBeGreaterThan(1);
      expect((await first.api.get(id)).callback!.state).toBe('pending');
    } finally {
      await first.gw.close();
    }
    // Until then every attempt was signed with the key's callback secret.
    for (const r of rcv.requests) expect(verifyCallback(callbackSecretFor(API_KEY), r.headers['x-dingpush-signature'] as string, r.body)).toBeNull();

    rcv.requests.length = 0;
    rcv.answer = () => ({ status: 200 });
    const second = await startGateway(parseConfig(gatewayConfig(emu.url, dir, { apiKeys: [keys[1]!], callbacks })));
    try {
      await expect
        .poll(async () => (await second.store.events(id)).map((e) => e.callbackState), { timeout: 10_000 })
        .toEqual(['failed', 'failed']);
      await sleep(500);
      expect(rcv.requests).toEqual([]);
      for (const e of await second.store.events(id)) {
        expect(e.callbackError).toMatch(/API key "tests" .*no longer configured/);
        expect(e.callbackError).not.toContain(API_KEY);
      }
      const dead = await second.store.jobs({ notificationId: id, kinds: ['callback'], states: ['dead'] });
      expect(dead).toHaveLength(2);
      // The other key cannot see (or re-deliver) what "tests" sent.
      const other = new DingpushClient({ url: second.url, apiKey: OTHER_KEY });
      await expect(other.redeliverCallback(id)).rejects.toMatchObject({ status: 404 });
    } finally {
      await second.close();
    }
    expect(rcv.requests).toEqual([]);
  });
});

// ── Secrets stay out of logs and answers on this path ────────────────────────────────────────────────────────────

describe('callbacks: secrets stay out of logs and API answers', () => {
  it('keys and callback secrets appear nowhere: not in logs (debug), answers, errors, dead letters or callbacks', async () => {
    const CONFIGURED = 'whsec_configured_for_secret_check_42';
    const SECOND_KEY = 'second-key-0123456789abcdef';
    const emu = await startEmulator({ org: parseOrg(org()), port: 0 });
    const rcv = await startReceiver('127.0.0.1', (r) => ({ status: r.path === '/down' ? 500 : 200 }));
    let logs = '';
    const sink = new Writable({
      write(chunk, _enc, done) {
        logs += chunk;
        done();
      },
    });
    const config = gatewayConfig(emu.url, tempDir(), {
      apiKeys: [
        { name: 'tests', key: API_KEY, callbackSecret: CONFIGURED },
        { name: 'second', key: SECOND_KEY },
      ],
      logLevel: 'debug',
    });
    const gw = await startGateway(parseConfig(config), { logger: createLogger('debug', sink) });
    let answers = '';
    const call = async (method: string, path: string, key: string, body?: unknown) => {
      const res = await fetch(`${gw.url}${path}`, {
        method,
        headers: { authorization: `Bearer ${key}`, ...(body ? { 'content-type': 'application/json' } : {}) },
        ...(body ? { body: JSON.stringify(body) } : {}),
      });
      const t = await res.text();
      answers += t;
      return JSON.parse(t || '{}');
    };
    try {
      const ok = await call('POST', '/v1/notifications', API_KEY, { to: { userIds: ['u1'] }, message: text('s1'), callbackUrl: `${rcv.url}/up` });
      const down = await call('POST', '/v1/notifications', SECOND_KEY, { to: { userIds: ['u2'] }, message: text('s2'), callbackUrl: `${rcv.url}/down` });
      await call('POST', '/v1/notifications', API_KEY, { to: { userIds: ['u1'] }, message: text('s3'), callbackUrl: 'http://169.254.169.254/' });
      await call('POST', '/v1/notifications', 'wrong-key-wrong-key', { to: { userIds: ['u1'] }, message: text('s4'), callbackUrl: `${rcv.url}/up` });
      const api = new DingpushClient({ url: gw.url, apiKey: SECOND_KEY });
      await callbackSettles(new DingpushClient({ url: gw.url, apiKey: API_KEY }), ok.id, 'delivered');
      await callbackSettles(api, down.id, 'failed');
      await call('POST', `/v1/notifications/${down.id}/callback`, SECOND_KEY);
      await callbackSettles(api, down.id, 'failed');
      await call('GET', `/v1/notifications/${ok.id}`, API_KEY);
      await call('GET', `/v1/notifications/${down.id}`, SECOND_KEY);
      await call('GET', '/v1/notifications', SECOND_KEY);
      await call('GET', '/v1/dead-letters', SECOND_KEY);
      answers += await (await fetch(`${gw.url}/metrics`)).text();
      // Should a key's configuration ever be logged, its callback secret is redacted like the key.
      gw.runtime.log.info({ apiKey: gw.config.apiKeys[0], callbackSecret: CONFIGURED }, 'callback redaction check');
      expect(logs).toContain('callback redaction check');
      expect(logs).toContain('status callback given up');
      const sent = rcv.requests.map((r) => JSON.stringify(r.headers) + r.body).join('');
      const everything = logs + answers + sent;
      for (const secret of [API_KEY, SECOND_KEY, CONFIGURED, callbackSecretFor(API_KEY), callbackSecretFor(SECOND_KEY)]) expect(everything).not.toContain(secret);
    } finally {
      await gw.close();
      await rcv.close();
      await emu.close();
    }
  });
});
