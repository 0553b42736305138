import { type ChannelModel, type ConfirmChannel, connect } from 'amqplib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { API_KEY, PG_URL, text, useGateway, usePostgresSchema } from './helpers.js';

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
    expect(m && m.properties.messageId).toBe(`${RUN}-nul`);
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
});
