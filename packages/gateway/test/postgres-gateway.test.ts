import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { text, useGateway } from './helpers.js';

const PG_URL = process.env.DINGPUSH_TEST_POSTGRES ?? 'postgres://postgres@127.0.0.1:5432/test';
const schema = `dingpush_gw_${process.pid}_${Date.now()}`;

describe('the gateway on PostgreSQL', () => {
  const env = useGateway({ config: { store: { postgres: PG_URL, schema } } });
  afterAll(async () => {
    const client = new pg.Client({ connectionString: PG_URL });
    await client.connect();
    await client.query(`drop schema if exists "${schema}" cascade`);
    await client.end();
  });

  it('accepts, delivers and tracks with the shared store', async () => {
    expect(env.gw.store.kind).toBe('postgres');
    const { id } = await env.api.send({ to: { userIds: ['u1', 'u2'], robots: ['ops'] }, message: text('on postgres') });
    const n = await env.api.waitFor(id, { timeoutMs: 15_000 });
    expect(n.deliveries!.map((d) => d.status).sort()).toEqual(expect.arrayContaining(['sent']));
    expect(n.deliveries!.filter((d) => d.channel === 'work_notice').every((d) => ['read', 'unread'].includes(d.status))).toBe(true);
  });
});
