import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { isLoopback, ProxyRouter, redactUrl, Transport } from '@dingpush/dingtalk';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ConfigInput, parseConfig } from '../src/server.js';
import { type ConnectProxy, type ConnectProxyOptions, startConnectProxy } from './connect-proxy.js';
import { APP, type Env, text, tokens, useGateway } from './helpers.js';

/** A name only the proxy can resolve (as a corporate proxy resolves names its clients cannot). */
const DINGTALK_HOST = 'oapi.dingtalk.test';
const PROXY_USER = 'dingpush';
const PROXY_PASSWORD = 'hunter2-proxy-secret';
const PROXY_VARIABLES = ['HTTP_PROXY', 'HTTPS_PROXY', 'NO_PROXY', 'http_proxy', 'https_proxy', 'no_proxy'] as const;

/** A CONNECT proxy for the describe block it is called in (started before its gateway, closed after it). */
function useProxy(opts: ConnectProxyOptions = {}): { proxy: ConnectProxy } {
  const holder = {} as { proxy: ConnectProxy };
  beforeAll(async () => {
    holder.proxy = await startConnectProxy({ hosts: { [DINGTALK_HOST]: '127.0.0.1' }, ...opts });
  });
  afterAll(async () => {
    await holder.proxy?.close();
  });
  return holder;
}

/** The gateway addresses the emulator (and its robots) by DingTalk's name, which only the proxy resolves. */
function byName(input: ConfigInput): void {
  const rename = (url: string) => url.replace('//127.0.0.1:', `//${DINGTALK_HOST}:`);
  input.dingtalk = { ...input.dingtalk, oapiBaseUrl: rename(input.dingtalk!.oapiBaseUrl!), apiBaseUrl: rename(input.dingtalk!.apiBaseUrl!) };
  input.robots = input.robots!.map((r) => ({ ...r, webhook: rename(r.webhook) }));
}

/** A work notification and a robot message through the public API; both are awaited in DingTalk's inboxes. */
async function sendBoth(env: Env, label: string): Promise<void> {
  const notice = await env.api.send({ to: { userIds: ['u1'] }, message: text(`${label}: work notice`) });
  const robot = await env.api.send({ to: { robots: ['ops'] }, message: text(`${label}: robot`) });
  for (const { id } of [notice, robot]) {
    const n = await env.api.waitFor(id, { timeoutMs: 10_000 });
    expect(n.deliveries!.map((d) => d.status).every((s) => ['sent', 'read', 'unread'].includes(s))).toBe(true);
  }
  const shown = async (kind: 'users' | 'robots', id: string) => (await env.inbox(kind, id)).map((m) => m.message.text?.content);
  expect(await shown('users', 'u1')).toContain(`${label}: work notice`);
  expect(await shown('robots', 'ops')).toContain(`${label}: robot`);
}

/** Sets proxy variables for the describe block's gateway (read when its Transport is made), and restores them after. */
function useProxyEnvironment(values: () => Partial<Record<(typeof PROXY_VARIABLES)[number], string>>): void {
  const saved = Object.fromEntries(PROXY_VARIABLES.map((k) => [k, process.env[k]]));
  beforeAll(() => {
    for (const k of PROXY_VARIABLES) delete process.env[k];
    Object.assign(process.env, values());
  });
  afterAll(() => {
    for (const k of PROXY_VARIABLES) {
      if (saved[k] === undefined) delete process.env[k];
      else process.env[k] = saved[k];
    }
  });
}

describe('dingtalk.proxy: calls to DingTalk go through the configured proxy', () => {
  const px = useProxy({ auth: { user: PROXY_USER, password: PROXY_PASSWORD } });
  // The environment names another proxy (which does not exist): the configured one wins.
  useProxyEnvironment(() => ({ HTTPS_PROXY: 'http://127.0.0.1:1', HTTP_PROXY: 'http://127.0.0.1:1' }));
  const env = useGateway({
    configure: (input) => {
      byName(input);
      input.dingtalk!.proxy = px.proxy.url;
    },
  });

  it('a work notification and a robot message arrive, tunnelled (with the proxy credentials) to a name only the proxy resolves', async () => {
    await sendBoth(env, 'configured proxy');
    const target = `${DINGTALK_HOST}:${env.emu.port}`;
    expect(px.proxy.connects.length).toBeGreaterThan(0);
    expect(new Set(px.proxy.connects)).toEqual(new Set([target]));
    const basic = `Basic ${Buffer.from(`${PROXY_USER}:${PROXY_PASSWORD}`).toString('base64')}`;
    expect(px.proxy.authorizations.every((a) => a === basic)).toBe(true);
  });
});

