import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { PG_URL, API_KEY, usePostgresSchema, useGateway } from './helpers.js';

/** Media on PostgreSQL: the bytes in a bytea column, the upload cache shared by instances on the store. */
const schema = usePostgresSchema('media');
const env = useGateway({ instances: 2, configure: (c) => {
    c.store = { postgres: PG_URL, schema };
  },
});

describe('media on PostgreSQL', () => {
  it('stores the bytes, reuses the row, and uploads once for the app', async () => {
    const bytes = Buffer.concat([Buffer.from('89504e470d0a1a0a', 'hex'), Buffer.from('pg image '.repeat(30))]);
    const form = new FormData();
    form.set('file', new Blob([bytes]), 'pg.png');
    const res = await fetch(`${env.gw2!.url}/v1/media`, { method: 'POST', headers: { authorization: `Bearer ${API_KEY}` }, body: form });
    const media = (await res.json()) as { id: string; sha256: string };
    expect(media.sha256).toBe(createHash('sha256').update(bytes).digest('hex'));
    for (const u of ['u1', 'u2']) {
      const n = await env.api.send({ to: { userIds: [u] }, message: { type: 'image', media: media.id } });
      await env.api.waitFor(n.id, { until: (v) => (v.deliveries ?? []).every((d) => d.status !== 'queued' && d.status !== 'sending'), timeoutMs: 10_000 });
    }
    expect((await env.calls('/media/upload')).length).toBe(1);
    await expect.poll(async () => (await env.inbox('users', 'u2')).length, { timeout: 10_000 }).toBe(1);
    const id = (await env.inbox('users', 'u2'))[0].message.image.media_id;
    const stored = Buffer.from(await (await fetch(`${env.emu.url}/_emulator/api/media/${encodeURIComponent(id)}`)).arrayBuffer());
    expect(stored.equals(bytes)).toBe(true);
  });
});
