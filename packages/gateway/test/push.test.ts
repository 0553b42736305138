import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { API_KEY, useGateway } from './helpers.js';

const run = promisify(execFile);
const TEAM_KEY = 'team-only-key-0123456789abcdef';
const curl = await run('curl', ['--version']).then(
  () => true,
  () => false,
);
const apprise = await run('apprise', ['--version']).then(
  () => true,
  () => false,
);

/** `POST /v1/push/<target>`: ntfy-style `curl -d`, forms and JSON (apprise's json:// and form://) reach a target. */
describe('POST /v1/push/<target>', () => {
  const env = useGateway({
    switches: { deliveryMs: 20 },
    config: { delivery: { pollMs: 20 } },
    configure: (config) => {
      config.targets = [
        { name: 'ops-alerts', to: { robots: ['ops'] } },
        { name: 'team', to: { userIds: ['u3'] } },
      ];
      config.apiKeys = [...config.apiKeys!, { name: 'team-only', key: TEAM_KEY, targets: ['team'] }];
    },
  });

  const robotInbox = async () => (await (await fetch(`${env.emu.url}/_emulator/api/inbox/robots/ops`)).json()).messages as any[];
  const push = (target: string, body: string, headers: Record<string, string> = {}, query = '') =>
    fetch(`${env.gw.url}/v1/push/${target}${query}`, { method: 'POST', headers: { authorization: `Bearer ${API_KEY}`, 'content-type': 'text/plain', ...headers }, body });
  const arrived = (pick: (m: any) => boolean) => expect.poll(async () => (await robotInbox()).filter(pick).length, { timeout: 5_000 }).toBe(1);

  it('curl -d with ntfy headers: a markdown message with the title, priority, tags and a link', async () => {
    // The title as curl sends it (raw UTF-8 bytes); the tags as RFC 2047, as ntfy documents for non-ASCII headers.
    const utf8 = (s: string) => Buffer.from(s).toString('latin1');
    const rfc2047 = (s: string) => `=?UTF-8?B?${Buffer.from(s).toString('base64')}?=`;
    const res = await push('ops-alerts', '磁盘使用率 91%', { Title: utf8('磁盘告警'), Priority: 'urgent', Tags: rfc2047('磁盘,web-01'), Click: 'https://grafana.example.com/d/1' });
    expect(res.status).toBe(202);
    expect(await res.json()).toMatchObject({ id: expect.stringMatching(/^ntf_/), status: 'queued' });
    await arrived((m) => m.message.markdown?.title === '【紧急】 #磁盘 #web-01 磁盘告警');
    const m = (await robotInbox()).find((x) => x.message.markdown?.title?.endsWith('磁盘告警'));
    expect(m.message.markdown.text).toContain('磁盘使用率 91%');
    expect(m.message.markdown.text).toContain('[打开](https://grafana.example.com/d/1)');
  });

  it.skipIf(!curl)('the real curl -d, with an ntfy Title header, as the README shows it', async () => {
    const { stdout } = await run('curl', ['-s', '-d', '部署完成 v9 curl', '-H', 'Title: 发布', `${env.gw.url}/v1/push/ops-alerts?key=${API_KEY}`]);
    expect(JSON.parse(stdout)).toMatchObject({ status: 'queued' });
    await arrived((m) => m.message.markdown?.title === '发布' && m.message.markdown.text.includes('部署完成 v9 curl'));
  });

  it('a plain body is a text message; the key may come as Basic auth or ?key=', async () => {
    expect((await push('ops-alerts', '部署完成 v1.2.3')).status).toBe(202);
    const basic = `Basic ${Buffer.from(`anyone:${API_KEY}`).toString('base64')}`;
    expect((await push('ops-alerts', '部署完成 basic', { authorization: basic })).status).toBe(202);
    const res = await fetch(`${env.gw.url}/v1/push/ops-alerts?key=${API_KEY}`, { method: 'POST', body: '部署完成 query' });
    expect(res.status).toBe(202);
    for (const c of ['部署完成 v1.2.3', '部署完成 basic', '部署完成 query']) await arrived((m) => m.message.text?.content === c);
  });

  it('JSON and form bodies with title and message (or body)', async () => {
    const json = await push('ops-alerts', JSON.stringify({ title: '备份', message: '备份完成 json' }), { 'content-type': 'application/json' });
    expect(json.status).toBe(202);
    const form = await push('ops-alerts', new URLSearchParams({ title: '备份', body: '备份完成 form' }).toString(), { 'content-type': 'application/x-www-form-urlencoded' });
    expect(form.status).toBe(202);
    await arrived((m) => m.message.markdown?.text?.includes('备份完成 json'));
    await arrived((m) => m.message.markdown?.text?.includes('备份完成 form'));
  });

  it.skipIf(!apprise)(`apprise's json:// and form:// unchanged but for the URL${apprise ? '' : ' (skipped: apprise is not installed)'}`, async () => {
    const host = new URL(env.gw.url).host;
    for (const scheme of ['json', 'form']) {
      const { stdout, stderr } = await run('apprise', ['-vv', '-t', `apprise ${scheme}`, '-b', `sent by apprise ${scheme}://`, `${scheme}://user:${API_KEY}@${host}/v1/push/ops-alerts`]);
      expect(`${stdout}${stderr}`).not.toContain(API_KEY);
      await arrived((m) => m.message.markdown?.text?.includes(`sent by apprise ${scheme}://`));
    }
  });

  it('a key limited to targets, unknown targets and bad input: the API error object, nothing stored', async () => {
    const team = await push('ops-alerts', 'x', { authorization: `Bearer ${TEAM_KEY}` });
    const unknown = await push('nope', 'x');
    expect([team.status, unknown.status]).toEqual([404, 404]);
    for (const body of [await team.json(), await unknown.json()]) {
      expect(body).toEqual({ error: { code: 'not_found', message: 'no such target for this key', path: 'target' } });
      expect(JSON.stringify(body)).not.toMatch(/ops-alerts|team/);
    }
    expect((await push('team', '给 u3 的通知', { authorization: `Bearer ${TEAM_KEY}` })).status).toBe(202);
    expect((await push('ops-alerts', 'x', { authorization: 'Bearer wrong-key-0123456789abcdef' })).status).toBe(401);
    expect((await fetch(`${env.gw.url}/v1/push/ops-alerts`, { method: 'POST', body: 'x' })).status).toBe(401);

    const bad = [
      [await push('ops-alerts', '   '), 'message'],
      [await push('ops-alerts', 'x', { Priority: 'banana' }), 'Priority'],
      [await push('ops-alerts', 'x', { Title: 't', Click: 'javascript:alert(1)' }), 'message.text'],
      [await push('ops-alerts', JSON.stringify({ title: 't' }), { 'content-type': 'application/json' }), 'message'],
    ] as const;
    for (const [res, path] of bad) {
      expect(res.status).toBe(400);
      expect(((await res.json()) as { error: { path: string } }).error.path).toBe(path);
    }
  });
});
