import { type ChannelModel, type ConfirmChannel, connect } from 'amqplib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError, parseConfig } from '../src/server.js';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { API_KEY, gatewayConfig, PG_URL, text, useGateway, usePostgresSchema } from './helpers.js';

/** Review of issue 12: hostile queue messages against the real broker and PostgreSQL. */
const AMQP_URL = process.env.DINGPUSH_TEST_AMQP ?? 'amqp://guest:guest@127.0.0.1:5672';
const RUN = `dingpush-rev12-${process.pid}-${Date.now()}`;
const QUEUE = `${RUN}.in`;

let conn: ChannelModel;
let ch: ConfirmChannel;
beforeAll(async () => {
  conn = await connect(AMQP_URL);
  ch = await conn.createConfirmChannel();
});
afterAll(async () => {
  for (const q of [QUEUE, `${QUEUE}.dead`]) await ch.deleteQueue(q).catch(() => {});
  await conn?.close();
});

const publish = async (body: unknown, opts: { messageId?: string } = {}) => {
  ch.sendToQueue(QUEUE, Buffer.from(JSON.stringify(body)), { persistent: true, ...opts });
  await ch.waitForConfirms();
};

describe('RabbitMQ ingest on PostgreSQL, hostile messages', () => {
  const schema = usePostgresSchema('rev12_amqp');
  const env = useGateway({ config: { store: { postgres: PG_URL, schema }, ingest: { amqp: { url: AMQP_URL, queue: QUEUE, prefetch: 10 } } } });
  const outcomes = async () => {
    const values = (await env.gw.runtime.metrics.ingested.get()).values;
    const of = (o: string) => values.find((v) => v.labels.outcome === o)?.value ?? 0;
    return { stored: of('stored'), dead: of('dead'), retry: of('retry') };
  };

  it('a message PostgreSQL can never store (a NUL in its idempotency key) is dead-lettered once, not requeued forever', async () => {
    const before = await outcomes();
    await publish({ to: { userIds: ['u1'] }, message: text(`${RUN} nul`), idempotencyKey: 'key\u0000nul' }, { messageId: `${RUN}-nul` });
    // Behind it, a good one still goes.
    await publish({ to: { userIds: ['u2'] }, message: text(`${RUN} after`) }, { messageId: `${RUN}-after` });
    await expect.poll(async () => (await outcomes()).stored - before.stored, { timeout: 10_000 }).toBe(1);
    await expect.poll(async () => (await outcomes()).dead - before.dead, { timeout: 10_000 }).toBe(1);
    const m = await ch.get(`${QUEUE}.dead`, { noAck: true });
    expect(m ? m.properties.messageId : null).toBe(`${RUN}-nul`);
    expect(m && String(m.properties.headers?.['x-dingpush-error'])).toMatch(/^store_refused/);
    await new Promise((r) => setTimeout(r, 1_500));
    expect((await ch.checkQueue(QUEUE)).messageCount).toBe(0);
    // Over HTTP the same request is a 4xx, not a 500.
    const res = await fetch(`${env.gw.url}/v1/notifications`, {
      method: 'POST',
      headers: { authorization: `Bearer ${API_KEY}`, 'content-type': 'application/json' },
      body: JSON.stringify({ to: { userIds: ['u1'] }, message: text(`${RUN} nul`), idempotencyKey: 'key\u0000nul' }),
    });
    expect(res.status).toBeLessThan(500);
  });

  it('a dead-letter queue deleted while consuming: the next dead letter is still kept (the queue declared again), not dropped', async () => {
    const before = await outcomes();
    await ch.deleteQueue(`${QUEUE}.dead`);
    await publish({ to: { userIds: ['u1'] }, message: { type: 'text' } }, { messageId: `${RUN}-after-delete` });
    await expect.poll(async () => (await outcomes()).dead - before.dead, { timeout: 10_000 }).toBe(1);
    // Before the fix: published to a queue that no longer existed (confirmed by the broker, routed nowhere), then acked.
    // A channel of its own: a get from a queue that does not exist closes the channel.
    const probe = await conn.createChannel();
    probe.on('error', () => {});
    const m = await probe.get(`${QUEUE}.dead`, { noAck: true }).catch(() => false as const);
    await probe.close().catch(() => {});
    expect(m ? m.properties.messageId : null).toBe(`${RUN}-after-delete`);
  });
});

describe('RabbitMQ config, URLs amqplib can never connect to', () => {
  const problems = (url: string) => {
    try {
      parseConfig({
        ...gatewayConfig('http://127.0.0.1:9', mkdtempSync(join(tmpdir(), 'dingpush-rev12-cfg-'))),
        ingest: { amqp: { url, queue: 'q' } },
        events: { amqp: { url, exchange: 'x' } },
      });
      return [];
    } catch (err) {
      if (!(err instanceof ConfigError)) throw err;
      return err.problems;
    }
  };
  it('a port out of range, a broken host, no host stop the start naming the key, never showing the password', () => {
    // Before the fix: accepted; the links retried forever ("Expected amqp: or amqps: as the protocol").
    for (const url of ['amqp://u:s3cr3t@127.0.0.1:99999', 'amqp://u:s3cr3t@[bad', 'amqp://u:s3cr3t@']) {
      const found = problems(url);
      expect(found, url).toEqual(['ingest.amqp.url: an amqp:// or amqps:// URL', 'events.amqp.url: an amqp:// or amqps:// URL']);
      expect(found.join('\n')).not.toContain('s3cr3t');
    }
    expect(problems('amqp://u:s3cr3t@127.0.0.1:5672/vhost?heartbeat=10')).toEqual([]);
  });
});
