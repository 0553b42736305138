import { describe, expect, it } from 'vitest';
import { DingpushClient } from '../src/server.js';
import { API_KEY, LIMITED_KEY, text, useGateway } from './helpers.js';

describe('HTTP API', () => {
  const env = useGateway();

  it('a recipient named twice is one delivery and one message', async () => {
    const { id } = await env.api.send({ to: { robots: ['ops', 'ops'], userIds: ['u7', 'u7'] }, message: text('named twice') });
    const n = await env.api.waitFor(id);
    expect(n.deliveries!.map((d) => `${d.channel}:${d.recipient}`).sort()).toEqual(['robot:ops', 'work_notice:u7']);
    expect((await env.inbox('robots', 'ops')).filter((m) => m.message.text?.content === 'named twice')).toHaveLength(1);
  });
  const post = async (body: unknown, headers: Record<string, string> = { authorization: `Bearer ${API_KEY}` }) => {
    const res = await fetch(`${env.gw.url}/v1/notifications`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...headers },
      body: typeof body === 'string' ? body : JSON.stringify(body),
    });
    return { status: res.status, body: await res.json(), headers: res.headers };
  };

  it('accepts a notification with 202 and an id, after storing it', async () => {
    const res = await post({ to: { userIds: ['u1'] }, message: text('hello') });
    expect(res.status).toBe(202);
    expect(res.body).toEqual({ id: expect.stringMatching(/^ntf_/), status: 'queued' });
    const stored = await env.gw.store.getNotification(res.body.id);
    expect(stored?.request).toMatchObject({ to: { userIds: ['u1'] } });
  });

  const bad: [string, unknown, string, RegExp][] = [
    ['no recipient', { to: {}, message: text('x') }, 'to', /at least one recipient/],
    ['empty text', { to: { userIds: ['u1'] }, message: text('') }, 'message.content', /must not be empty/],
    ['text too long with overflow reject', { to: { userIds: ['u1'] }, message: text('x'.repeat(5001)), overflow: 'reject' }, 'message.content', /5000 characters in a work notification/],
    ['markdown too long for a robot, overflow reject', { to: { robots: ['ops'] }, message: { type: 'markdown', title: 't', text: '钉'.repeat(7000) }, overflow: 'reject' }, 'message.text', /20000 bytes in a robot message/],
    ['unknown overflow policy', { to: { userIds: ['u1'] }, message: text('x'), overflow: 'drop' }, 'overflow', /split|truncate|reject/],
    ['markdown without title', { to: { userIds: ['u1'] }, message: { type: 'markdown', text: 'x' } }, 'message.title', /expected string/],
    ['unknown message type', { to: { userIds: ['u1'] }, message: { type: 'sticker' } }, 'message.type', /./],
    ['bad mobile', { to: { mobiles: ['call me'] }, message: text('x') }, 'to.mobiles[0]', /phone number/],
    ['unknown field', { to: { userIds: ['u1'] }, message: text('x'), colour: 'red' }, '(body)', /unknown field "colour"/],
    ['unknown robot', { to: { robots: ['nope'] }, message: text('x') }, 'to.robots[0]', /no robot named "nope"/],
    ['unknown app', { to: { userIds: ['u1'] }, app: 'nope', message: text('x') }, 'app', /no app named "nope"/],
    ['feed card to a person', { to: { userIds: ['u1'] }, message: { type: 'feed_card', links: [{ title: 't', messageUrl: 'https://a', picUrl: 'https://p' }] } }, 'message.type', /cannot be sent to work notices/],
    ['image to a robot', { to: { robots: ['ops'] }, message: { type: 'image', mediaId: '@x' } }, 'message.type', /cannot be sent to robots/],
    ['missing robot keyword', { to: { robots: ['alerts'] }, message: text('no keyword') }, 'to.robots[0]', /keywords: 告警/],
    ['mentions without robots', { to: { userIds: ['u1'] }, message: text('x'), mentions: { mobiles: ['13600000001'] } }, 'mentions', /robot/],
    ['bad sendAt', { to: { userIds: ['u1'] }, message: text('x'), sendAt: 'tomorrow' }, 'sendAt', /./],
    ['bad callbackUrl', { to: { userIds: ['u1'] }, message: text('x'), callbackUrl: 'ftp://x' }, 'callbackUrl', /./],
    ['status bar to a department', { to: { deptIds: [2] }, message: { type: 'oa', messageUrl: 'https://a', head: { bgcolor: 'FFBBBBBB' }, body: {}, statusBar: { value: '待审批' } } }, 'message.statusBar', /at most 5/],
    ['raw without msgtype', { to: { userIds: ['u1'] }, message: { raw: { text: { content: 'x' } } } }, 'message.raw', /msgtype/],
  ];
  it.each(bad)('400 for %s, naming %s, and nothing is stored', async (_name, body, path, message) => {
    const before = (await env.api.list({ limit: 500 })).items.length;
    const res = await post(body);
    expect(res.status).toBe(400);
    expect(res.body.error).toMatchObject({ code: 'invalid_request', path });
    expect(res.body.error.message).toMatch(message);
    expect((await env.api.list({ limit: 500 })).items.length).toBe(before);
  });

  it('400 for a body that is not JSON', async () => {
    const res = await post('{nope');
    expect(res.status).toBe(400);
    expect(res.body.error.code).toBe('invalid_json');
  });

  it('413 for a body over the configured size', async () => {
    const res = await post({ to: { userIds: ['u1'] }, message: text('x'.repeat(70_000)) });
    expect(res.status).toBe(413);
    expect(res.body.error.code).toBe('payload_too_large');
  });

  it('401 without a key or with a wrong one; 403 for a key limited to other apps and robots', async () => {
    expect((await post({ to: { userIds: ['u1'] }, message: text('x') }, {})).status).toBe(401);
    const wrong = await post({ to: { userIds: ['u1'] }, message: text('x') }, { authorization: 'Bearer not-a-key-at-all-0000' });
    expect(wrong).toMatchObject({ status: 401, body: { error: { code: 'unauthorized' } } });
    const limited = { authorization: `Bearer ${LIMITED_KEY}` };
    expect((await post({ to: { userIds: ['u1'] }, message: text('x') }, limited)).body.error).toMatchObject({ code: 'forbidden', path: 'app' });
    expect((await post({ to: { robots: ['ops'] }, message: text('x') }, limited)).status).toBe(403);
    expect((await post({ to: { robots: ['alerts'] }, message: text('告警 x') }, limited)).status).toBe(202);
  });

  it('a key sees only its own notifications', async () => {
    const mine = await env.api.send({ to: { userIds: ['u2'] }, message: text('mine') });
    const other = new DingpushClient({ url: env.gw.url, apiKey: LIMITED_KEY });
    await expect(other.get(mine.id)).rejects.toMatchObject({ status: 404, code: 'not_found' });
    expect((await other.list()).items.every((n) => n.id !== mine.id)).toBe(true);
  });

  it('idempotency: the same key returns the same notification; a different body with it is 409', async () => {
    const body = { to: { userIds: ['u3'] }, message: text('once'), idempotencyKey: 'order-42' };
    const first = await post(body);
    const again = await post(body);
    expect(first.status).toBe(202);
    expect(again.status).toBe(200);
    expect(again.body.id).toBe(first.body.id);
    expect(again.headers.get('idempotent-replayed')).toBe('true');
    const viaHeader = await post({ to: { userIds: ['u3'] }, message: text('once') }, { authorization: `Bearer ${API_KEY}`, 'idempotency-key': 'order-42' });
    expect(viaHeader.body.id).toBe(first.body.id);
    const conflict = await post({ ...body, message: text('different') });
    expect(conflict).toMatchObject({ status: 409, body: { error: { code: 'idempotency_conflict', path: 'idempotencyKey' } } });
    const concurrent = await Promise.all(Array.from({ length: 20 }, () => post({ to: { userIds: ['u4'] }, message: text('race'), idempotencyKey: 'race-1' })));
    expect(new Set(concurrent.map((r) => r.body.id)).size).toBe(1);
    expect(concurrent.filter((r) => r.status === 202)).toHaveLength(1);
  });

  it('lists newest first with a cursor and a status filter', async () => {
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) ids.push((await env.api.send({ to: { userIds: [`u${50 + i}`] }, message: text(`list ${i}`) })).id);
    const page1 = await env.api.list({ limit: 3 });
    expect(page1.items.map((n) => n.id).slice(0, 3)).toEqual(ids.slice(-3).reverse());
    const page2 = await env.api.list({ limit: 3, cursor: page1.nextCursor! });
    expect(page2.items[0]!.id).toBe(ids[1]);
    const bad = await fetch(`${env.gw.url}/v1/notifications?limit=9999`, { headers: { authorization: `Bearer ${API_KEY}` } });
    expect(bad.status).toBe(400);
    expect((await bad.json()).error.path).toBe('limit');
    await env.api.waitFor(ids[4]!);
    const done = await env.api.list({ status: 'completed', limit: 500 });
    expect(done.items.some((n) => n.id === ids[4])).toBe(true);
  });

  it('serves health, readiness, metrics and an OpenAPI document generated from the schemas', async () => {
    expect(await (await fetch(`${env.gw.url}/healthz`)).json()).toEqual({ ok: true });
    expect((await (await fetch(`${env.gw.url}/readyz`)).json()).ok).toBe(true);
    const metrics = await (await fetch(`${env.gw.url}/metrics`)).text();
    expect(metrics).toMatch(/dingpush_notifications_accepted_total \d+/);
    expect(metrics).toContain('dingpush_queue_depth');
    expect(metrics).toContain('dingpush_dingtalk_request_duration_seconds_bucket');
    const doc = await (await fetch(`${env.gw.url}/openapi.json`)).json();
    expect(doc.openapi).toBe('3.1.0');
    const body = doc.paths['/v1/notifications'].post.requestBody.content['application/json'].schema;
    // A message, or a template with its data.
    expect(body.anyOf.map((b: { required: string[] }) => b.required)).toEqual([expect.arrayContaining(['to', 'message']), expect.arrayContaining(['to', 'template'])]);
    expect(JSON.stringify(body)).toContain('"action_card"');
    expect(JSON.stringify(body)).toContain('idempotencyKey');
    // Every field a delivery may show is documented, the digest it went out in among them.
    expect(JSON.stringify(doc)).toContain('The digest this delivery went out in');
  });
});
