import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { API_KEY, useGateway } from './helpers.js';

const ALERTMANAGER = '/usr/bin/prometheus-alertmanager';
const haveAlertmanager = (() => {
  try {
    execFileSync(ALERTMANAGER, ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
})();

const freePort = () =>
  new Promise<number>((resolve) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });

const firing = {
  version: '4',
  groupKey: '{}:{alertname="HighCPU"}',
  truncatedAlerts: 0,
  status: 'firing',
  receiver: 'dingpush',
  groupLabels: { alertname: 'HighCPU' },
  commonLabels: { alertname: 'HighCPU', severity: 'critical' },
  commonAnnotations: {},
  externalURL: 'http://alertmanager.example.com:9093',
  alerts: [
    {
      status: 'firing',
      labels: { alertname: 'HighCPU', severity: 'critical', instance: 'web-01' },
      annotations: { summary: 'CPU 95% on web-01', description: 'for 5 minutes' },
      startsAt: '2026-12-01T01:00:00Z',
      endsAt: '0001-01-01T00:00:00Z',
      generatorURL: 'http://prometheus.example.com/graph?g0.expr=cpu',
      fingerprint: 'a1',
    },
    {
      status: 'firing',
      labels: { alertname: 'HighCPU', severity: 'critical', instance: 'web-02' },
      annotations: { summary: 'CPU 97% on web-02' },
      startsAt: '2026-12-01T01:00:30Z',
      endsAt: '0001-01-01T00:00:00Z',
      generatorURL: 'http://prometheus.example.com/graph?g0.expr=cpu',
      fingerprint: 'a2',
    },
  ],
};

/** `POST /dingtalk/<target>/send`: Alertmanager's and Grafana's webhooks, rendered by the built-in alert template. */
describe('POST /dingtalk/<target>/send', () => {
  const env = useGateway({
    switches: { deliveryMs: 20 },
    config: { delivery: { pollMs: 20 } },
    configure: (config) => {
      config.targets = [
        { name: 'ops-alerts', to: { robots: ['ops'] }, mentions: { mobiles: ['13600000001'] } },
        {
          name: 'oncall',
          to: { robots: ['ops'] },
          mentions: { mobiles: ['13600000001'], bySeverity: { Critical: { mobiles: ['13600000009'], all: true }, warning: { userIds: ['u7'] } } },
        },
      ];
    },
  });

  const markdowns = async () =>
    ((await (await fetch(`${env.emu.url}/_emulator/api/inbox/robots/ops`)).json()).messages as any[]).filter((m) => m.msgtype === 'markdown').map((m) => m.message);
  const post = (body: unknown, target = 'ops-alerts') =>
    fetch(`${env.gw.url}/dingtalk/${target}/send?key=${API_KEY}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });

  it('a firing group: status and count in the title, each alert with severity, labels, summary, time in Asia/Shanghai, links; the mention in the text', async () => {
    const res = await post(firing);
    expect(res.status).toBe(200);
    await expect.poll(async () => (await markdowns()).length, { timeout: 5_000 }).toBeGreaterThan(0);
    const m = (await markdowns()).at(-1);
    expect(m.markdown.title).toBe('🔥 [FIRING:2] HighCPU');
    const text: string = m.markdown.text;
    for (const part of ['CPU 95% on web-01', 'CPU 97% on web-02', 'CRITICAL', 'instance: web-01', '开始: 2026-12-01 09:00:00', '[查看](http://prometheus.example.com/graph?g0.expr=cpu)', '@13600000001'])
      expect(text).toContain(part);
    expect(m.at.atMobiles).toEqual(['13600000001']);
  });

  it('resolved, truncated, and a Grafana contact point payload', async () => {
    const resolved = { ...firing, status: 'resolved', truncatedAlerts: 3, alerts: firing.alerts.map((a) => ({ ...a, status: 'resolved', endsAt: '2026-12-01T01:10:00Z' })) };
    expect((await post(resolved)).status).toBe(200);
    const grafana = { ...firing, version: '1', orgId: 1, state: 'alerting', title: '[FIRING:2] HighCPU (grafana)', message: 'from grafana' };
    expect((await post(grafana)).status).toBe(200);
    await expect.poll(async () => (await markdowns()).map((m) => m.markdown.title), { timeout: 5_000 }).toEqual(expect.arrayContaining(['✅ [RESOLVED:2] HighCPU']));
    const r = (await markdowns()).find((m) => m.markdown.title === '✅ [RESOLVED:2] HighCPU');
    expect(r.markdown.text).toContain('另有 3 条告警被截断');
    expect(r.markdown.text).toContain('恢复: 2026-12-01 09:10:00');
  });

  it('a link that is not http(s) is left out, never the alert', async () => {
    const hostile = { ...firing, externalURL: 'javascript:alert(1)', alerts: [{ ...firing.alerts[0]!, labels: { alertname: 'Hostile', instance: '{{ constructor }}' }, generatorURL: 'javascript:alert(2)' }] };
    expect((await post(hostile)).status).toBe(200);
    await expect.poll(async () => (await markdowns()).map((m) => m.markdown.title), { timeout: 5_000 }).toContain('🔥 [FIRING:1] HighCPU');
    const m = (await markdowns()).find((x) => x.markdown.text.includes('Hostile'));
    expect(m.markdown.text).not.toContain('javascript:');
    expect(m.markdown.text).toContain('instance: {{ constructor }}');
  });

  it('a body that is neither is a 400 (Alertmanager gives up on it); an unknown target a 404; nothing stored', async () => {
    for (const body of [{ hello: 'world' }, { ...firing, version: '3' }, [1, 2]]) {
      const res = await post(body);
      expect(res.status).toBe(400);
      expect(((await res.json()) as { error: { path: string } }).error.path).toBe('body');
    }
    expect((await post(firing, 'nope')).status).toBe(404);
    const noKey = await fetch(`${env.gw.url}/dingtalk/ops-alerts/send`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(firing) });
    expect(noKey.status).toBe(401);
  });

  it('@-mentions by severity: the base plus those of every severity among the firing alerts; a resolved group only the base', async () => {
    const alert = (name: string, severity: string, status: string) => ({ ...firing.alerts[0]!, status, labels: { alertname: name, severity, instance: 'web-09' } });
    const group = (name: string, status: string, alerts: unknown[]) => ({ ...firing, status, groupLabels: { alertname: name }, commonLabels: { alertname: name }, alerts });
    const groups = {
      Critical: group('SevCritical', 'firing', [alert('SevCritical', 'critical', 'firing')]),
      Resolved: group('SevResolved', 'resolved', [alert('SevResolved', 'critical', 'resolved')]),
      Mixed: group('SevMixed', 'firing', [alert('SevMixed', 'warning', 'firing'), alert('SevMixed', 'critical', 'resolved')]),
    };
    for (const body of Object.values(groups)) expect((await post(body, 'oncall')).status).toBe(200);
    const find = async (name: string) => (await markdowns()).find((m) => m.markdown.title.endsWith(` ${name}`));
    await expect.poll(async () => Boolean((await find('SevCritical')) && (await find('SevResolved')) && (await find('SevMixed'))), { timeout: 5_000 }).toBe(true);

    const critical = await find('SevCritical');
    expect(critical.markdown.text).toContain('@13600000001 @13600000009');
    expect(critical.at).toEqual({ atMobiles: ['13600000001', '13600000009'], isAtAll: true });

    const resolved = await find('SevResolved');
    expect(resolved.markdown.text).toContain('@13600000001');
    expect(resolved.markdown.text).not.toContain('13600000009');
    expect(resolved.at).toEqual({ atMobiles: ['13600000001'] });

    const mixed = await find('SevMixed');
    expect(mixed.markdown.text).toContain('@13600000001 @u7');
    expect(mixed.markdown.text).not.toContain('13600000009');
    expect(mixed.at).toEqual({ atMobiles: ['13600000001'], atUserIds: ['u7'] });
  });

  describe.skipIf(!haveAlertmanager)(`with Debian's prometheus-alertmanager${haveAlertmanager ? '' : ' (skipped: not installed)'}`, () => {
    let am: ChildProcess;
    let amUrl = '';
    beforeAll(async () => {
      const dir = mkdtempSync(join(tmpdir(), 'dingpush-am-'));
      const port = await freePort();
      amUrl = `http://127.0.0.1:${port}`;
      writeFileSync(
        join(dir, 'alertmanager.yml'),
        stringify({
          route: { receiver: 'dingpush', group_by: ['alertname'], group_wait: '0s', group_interval: '1s', repeat_interval: '1h' },
          receivers: [{ name: 'dingpush', webhook_configs: [{ url: `${env.gw.url}/dingtalk/ops-alerts/send?key=${API_KEY}`, send_resolved: true }] }],
        }),
      );
      am = spawn(ALERTMANAGER, [`--config.file=${join(dir, 'alertmanager.yml')}`, `--storage.path=${dir}`, `--web.listen-address=127.0.0.1:${port}`, '--cluster.listen-address='], { stdio: 'ignore' });
      for (const until = Date.now() + 15_000; (await fetch(`${amUrl}/-/ready`).catch(() => null))?.status !== 200; ) {
        if (Date.now() > until) throw new Error('prometheus-alertmanager did not become ready in 15 s');
        await new Promise((r) => setTimeout(r, 200));
      }
    });
    afterAll(() => {
      am?.kill('SIGTERM');
    });

    it('an alert fires and resolves: both reach the robot group through the gateway', async () => {
      const alert = { labels: { alertname: 'DiskFull', severity: 'warning', instance: 'db-01' }, annotations: { summary: '磁盘使用率 97%' }, generatorURL: 'http://prometheus.example.com/graph' };
      const send = (a: object) => fetch(`${amUrl}/api/v2/alerts`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify([a]) });
      expect((await send({ ...alert, startsAt: new Date().toISOString() })).status).toBe(200);
      await expect.poll(async () => (await markdowns()).map((m) => m.markdown.title), { timeout: 20_000, interval: 200 }).toContain('🔥 [FIRING:1] DiskFull');
      expect((await send({ ...alert, endsAt: new Date().toISOString() })).status).toBe(200);
      await expect.poll(async () => (await markdowns()).map((m) => m.markdown.title), { timeout: 20_000, interval: 200 }).toContain('✅ [RESOLVED:1] DiskFull');
      const fired = (await markdowns()).find((m) => m.markdown.title === '🔥 [FIRING:1] DiskFull');
      expect(fired.markdown.text).toContain('磁盘使用率 97%');
    }, 45_000);
  });
});