describe('without dingtalk.proxy: HTTPS_PROXY / HTTP_PROXY are honoured', () => {
  const px = useProxy();
  useProxyEnvironment(() => ({ HTTPS_PROXY: px.proxy.url, HTTP_PROXY: px.proxy.url }));
  const env = useGateway({ configure: byName });

  it('a work notification and a robot message arrive through the environment\'s proxy', async () => {
    await sendBoth(env, 'environment proxy');
    expect(px.proxy.connects.length).toBeGreaterThan(0);
    expect(new Set(px.proxy.connects)).toEqual(new Set([`${DINGTALK_HOST}:${env.emu.port}`]));
  });
});

describe('loopback destinations are never proxied', () => {
  const px = useProxy();
  useProxyEnvironment(() => ({ HTTPS_PROXY: 'http://127.0.0.1:1', HTTP_PROXY: 'http://127.0.0.1:1' }));
  const env = useGateway({
    configure: (input) => {
      input.dingtalk!.proxy = px.proxy.url;
    },
  });

  it('with a proxy configured, messages to an emulator at 127.0.0.1 go straight there: the proxy sees nothing', async () => {
    await sendBoth(env, 'loopback');
    expect(px.proxy.connects).toEqual([]);
  });
});

describe('a proxy that fails', () => {
  const px = useProxy({ mode: 'refuse' });
  const env = useGateway({
    configure: (input) => {
      byName(input);
      // Credentials in the URL: they must show nowhere.
      input.dingtalk!.proxy = px.proxy.url.replace('//', `//${PROXY_USER}:${PROXY_PASSWORD}@`);
    },
  });

  const reasonOf = async (id: string) => (await env.api.get(id)).deliveries![0]!.reason ?? '';
  const secrets = [PROXY_PASSWORD, tokens.ops, APP.appSecret];

  it('answers 407 or closes the connection: the delivery\'s reason names the proxy failure, no secret; it goes out once the proxy works', async () => {
    const robot = await env.api.send({ to: { robots: ['ops'] }, message: text('through a failing proxy') });
    const notice = await env.api.send({ to: { userIds: ['u2'] }, message: text('work notice through a failing proxy') });
    const proxyName = `proxy 127.0.0.1:${px.proxy.port}`;
    for (const { id } of [robot, notice]) {
      await expect.poll(() => reasonOf(id), { timeout: 10_000 }).toContain('refused with HTTP 407');
      const reason = await reasonOf(id);
      expect(reason).toContain(proxyName);
      for (const s of secrets) expect(reason).not.toContain(s);
      expect((await env.api.get(id)).deliveries![0]!.status).not.toMatch(/sent|failed/);
    }

    px.proxy.mode = 'close';
    for (const { id } of [robot, notice]) {
      await expect.poll(() => reasonOf(id), { timeout: 10_000 }).toContain('closed the connection before answering');
      expect(await reasonOf(id)).toContain(proxyName);
    }
    // Each attempt is one CONNECT, not an endless loop of them.
    const attempts = px.proxy.connects.length;
    expect(attempts).toBeLessThan(100);

    px.proxy.mode = 'tunnel';
    await env.api.waitFor(robot.id, { timeoutMs: 10_000 });
    await env.api.waitFor(notice.id, { timeoutMs: 10_000 });
    expect((await env.inbox('robots', 'ops')).map((m) => m.message.text?.content)).toContain('through a failing proxy');
    expect((await env.inbox('users', 'u2')).map((m) => m.message.text?.content)).toContain('work notice through a failing proxy');
  });
});

