import { describe, expect, it } from 'vitest';
import { API_KEY, APP, LIMITED_KEY, PG_URL, ROBOT_SECRET, text, tokens, useGateway, usePostgresSchema } from './helpers.js';

const READ_KEY = 'viewer-key-0123456789abcdef';
const CALLBACK_SECRET = 'viewer-callback-secret-000000';
/** Every configured secret: none may appear in any answer the dashboard reads. */
const SECRETS = [API_KEY, LIMITED_KEY, READ_KEY, CALLBACK_SECRET, ROBOT_SECRET, APP.appSecret, tokens.ops, tokens.alerts, tokens.bad, 'SECwrongwrongwrong'];

/**
 * The dashboard's reads through HTTP: /v1/me, the list's filters, /v1/stats, /v1/destinations, timeline, resend, read
 * keys — on SQLite and on PostgreSQL, since the list, stats and destination queries are SQL of their own.
 */
describe.each(['sqlite', 'postgres'] as const)('dashboard API on %s', (kind) => {
  const store = kind === 'postgres' ? { store: { postgres: PG_URL, schema: usePostgresSchema('dash') } } : {};
  const env = useGateway({
    switches: { deliveryMs: 20, readAfterMs: 100, readPercent: 100 },
    config: { delivery: { pollMs: 20 }, ...store },
    configure: (config) => {
      config.targets = [{ name: 'ops-alerts', to: { robots: ['ops'] } }];
      config.apiKeys = [...config.apiKeys!, { name: 'viewer', key: READ_KEY, scope: 'read', callbackSecret: CALLBACK_SECRET }];
    },
  });
  const answers: string[] = [];
  const call = async (path: string, key: string | null = API_KEY, init: RequestInit = {}) => {
    const res = await fetch(`${env.gw.url}${path}`, {
      ...init,
      headers: { ...(key ? { authorization: `Bearer ${key}` } : {}), ...(init.body ? { 'content-type': 'application/json' } : {}) },
    });
    const body = await res.text();
    answers.push(body);
    return { status: res.status, body: JSON.parse(body) as any };
  };
  const post = (path: string, body: unknown, key: string | null = API_KEY) => call(path, key, { method: 'POST', body: JSON.stringify(body) });

  it('/v1/me names the key and its scope, never its value; a read key may read and nothing else', async () => {
    const me = await call('/v1/me');
    expect(me.body).toEqual({ name: 'tests', scope: 'send', sandbox: false, sees: 'own', may: { read: true, send: true, recall: true, retry: true, resend: true } });
    const viewer = await call('/v1/me', READ_KEY);
    expect(viewer.body).toMatchObject({ name: 'viewer', scope: 'read', sees: 'all', may: { read: true, send: false, recall: false, resend: false } });
    expect((await call('/v1/me', null)).status).toBe(401);

    const keys = await call('/v1/keys', READ_KEY);
    expect(keys.body.items.map((k: any) => [k.name, k.scope])).toEqual([
      ['tests', 'send'],
      ['limited', 'send'],
      ['viewer', 'read'],
    ]);
    expect((await call('/v1/keys')).body.items.map((k: any) => k.name)).toEqual(['tests']);

    const { id } = await env.api.send({ to: { robots: ['ops'] }, message: text('seen by the viewer') });
    await env.api.waitFor(id);
    expect((await call(`/v1/notifications/${id}`, READ_KEY)).body.id).toBe(id);
    for (const [path, body] of [
      ['/v1/notifications', { to: { robots: ['ops'] }, message: text('x') }],
      [`/v1/notifications/${id}/recall`, {}],
      [`/v1/notifications/${id}/resend`, {}],
      [`/v1/notifications/${id}/retry`, {}],
      ['/v1/push/ops-alerts', { title: 't', message: 'm' }],
    ] as const) {
      const res = await post(path, body, READ_KEY);
      expect(res.status, path).toBe(403);
      expect(res.body.error).toMatchObject({ code: 'forbidden', path: 'scope', message: expect.stringContaining('scope read') });
    }
    // Nothing was stored by the refused send.
    expect((await call('/v1/notifications?q=x&limit=500', READ_KEY)).body.items.filter((n: any) => n.title === 'x')).toEqual([]);
  });

  it('the list filters by text, status, channel, destination, recipient, target, key and time, and pages', async () => {
    const a = await env.api.send({ to: { robots: ['ops'] }, message: { type: 'markdown', title: '部署 Alpha 完成', text: '### 发布\n- api' } });
    const b = await env.api.send({ to: { userIds: ['u7'] }, message: text('disk beta on web-01') });
    const c = await fetch(`${env.gw.url}/v1/push/ops-alerts`, {
      method: 'POST',
      headers: { authorization: `Bearer ${API_KEY}`, 'content-type': 'application/json' },
      body: JSON.stringify({ title: 'gamma', message: 'from a target' }),
    }).then((r) => r.json() as Promise<{ id: string }>);
    for (const id of [a.id, b.id, c.id]) await env.api.waitFor(id);
    const ids = async (qs: string, key = API_KEY) => (await call(`/v1/notifications?${qs}`, key)).body.items.map((n: any) => n.id);

    expect(await ids('q=alpha')).toEqual([a.id]); // case-insensitive, in the title
    expect(await ids(`q=${encodeURIComponent('发布')}`)).toEqual([a.id]); // in the content
    expect(await ids('q=BETA')).toEqual([b.id]);
    expect(await ids('q=userIds')).toEqual([]); // the request's field names are not searched
    expect(await ids('q=%25')).toEqual([]); // % is a literal
    expect(await ids('channel=work_notice&limit=500')).toContain(b.id);
    expect(await ids('channel=work_notice&limit=500')).not.toContain(a.id);
    expect((await ids('destination=ops&limit=500')).slice(0, 2)).toEqual([c.id, a.id]);
    expect(await ids('recipient=u7')).toEqual([b.id]);
    expect(await ids('target=ops-alerts')).toEqual([c.id]);
    expect(await ids('key=tests&limit=3')).toEqual([c.id, b.id, a.id]);
    expect(await ids('key=limited')).toEqual([]); // another key's: none, for a send key
    expect(await ids('until=2000-01-01T00:00:00Z')).toEqual([]);
    expect(await ids(`since=${new Date(env.now() - 60_000).toISOString()}&limit=3`)).toEqual([c.id, b.id, a.id]);
    const first = await call('/v1/notifications?limit=2&key=tests');
    expect(first.body.items.map((n: any) => n.id)).toEqual([c.id, b.id]);
    expect(first.body.items[0]).toMatchObject({ title: 'gamma', target: 'ops-alerts', key: 'tests', destinations: ['robot:ops'] });
    const next = await call(`/v1/notifications?limit=1&key=tests&cursor=${first.body.nextCursor}`);
    expect(next.body.items.map((n: any) => n.id)).toEqual([a.id]);
    // The read key sees every owner's.
    expect(await ids('q=alpha', READ_KEY)).toEqual([a.id]);

    for (const [qs, path] of [
      ['status=nope', 'status'],
      ['channel=fax', 'channel'],
      ['since=yesterday', 'since'],
      ['limit=0', 'limit'],
    ]) {
      const res = await call(`/v1/notifications?${qs}`);
      expect(res.status, qs).toBe(400);
      expect(res.body.error.path, qs).toBe(path);
    }
    expect((await call('/v1/notifications?color=red')).body.error).toMatchObject({ code: 'invalid_request', message: 'unknown field "color"' });
  });

  it('/v1/stats counts accepted and delivered in buckets of the hour and the day', async () => {
    const hour = await call('/v1/stats?window=hour');
    expect(hour.body).toMatchObject({ window: 'hour', bucketMs: 60_000 });
    expect(hour.body.buckets).toHaveLength(60);
    expect(hour.body.totals.accepted).toBeGreaterThanOrEqual(4);
    expect(hour.body.totals.sent).toBeGreaterThanOrEqual(4);
    const day = await call('/v1/stats?window=day', READ_KEY);
    expect(day.body.buckets).toHaveLength(24);
    expect(day.body.totals.accepted).toBe(hour.body.totals.accepted);
    const bad = await call('/v1/stats?window=week');
    expect(bad.status).toBe(400);
    expect(bad.body.error.path).toBe('window');
  });

  it('/v1/destinations: queue, quota in use, the last error with its meaning and what to do; limited keys see theirs', async () => {
    await env.fault({ path: '/robot/send', kind: 'errcode', errcode: 310000, errmsg: 'keywords not in content', count: 1 });
    const { id } = await env.api.send({ to: { robots: ['ops'] }, message: text('hit by the fault') });
    await env.api.waitFor(id);
    const d = await call('/v1/destinations', READ_KEY);
    const ops = d.body.robots.find((r: any) => r.name === 'ops');
    expect(ops.quota).toMatchObject({ limit: expect.any(Number), windowMs: 62_000 });
    expect(ops.quota.used).toBeGreaterThanOrEqual(1);
    expect(ops.queue).toEqual({ depth: 0, oldestAgeMs: 0 });
    expect(ops.lastError).toMatchObject({ code: '310000', meaning: expect.any(String), whatToDo: { en: expect.any(String), zh: expect.any(String) } });
    expect(ops.lastSuccessAt).not.toBeNull();
    const app = d.body.apps.find((a: any) => a.name === APP.name);
    expect(app.channels.work_notice).toEqual({ depth: 0, oldestAgeMs: 0 });
    expect(app.quota.calls.length).toBeGreaterThan(0);
    expect(app.lastSuccessAt).not.toBeNull();
    // The limited key (robots: [alerts], apps: []) sees only its robot.
    const limited = await call('/v1/destinations', LIMITED_KEY);
    expect(limited.body.robots.map((r: any) => r.name)).toEqual(['alerts']);
    expect(limited.body.apps).toEqual([]);
  });

  it('resend sends the failed recipients again as a new notification linked to the old; the timeline shows each call', async () => {
    const { id } = await env.api.send({ to: { robots: ['bad', 'ops'] }, message: text('partly failed') });
    const n = await env.api.waitFor(id);
    expect(n.deliveries!.map((x) => [x.destination, x.status]).sort()).toEqual([
      ['bad', 'failed'],
      ['ops', 'sent'],
    ]);
    const timeline = await call(`/v1/notifications/${id}/timeline`);
    const bad = timeline.body.recipients.find((r: any) => r.destination === 'bad');
    expect(bad.calls[0]).toMatchObject({ outcome: 'permanent', code: '310000', meaning: expect.any(String) });
    expect(bad.moves.map((m: any) => m.status)).toContain('failed');
    expect(timeline.body.request.message).toEqual({ type: 'text', content: 'partly failed' });

    const resent = await post(`/v1/notifications/${id}/resend`, {});
    expect(resent.status).toBe(202);
    expect(resent.body).toMatchObject({ resendOf: id, recipients: 1 });
    const again = await env.api.waitFor(resent.body.id);
    expect(again).toMatchObject({ resendOf: id });
    expect(again.deliveries!.map((x) => x.destination)).toEqual(['bad']);
    // Nothing failed in a notification that went everywhere: 409, nothing stored.
    const ok = await env.api.send({ to: { robots: ['ops'] }, message: text('all fine') });
    await env.api.waitFor(ok.id);
    const none = await post(`/v1/notifications/${ok.id}/resend`, {});
    expect(none.status).toBe(409);
    expect(none.body.error.code).toBe('nothing_to_resend');
    // Another key's notification is not found for a send key.
    expect((await post(`/v1/notifications/${id}/resend`, {}, LIMITED_KEY)).status).toBe(404);
  });

  it('no answer the dashboard reads carries a configured secret', async () => {
    for (const path of ['/v1/me', '/v1/keys', '/v1/destinations', '/v1/stats?window=day', '/v1/notifications?limit=500', '/openapi.json']) await call(path, READ_KEY);
    const all = answers.join('\n');
    for (const s of SECRETS) expect(all.includes(s), s.slice(0, 6)).toBe(false);
  });
});
