import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer as createHttpServer } from 'node:http';
import { createServer, type Server, type Socket, connect as tcpConnect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type ChannelModel, type ConfirmChannel, type ConsumeMessage, connect } from 'amqplib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { ConfigError, openStore, parseConfig, startGateway } from '../src/server.js';
import { API_KEY, gatewayConfig, PG_URL, text, useGateway, usePostgresSchema } from './helpers.js';
import { spawnDingpush } from './process.js';

const AMQP_URL = process.env.DINGPUSH_TEST_AMQP ?? 'amqp://guest:guest@127.0.0.1:5672';
const RUN = `dingpush-test-${process.pid}-${Date.now()}`;
const QUEUE = `${RUN}.in`;
const EXCHANGE = `${RUN}.events`;
const WATCH = `${RUN}.watch`;

const env = useGateway({
  config: {
    ingest: { amqp: { url: AMQP_URL, queue: QUEUE, prefetch: 100 } },
    events: { amqp: { url: AMQP_URL, exchange: EXCHANGE } },
  },
});

let conn: ChannelModel;
let ch: ConfirmChannel;
/** Every event the bound queue received, in order. */
const seen: ConsumeMessage[] = [];
/** Queues and exchanges the tests made, deleted afterwards. */
const made = { queues: new Set<string>([QUEUE, `${QUEUE}.dead`, WATCH]), exchanges: new Set<string>([EXCHANGE]) };

beforeAll(async () => {
  conn = await connect(AMQP_URL);
  ch = await conn.createConfirmChannel();
  await ch.assertQueue(WATCH, { durable: false });
  await ch.bindQueue(WATCH, EXCHANGE, 'notification.*');
  await ch.consume(WATCH, (m) => m && seen.push(m), { noAck: true });
});

afterAll(async () => {
  for (const q of made.queues) await ch.deleteQueue(q).catch(() => {});
  for (const x of made.exchanges) await ch.deleteExchange(x).catch(() => {});
  await conn?.close();
});

const publish = async (queue: string, body: unknown, opts: { messageId?: string } = {}) => {
  ch.sendToQueue(queue, Buffer.isBuffer(body) ? body : Buffer.from(typeof body === 'string' ? body : JSON.stringify(body)), { persistent: true, ...opts });
  await ch.waitForConfirms();
};

/** The consumer's outcomes so far (dingpush_amqp_ingest_total). */
const outcomes = async (gw = env.gw) => {
  const values = (await gw.runtime.metrics.ingested.get()).values;
  const of = (o: string) => values.find((v) => v.labels.outcome === o)?.value ?? 0;
  return { stored: of('stored'), replayed: of('replayed'), dead: of('dead'), retry: of('retry') };
};

