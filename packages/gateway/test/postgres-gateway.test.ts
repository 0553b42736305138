import { describe, expect, it } from 'vitest';
import { PG_URL, text, useGateway, usePostgresSchema } from './helpers.js';

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
});
