import { describe, expect, it } from 'vitest';
import { PG_URL, SEND, text, useGateway, usePostgresSchema } from './helpers.js';

describe('the gateway on PostgreSQL', () => {
  const schema = usePostgresSchema('gw');
  const env = useGateway({ config: { store: { postgres: PG_URL, schema } } });

  it('accepts, delivers and tracks with the shared store', async () => {
    expect(env.gw.store.kind).toBe('postgres');
    const { id } = await env.api.send({ to: { userIds: ['u1', 'u2'], robots: ['ops'] }, message: text('on postgres') });
    const n = await env.api.waitFor(id, { timeoutMs: 15_000 });
    expect(n.deliveries!.map((d) => d.status).sort()).toEqual(expect.arrayContaining(['sent']));
    expect(n.deliveries!.filter((d) => d.channel === 'work_notice').every((d) => ['read', 'unread'].includes(d.status))).toBe(true);
  });

  it('a send DingTalk refuses as busy is retried after a backoff (whole milliseconds: PostgreSQL keeps times as bigint)', async () => {
    await env.fault({ path: SEND, kind: 'busy', count: 1 });
    const { id } = await env.api.send({ to: { userIds: ['u3'] }, message: text('busy once on postgres') });
    const n = await env.api.waitFor(id, { timeoutMs: 15_000 });
    expect(n.deliveries![0]).toMatchObject({ status: expect.stringMatching(/^(read|unread)$/), attempts: 2 });
  });
});