describe('RabbitMQ ingest', () => {
  it('500 messages, one not JSON and one invalid: all 500 delivered, the two in <queue>.dead with their reasons, the queue empty', async () => {
    const before = await outcomes();
    // 250 users, two different texts each (DingTalk refuses the same text to the same user twice a day).
    const content = (i: number) => `${RUN} bulk ${i}`;
    const user = (i: number) => `u${i % 250}`;
    for (let i = 0; i < 500; i++) {
      if (i === 100) ch.sendToQueue(QUEUE, Buffer.from('{"to": {"userIds": ["u1"]}, "message": '), { persistent: true, messageId: `${RUN}-broken` });
      if (i === 300) ch.sendToQueue(QUEUE, Buffer.from(JSON.stringify({ to: { userIds: ['u1'] }, message: { type: 'text' } })), { persistent: true, messageId: `${RUN}-invalid` });
      ch.sendToQueue(QUEUE, Buffer.from(JSON.stringify({ to: { userIds: [user(i)] }, message: text(content(i)), idempotencyKey: `${RUN}-bulk-${i}` })), { persistent: true });
    }
    await ch.waitForConfirms();
    await expect
      .poll(async () => {
        const o = await outcomes();
        return { stored: o.stored - before.stored, dead: o.dead - before.dead };
      }, { timeout: 30_000, interval: 200 })
      .toEqual({ stored: 500, dead: 2 });
    // The main queue holds nothing (each message acknowledged), the dead-letter queue the two, with their reasons.
    expect((await ch.checkQueue(QUEUE)).messageCount).toBe(0);
    const dead: Record<string, string> = {};
    for (let m = await ch.get(`${QUEUE}.dead`, { noAck: true }); m; m = await ch.get(`${QUEUE}.dead`, { noAck: true }))
      dead[m.properties.messageId] = String(m.properties.headers?.['x-dingpush-error']);
    expect(Object.keys(dead).sort()).toEqual([`${RUN}-broken`, `${RUN}-invalid`]);
    expect(dead[`${RUN}-broken`]).toMatch(/^invalid_json: the message is not valid JSON/);
    expect(dead[`${RUN}-invalid`]).toMatch(/^invalid_request: message(\.content)?: /);
    // Each of the 500 reaches its user's inbox exactly once.
    await expect
      .poll(async () => {
        let found = 0;
        for (let u = 0; u < 250; u++) {
          const inbox = await env.inbox('users', `u${u}`);
          found += inbox.filter((m) => String(m.message?.text?.content ?? '').startsWith(`${RUN} bulk `)).length;
        }
        return found;
      }, { timeout: 90_000, interval: 2_000 })
      .toBe(500);
    for (const i of [0, 249, 250, 499]) {
      const inbox = await env.inbox('users', user(i));
      expect(inbox.filter((m) => m.message?.text?.content === content(i))).toHaveLength(1);
    }
  }, 150_000);

  it('the same message twice with the same messageId is one notification (the second is acknowledged as a replay)', async () => {
    const before = await outcomes();
    const body = { to: { userIds: ['u260'] }, message: text(`${RUN} twice`) };
    await publish(QUEUE, body, { messageId: `${RUN}-twice` });
    await publish(QUEUE, body, { messageId: `${RUN}-twice` });
    await expect.poll(async () => (await outcomes()).replayed - before.replayed, { timeout: 10_000 }).toBe(1);
    expect((await outcomes()).stored - before.stored).toBe(1);
    const mine = (await env.gw.store.listNotifications({ limit: 500 })).filter((n) => n.idempotencyKey === `amqp:${RUN}-twice`);
    expect(mine).toHaveLength(1);
    // The same messageId with a different body is an idempotency conflict: dead-lettered, not stored, not looping.
    await publish(QUEUE, { ...body, message: text(`${RUN} other`) }, { messageId: `${RUN}-twice` });
    await expect.poll(async () => (await outcomes()).dead - before.dead, { timeout: 10_000 }).toBe(1);
    const m = await ch.get(`${QUEUE}.dead`, { noAck: true });
    expect(m && String(m.properties.headers?.['x-dingpush-error'])).toMatch(/^idempotency_conflict/);
    expect((await ch.checkQueue(QUEUE)).messageCount).toBe(0);
  });

  it('a redelivered message whose image URL fails now is a replay, not a dead letter: the URL is not fetched again', async () => {
    // The image's URL answers once: a redelivery that fetched it again got a 404, a 400 dead-lettering a stored message.
    let fetched = 0;
    const png = Buffer.concat([Buffer.from('89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c489', 'hex'), Buffer.from(`${RUN} redelivered `.repeat(20))]);
    const files = createHttpServer((_req, res) => {
      fetched++;
      if (fetched === 1) res.writeHead(200, { 'content-type': 'image/png' }).end(png);
      else res.writeHead(404).end();
    });
    await new Promise<void>((r) => files.listen(0, '127.0.0.1', r));
    try {
      const before = await outcomes();
      const body = { to: { userIds: ['u261'] }, message: { type: 'image', url: `http://127.0.0.1:${(files.address() as { port: number }).port}/chart.png` } };
      await publish(QUEUE, body, { messageId: `${RUN}-media` });
      await expect.poll(async () => (await outcomes()).stored - before.stored, { timeout: 10_000 }).toBe(1);
      await publish(QUEUE, body, { messageId: `${RUN}-media` });
      await expect.poll(async () => (await outcomes()).replayed - before.replayed, { timeout: 10_000 }).toBe(1);
      expect((await outcomes()).dead - before.dead).toBe(0);
      expect(fetched).toBe(1);
      expect((await env.gw.store.listNotifications({ limit: 500 })).filter((n) => n.idempotencyKey === `amqp:${RUN}-media`)).toHaveLength(1);
    } finally {
      await new Promise((r) => files.close(r));
    }
  });

  it('a message larger than the body limit is dead-lettered as too large', async () => {
    const before = await outcomes();
    await publish(QUEUE, { to: { userIds: ['u261'] }, message: text('x'.repeat(70 * 1024)) }, { messageId: `${RUN}-large` });
    await expect.poll(async () => (await outcomes()).dead - before.dead, { timeout: 10_000 }).toBe(1);
    const m = await ch.get(`${QUEUE}.dead`, { noAck: true });
    expect(m === false ? undefined : m.properties.messageId).toBe(`${RUN}-large`);
    expect(m && String(m.properties.headers?.['x-dingpush-error'])).toMatch(/^payload_too_large: .*65536 bytes/);
  });

  it('/readyz and /metrics show the links connected', async () => {
    const ready = await (await fetch(`${env.gw.url}/readyz`)).json();
    expect(ready.amqp).toEqual({ ingest: 'connected', events: 'connected' });
    const metrics = await (await fetch(`${env.gw.url}/metrics`)).text();
    expect(metrics).toMatch(/dingpush_amqp_connected\{link="ingest"\} 1/);
  });
});