describe('ProxyRouter, the proxy setting and its validation', () => {
  it('loopback is localhost, 127.0.0.0/8 and ::1 (in any spelling the URL parser gives)', () => {
    for (const url of ['http://localhost:1/', 'http://LOCALHOST./', 'http://127.0.0.1/', 'http://127.9.9.9/', 'http://127.1/', 'http://[::1]:8/', 'http://[::ffff:127.0.0.1]/'])
      expect(isLoopback(new URL(url).hostname), url).toBe(true);
    for (const url of ['https://oapi.dingtalk.com/', 'http://128.0.0.1/', 'http://10.0.0.1/', 'http://[::2]/', 'http://localhost.example.com/'])
      expect(isLoopback(new URL(url).hostname), url).toBe(false);
  });

  it('\'env\': NO_PROXY exempts hosts, the variables are read once (when the router is made), passwords are redacted', async () => {
    const target = createServer((_req, res) => res.end('{"errcode":0}'));
    await new Promise<void>((resolve) => target.listen(0, '127.0.0.1', resolve));
    const port = (target.address() as AddressInfo).port;
    const proxy = await startConnectProxy({ hosts: { [DINGTALK_HOST]: '127.0.0.1' } });
    const router = new ProxyRouter({ setting: 'env', env: { HTTP_PROXY: proxy.url.replace('http://', ''), NO_PROXY: 'skip.test' } });
    const saved = process.env.NO_PROXY;
    try {
      expect(router.description).toBe(`http via http://127.0.0.1:${proxy.port}/, not for skip.test`);
      // What doctor reports as the path a call takes agrees with where the request goes.
      expect(router.proxyOf(`http://${DINGTALK_HOST}:${port}/x`)).toBe(`http://127.0.0.1:${proxy.port}/`);
      expect(router.proxyOf(`http://skip.test:${port}/x`)).toBeUndefined();
      expect(router.proxyOf(`http://api.skip.test/x`)).toBeUndefined();
      expect(router.proxyOf(`https://${DINGTALK_HOST}/x`)).toBeUndefined(); // no HTTPS_PROXY given
      expect(router.proxyOf(`http://127.0.0.1:${port}/x`)).toBeUndefined();
      // `*` exempts everything only as the whole of NO_PROXY (as undici reads it), not inside a list.
      const starInList = new ProxyRouter({ setting: 'env', env: { HTTP_PROXY: proxy.url, NO_PROXY: 'localhost,*' } });
      const starAlone = new ProxyRouter({ setting: 'env', env: { HTTP_PROXY: proxy.url, NO_PROXY: '*' } });
      expect(starInList.proxyOf(`http://${DINGTALK_HOST}/x`)).toBe(`http://127.0.0.1:${proxy.port}/`);
      expect(starAlone.proxyOf(`http://${DINGTALK_HOST}/x`)).toBeUndefined();
      await Promise.all([starInList.close(), starAlone.close()]);
      // Changing the environment afterwards changes nothing.
      process.env.NO_PROXY = '*';
      const res = await request(`http://${DINGTALK_HOST}:${port}/x`, { dispatcher: router });
      expect(await res.body.json()).toEqual({ errcode: 0 });
      await expect(request(`http://skip.test:${port}/x`, { dispatcher: router })).rejects.toMatchObject({ code: expect.stringMatching(/ENOTFOUND|EAI_AGAIN/) });
      await (await request(`http://127.0.0.1:${port}/x`, { dispatcher: router })).body.text();
      expect(proxy.connects).toEqual([`${DINGTALK_HOST}:${port}`]);
    } finally {
      if (saved === undefined) delete process.env.NO_PROXY;
      else process.env.NO_PROXY = saved;
      await router.close();
      await proxy.close();
      target.close();
    }
    const none = new ProxyRouter({ setting: 'env', env: {} });
    expect(none.description).toBeUndefined();
    expect(none.dispatcherFor('https://oapi.dingtalk.com/')).toBe(none.direct);
    await none.close();
    expect(() => new ProxyRouter({ setting: 'env', env: { https_proxy: 'socks5://u:pw-secret@proxy:1080' } })).toThrow(/^https_proxy: socks5:\/\/u:\*\*\*@proxy:1080\/?: must be an http/);
    expect(redactUrl('http://u:p@h:1')).toBe('http://u:***@h:1/');
  });

  it('dingtalk.proxy must be an http(s) URL with a host; the error does not show its password', () => {
    const base = { apiKeys: [{ name: 'k', key: 'k'.repeat(16) }], logLevel: 'silent' as const };
    expect(parseConfig({ ...base, dingtalk: { proxy: 'http://u:pw@proxy.corp:3128' } }).dingtalk.proxy).toBe('http://u:pw@proxy.corp:3128');
    expect(parseConfig({ ...base }).dingtalk.proxy).toBeUndefined();
    for (const proxy of ['socks5://u:pw-secret@proxy:1080', 'proxy.corp:3128', 'not a url']) {
      let message = '';
      try {
        parseConfig({ ...base, dingtalk: { proxy } });
      } catch (err) {
        message = (err as Error).message;
      }
      expect(message, proxy).toMatch(/dingtalk\.proxy/);
      expect(message).not.toContain('pw-secret');
    }
  });

  it('a Transport takes a dispatcher or a proxy, not both', async () => {
    const t = new Transport({ proxy: { url: 'http://proxy.corp:3128' } });
    expect(t.proxy).toBe('http://proxy.corp:3128/');
    expect(() => new Transport({ dispatcher: t.dispatcher, proxy: 'env' })).toThrow(/not both/);
    await t.close();
  });
});
