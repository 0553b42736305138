import { describe, expect, it } from 'vitest';
import { parseConfig } from '../src/server.js';
import { API_KEY, text, useGateway } from './helpers.js';

const READ_KEY = 'viewer-key-0123456789abcdef';
const message = (fn: () => unknown) => {
  try {
    fn();
    return '';
  } catch (err) {
    return (err as Error).message;
  }
};

/** Review of the dashboard (issue 10): the paths a hostile or hurried user takes. */
describe('dashboard, hostile review', () => {
  const env = useGateway({
    switches: { deliveryMs: 20, readAfterMs: 100, readPercent: 100 },
    config: { delivery: { pollMs: 20 } },
    configure: (config) => {
      config.apiKeys = [...config.apiKeys!, { name: 'viewer', key: READ_KEY, scope: 'read' }];
    },
  });
  const call = async (path: string, init: RequestInit = {}, key = API_KEY) => {
    const res = await fetch(`${env.gw.url}${path}`, {
      ...init,
      headers: { authorization: `Bearer ${key}`, ...(init.body ? { 'content-type': 'application/json' } : {}) },
    });
    return { status: res.status, body: (await res.json()) as any };
  };
  const post = (path: string) => call(path, { method: 'POST', body: '{}' });

  it('a search takes % _ \' and \\ literally; a hostile cursor or limit is a 400 or an empty page, never an error', async () => {
    const odd = await env.api.send({ to: { robots: ['ops'] }, message: text("50%_off it's a\\b") });
    const plain = await env.api.send({ to: { robots: ['ops'] }, message: text('50xxoff abc') });
    await env.api.waitFor(odd.id);
    const ids = async (q: string) => (await call(`/v1/notifications?limit=500&q=${encodeURIComponent(q)}`)).body.items.map((n: any) => n.id);
    expect(await ids('%_')).toEqual([odd.id]);
    expect(await ids("it's")).toEqual([odd.id]);
    expect(await ids('a\\b')).toEqual([odd.id]);
    expect(await ids('50__off')).toEqual([]);
    expect(await ids("' or 1=1 --")).toEqual([]);
    expect(await ids('50xx')).toEqual([plain.id]);
    expect((await call(`/v1/notifications?cursor=${encodeURIComponent("' or 1=1 --")}`)).body.items).toEqual([]);
    expect((await call('/v1/notifications?limit=100000')).body.error.path).toBe('limit');
    expect((await call('/v1/notifications?limit=abc')).body.error.path).toBe('limit');
    expect((await call('/v1/notifications?since=2024-01-01')).body.error.path).toBe('since');
  });

  it('resend twice (a double click) sends once: the second answers the first resend', async () => {
    const { id } = await env.api.send({ to: { robots: ['bad', 'ops'] }, message: text('double click') });
    await env.api.waitFor(id);
    const [a, b] = await Promise.all([post(`/v1/notifications/${id}/resend`), post(`/v1/notifications/${id}/resend`)]);
    const c = await post(`/v1/notifications/${id}/resend`);
    expect([a.status, b.status, c.status].filter((s) => s === 202)).toHaveLength(1);
    const ids = new Set([a, b, c].map((r) => r.body.id ?? r.body.error?.message));
    expect(ids.size, JSON.stringify([a.body, b.body, c.body])).toBe(1);
    const resends = (await call('/v1/notifications?limit=500&q=double%20click')).body.items.filter((n: any) => n.resendOf === id);
    expect(resends).toHaveLength(1);
  });

  it('a recalled notification is not resent: 409, nothing stored', async () => {
    const { id } = await env.api.send({ to: { robots: ['bad'], userIds: ['u1'] }, message: text('recalled, then resent?') });
    await env.api.waitFor(id);
    const recalled = await post(`/v1/notifications/${id}/recall`);
    expect(recalled.status).toBe(200);
    const res = await post(`/v1/notifications/${id}/resend`);
    expect(res.status, JSON.stringify(res.body)).toBe(409);
    expect(res.body.error).toMatchObject({ code: 'recalled', path: 'id' });
    const resends = (await call('/v1/notifications?limit=500')).body.items.filter((n: any) => n.resendOf === id);
    expect(resends).toEqual([]);
  });

  it('a read key cannot be limited (it reads everything) nor own what the AMQP queue sends', () => {
    const key = (k: Record<string, unknown>) => ({ name: 'viewer', key: READ_KEY, scope: 'read', ...k });
    expect(message(() => parseConfig({ robots: [{ name: 'ops', webhook: 'https://oapi.dingtalk.com/robot/send?access_token=x' }], apiKeys: [key({ robots: ['ops'] })] }))).toBe(
      'apiKeys[0].robots: a read key reads every notification: apps, robots and targets limit send keys only',
    );
    expect(
      message(() =>
        parseConfig({
          robots: [{ name: 'ops', webhook: 'https://oapi.dingtalk.com/robot/send?access_token=x' }],
          apiKeys: [key({}), { name: 'sender', key: API_KEY }],
          ingest: { amqp: { url: 'amqp://guest:guest@127.0.0.1:5672', queue: 'q' } },
        }),
      ),
    ).toBe('ingest.amqp.owner: the API key viewer has scope read; name a key that may send notifications');
  });
});