describe('events on the bus', () => {
  it('every status change arrives on a bound queue: messageId = eventId, the same body as the callback, with the idempotencyKey', async () => {
    const posted: { id: string; body: string }[] = [];
    const receiver = createHttpServer((req, res) => {
      let body = '';
      req.on('data', (d) => (body += d));
      req.on('end', () => {
        posted.push({ id: String(req.headers['x-dingpush-event-id']), body });
        res.end('ok');
      });
    });
    await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', r));
    const port = (receiver.address() as { port: number }).port;
    try {
      const key = `${RUN}-events`;
      const { id } = await env.api.send({ to: { userIds: ['u270'] }, message: text(`${RUN} events`), idempotencyKey: key, callbackUrl: `http://127.0.0.1:${port}/cb` });
      // in_progress once claimed, completed once every delivery has its outcome (read or unread).
      await expect.poll(async () => (await env.api.get(id)).status, { timeout: 20_000 }).toBe('completed');
      const mine = () => seen.filter((m) => JSON.parse(m.content.toString()).notification.id === id);
      await expect.poll(() => mine().map((m) => m.fields.routingKey).at(-1), { timeout: 10_000 }).toBe('notification.completed');
      const events = await env.gw.store.events(id);
      expect(mine().map((m) => m.properties.messageId)).toEqual(events.map((e) => e.id));
      expect(mine().map((m) => m.fields.routingKey)).toEqual(events.map((e) => e.type));
      expect(events.map((e) => e.type)).toEqual(['notification.in_progress', 'notification.completed']);
      for (const m of mine()) {
        const body = JSON.parse(m.content.toString());
        expect(body.eventId).toBe(m.properties.messageId);
        expect(body.type).toBe(m.fields.routingKey);
        expect(body.notification.idempotencyKey).toBe(key);
        expect(m.properties.deliveryMode).toBe(2);
      }
      // The callbacks carry the very same JSON under the same event ids.
      await expect.poll(() => posted.length, { timeout: 10_000 }).toBe(events.length);
      expect(posted.map((p) => p.id)).toEqual(mine().map((m) => m.properties.messageId));
      expect(posted.map((p) => p.body)).toEqual(mine().map((m) => m.content.toString()));
      expect(events.every((e) => e.busState === 'published')).toBe(true);
    } finally {
      receiver.close();
    }
  }, 40_000);

  it('a notification without a callback URL is published too', async () => {
    const { id } = await env.api.send({ to: { userIds: ['u271'] }, message: text(`${RUN} no callback`) });
    await expect
      .poll(() => seen.filter((m) => JSON.parse(m.content.toString()).notification.id === id).map((m) => m.fields.routingKey), { timeout: 20_000 })
      .toEqual(['notification.in_progress', 'notification.completed']);
  }, 30_000);
});

describe('start-up rules', () => {
  const base = () => gatewayConfig('http://127.0.0.1:9', mkdtempSync(join(tmpdir(), 'dingpush-amqp-cfg-')));
  const problems = (overrides: Record<string, unknown>) => {
    try {
      parseConfig({ ...base(), ...overrides });
      return [];
    } catch (err) {
      if (!(err instanceof ConfigError)) throw err;
      return err.problems;
    }
  };
  it('an owner that names no key, a bad URL, an empty queue, prefetch outside 1..1000 each stop the start, naming the key', () => {
    expect(problems({ ingest: { amqp: { url: AMQP_URL, queue: 'q', owner: 'nobody' } } })).toEqual(['ingest.amqp.owner: no API key named nobody (apiKeys[].name)']);
    expect(problems({ ingest: { amqp: { url: 'http://127.0.0.1:5672', queue: 'q' } } })).toEqual(['ingest.amqp.url: an amqp:// or amqps:// URL']);
    expect(problems({ ingest: { amqp: { url: AMQP_URL, queue: '' } } })).toEqual(['ingest.amqp.queue: must not be empty']);
    expect(problems({ ingest: { amqp: { url: AMQP_URL, queue: 'q', prefetch: 0 } } })[0]).toMatch(/^ingest\.amqp\.prefetch: /);
    expect(problems({ ingest: { amqp: { url: AMQP_URL, queue: 'q', prefetch: 1001 } } })[0]).toMatch(/^ingest\.amqp\.prefetch: /);
    expect(problems({ events: { amqp: { url: AMQP_URL, exchange: '' } } })).toEqual(['events.amqp.exchange: must not be empty']);
    expect(problems({ ingest: { amqp: { url: AMQP_URL, queue: 'q', owner: 'limited' } } })).toEqual([]);
    // No password of the URL in any problem.
    expect(problems({ ingest: { amqp: { url: 'amqp://guest:s3cr3t-pass@', queue: '' } } }).join('\n')).not.toContain('s3cr3t');
  });
});

/** A TCP proxy to RabbitMQ that the test opens, cuts and reopens: the broker "restarts" without touching the shared one. */
class BrokerProxy {
  private server: Server | null = null;
  private readonly sockets = new Set<Socket>();
  constructor(readonly port: number) {}
  async open(): Promise<void> {
    const target = new URL(AMQP_URL);
    this.server = createServer((client) => {
      const upstream = tcpConnect(Number(target.port || 5672), target.hostname);
      for (const s of [client, upstream]) {
        this.sockets.add(s);
        s.on('close', () => this.sockets.delete(s));
        s.on('error', () => {});
      }
      client.pipe(upstream).pipe(client);
      client.on('close', () => upstream.destroy());
      upstream.on('close', () => client.destroy());
    });
    await new Promise<void>((r) => this.server!.listen(this.port, '127.0.0.1', r));
  }
  /** Stops listening and cuts every connection through it. */
  async cut(): Promise<void> {
    const closed = this.server ? new Promise((r) => this.server!.close(r)) : Promise.resolve();
    for (const s of this.sockets) s.destroy();
    await closed;
    this.server = null;
  }
}

const freePort = async () => {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as { port: number }).port;
  await new Promise((r) => s.close(r));
  return port;
};

describe('RabbitMQ away', () => {
  it('unreachable at start: the gateway starts and accepts HTTP; the consumer connects when it comes back, and again after a cut', async () => {
    const queue = `${RUN}.away`;
    made.queues.add(queue).add(`${queue}.dead`);
    const proxy = new BrokerProxy(await freePort());
    const url = AMQP_URL.replace(/@[^/]+/, `@127.0.0.1:${proxy.port}`);
    const config = parseConfig(gatewayConfig(env.emu.url, mkdtempSync(join(tmpdir(), 'dingpush-amqp-away-')), { ingest: { amqp: { url, queue, prefetch: 10 } } }));
    const started = Date.now();
    const gw = await startGateway(config);
    try {
      expect(Date.now() - started).toBeLessThan(5_000);
      const ready = await (await fetch(`${gw.url}/readyz`)).json();
      expect(ready).toMatchObject({ ok: true, amqp: { ingest: 'connecting' } });
      const accepted = await fetch(`${gw.url}/v1/notifications`, {
        method: 'POST',
        headers: { authorization: `Bearer ${API_KEY}`, 'content-type': 'application/json' },
        body: JSON.stringify({ to: { userIds: ['u280'] }, message: text(`${RUN} http while away`), sendAt: new Date(Date.now() + 86_400_000).toISOString() }),
      });
      expect(accepted.status).toBe(202);
      // Messages wait in the queue meanwhile.
      await ch.assertQueue(queue, { durable: true });
      const later = { to: { userIds: ['u281'] }, message: text('later'), sendAt: new Date(Date.now() + 86_400_000).toISOString() };
      await publish(queue, later, { messageId: `${RUN}-away-1` });
      await proxy.open();
      await expect.poll(async () => (await outcomes(gw)).stored, { timeout: 15_000 }).toBe(1);
      expect((await (await fetch(`${gw.url}/readyz`)).json()).amqp).toEqual({ ingest: 'connected' });
      // The connection is cut (a broker restart): the consumer reconnects with backoff and goes on.
      await proxy.cut();
      await expect.poll(async () => (await (await fetch(`${gw.url}/readyz`)).json()).amqp.ingest, { timeout: 5_000 }).toBe('connecting');
      await publish(queue, later, { messageId: `${RUN}-away-2` });
      await proxy.open();
      await expect.poll(async () => (await outcomes(gw)).stored, { timeout: 15_000 }).toBe(2);
    } finally {
      await gw.close();
      await proxy.cut();
    }
  }, 60_000);
});

describe('a consumer killed before its acks', () => {
  it('SIGKILL while consuming 1000 messages, then a restart: every message stored exactly once, the queue empty', async () => {
    const queue = `${RUN}.kill`;
    made.queues.add(queue).add(`${queue}.dead`);
    const dir = mkdtempSync(join(tmpdir(), 'dingpush-amqp-kill-'));
    const configFile = join(dir, 'dingpush.yaml');
    writeFileSync(configFile, stringify(gatewayConfig(env.emu.url, dir, { ingest: { amqp: { url: AMQP_URL, queue, prefetch: 200 } }, logLevel: 'warn' })));
    await ch.assertQueue(queue, { durable: true });
    const sendAt = new Date(Date.now() + 86_400_000).toISOString();
    for (let i = 0; i < 1000; i++)
      ch.sendToQueue(queue, Buffer.from(JSON.stringify({ to: { userIds: [`u${i % 300}`] }, message: text(`kill ${i}`), sendAt })), { persistent: true, messageId: `${RUN}-kill-${i}` });
    await ch.waitForConfirms();

    const first = spawnDingpush(['serve', '--config', configFile]);
    const url = (await first.waitFor(/API:\s+(http:\/\/127\.0\.0\.1:\d+)/))[1]!;
    // Killed as soon as the first notifications are stored: others are then between delivery and ack.
    await expect
      .poll(async () => (await (await fetch(`${url}/v1/notifications?limit=1`, { headers: { authorization: `Bearer ${API_KEY}` } })).json()).items?.length ?? 0, {
        timeout: 15_000,
        interval: 20,
      })
      .toBe(1);
    first.child.kill('SIGKILL');
    await first.exited;
    const left = (await ch.checkQueue(queue)).messageCount;

    const second = spawnDingpush(['serve', '--config', configFile]);
    await second.waitFor(/API:\s+(http:\/\/127\.0\.0\.1:\d+)/);
    await expect.poll(async () => (await ch.checkQueue(queue)).messageCount, { timeout: 30_000 }).toBe(0);
    // SIGTERM: the consumer is cancelled and the process exits cleanly.
    second.child.kill('SIGTERM');
    expect(await second.exited).toBe(0);

    const store = await openStore({ sqlite: join(dir, 'dingpush.db') });
    try {
      const all = await store.listNotifications({ limit: 5000 });
      const keys = all.map((n) => n.idempotencyKey);
      expect(new Set(keys).size).toBe(all.length);
      expect(all).toHaveLength(1000);
      expect(keys.every((k) => k?.startsWith(`amqp:${RUN}-kill-`))).toBe(true);
    } finally {
      await store.close();
    }
    // Some were still in the queue (or unacknowledged) when the first process died: the restart took them.
    expect(left).toBeGreaterThan(0);
  }, 90_000);
});

describe('two instances on PostgreSQL', () => {
  const queue = `${RUN}.pg`;
  const exchange = `${RUN}.pg.events`;
  const watch = `${RUN}.pg.watch`;
  made.queues.add(queue).add(`${queue}.dead`).add(watch);
  made.exchanges.add(exchange);
  const schema = usePostgresSchema('amqp');
  const pgEnv = useGateway({
    instances: 2,
    config: {
      store: { postgres: PG_URL, schema },
      ingest: { amqp: { url: AMQP_URL, queue, prefetch: 20 } },
      events: { amqp: { url: AMQP_URL, exchange } },
    },
  });
  it('both consume one queue: 200 messages stored once each; every event published once, by whichever instance', async () => {
    const events: ConsumeMessage[] = [];
    await ch.assertQueue(watch, { durable: false });
    await ch.bindQueue(watch, exchange, 'notification.#');
    await ch.consume(watch, (m) => m && events.push(m), { noAck: true });
    for (let i = 0; i < 200; i++)
      ch.sendToQueue(queue, Buffer.from(JSON.stringify({ to: { userIds: [`u${i}`] }, message: text(`${RUN} pg ${i}`) })), { persistent: true, messageId: `${RUN}-pg-${i}` });
    await ch.waitForConfirms();
    const stored = async () => (await outcomes(pgEnv.gw)).stored + (await outcomes(pgEnv.gw2!)).stored;
    await expect.poll(stored, { timeout: 30_000 }).toBe(200);
    // Both took a share of the queue.
    expect((await outcomes(pgEnv.gw)).stored).toBeGreaterThan(0);
    expect((await outcomes(pgEnv.gw2!)).stored).toBeGreaterThan(0);
    const all = await pgEnv.gw.store.listNotifications({ limit: 500 });
    expect(all).toHaveLength(200);
    await expect.poll(async () => (await pgEnv.gw.store.listNotifications({ limit: 500, status: 'completed' })).length, { timeout: 150_000, interval: 1_000 }).toBe(200);
    const expected = (await Promise.all(all.map((n) => pgEnv.gw.store.events(n.id)))).flat();
    await expect.poll(() => events.length, { timeout: 15_000 }).toBe(expected.length);
    expect(new Set(events.map((m) => m.properties.messageId))).toEqual(new Set(expected.map((e) => e.id)));
    // Each notification's events arrived in the order they happened.
    for (const n of all.slice(0, 20)) {
      const mine = events.filter((m) => JSON.parse(m.content.toString()).notification.id === n.id).map((m) => m.fields.routingKey);
      expect(mine).toEqual(['notification.in_progress', 'notification.completed']);
    }
  }, 240_000);
});
