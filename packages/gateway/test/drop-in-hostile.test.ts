
import { describe, expect, it } from 'vitest';
import { API_KEY, useGateway } from './helpers.js';

const TEAM_KEY = 'team-only-key-0123456789abcdef';

const alert = (i: number, extra: Record<string, unknown> = {}) => ({
  status: 'firing',
  labels: { alertname: 'HighCPU', severity: 'critical', instance: `web-${i}` },
  annotations: { summary: `CPU 95% on web-${i}`, description: 'for 5 minutes' },
  startsAt: '2026-12-01T01:00:00Z',
  endsAt: '0001-01-01T00:00:00Z',
  generatorURL: 'http://prometheus.example.com/graph?g0.expr=cpu',
  fingerprint: `f${i}`,
  ...extra,
});
const group = (alerts: unknown[]) => ({
  version: '4',
  groupKey: '{}:{alertname="HighCPU"}',
  truncatedAlerts: 0,
  status: 'firing',
  receiver: 'dingpush',
  groupLabels: { alertname: 'HighCPU' },
  commonLabels: { alertname: 'HighCPU' },
  commonAnnotations: {},
  externalURL: 'http://alertmanager.example.com:9093',
  alerts,
});

/** Review 3: hostile or unlucky bodies at the drop-in push and Alertmanager endpoints. */
describe('/v1/push and /dingtalk/<target>/send under attack', () => {
  const env = useGateway({
    switches: { deliveryMs: 20 },
    config: { delivery: { pollMs: 20 } },
    configure: (config) => {
      config.server = { host: '127.0.0.1', port: 0, bodyLimitBytes: 1024 * 1024 };
      config.targets = [
        { name: 'ops-alerts', to: { robots: ['alerts'] } },
        { name: 'team', to: { userIds: ['u3'] } },
      ];
      config.robots = config.robots!.map((r) => (r.name === 'alerts' ? { ...r, keywords: [] } : r));
      config.apiKeys = [...config.apiKeys!, { name: 'team-only', key: TEAM_KEY, targets: ['team'] }];
    },
  });

  const inbox = async () => (await (await fetch(`${env.emu.url}/_emulator/api/inbox/robots/alerts`)).json()).messages as any[];
  const am = (body: unknown) =>
    fetch(`${env.gw.url}/dingtalk/ops-alerts/send`, { method: 'POST', headers: { authorization: `Bearer ${API_KEY}`, 'content-type': 'application/json' }, body: typeof body === 'string' ? body : JSON.stringify(body) });
  const push = (target: string, body: string, headers: Record<string, string> = {}, query = '') =>
    fetch(`${env.gw.url}/v1/push/${target}${query}`, { method: 'POST', headers: { authorization: `Bearer ${API_KEY}`, 'content-type': 'text/plain', ...headers }, body });

  it('Alertmanager: one alert whose generatorURL is not http(s) does not lose the whole group (4xx = dropped by Alertmanager)', async () => {
    const res = await am(group([alert(1), alert(2, { generatorURL: 'javascript:alert(document.cookie)' })]));
    const text = await res.text();
    expect(res.status, text).toBe(200);
    // and the hostile link is not what reaches the group
    await expect.poll(async () => (await inbox()).filter((m) => /web-1/.test(m.message.markdown?.text ?? '')).length, { timeout: 5_000 }).toBe(1);
    expect(JSON.stringify(await inbox())).not.toContain('javascript:');
  });

  it('Alertmanager: an annotation with a relative runbook link does not lose the whole group', async () => {
    const res = await am(group([alert(3, { annotations: { summary: 'disk', description: 'see [runbook](/runbooks/disk-full)' } })]));
    expect(res.status, await res.text()).toBe(200);
  });

  it('Alertmanager: a large group (under the body limit) is stored, cut with a note, not refused', async () => {
    const alerts = Array.from({ length: 1500 }, (_, i) => alert(1000 + i, { annotations: { summary: 's'.repeat(150), description: 'd'.repeat(150) } }));
    const body = JSON.stringify(group(alerts));
    expect(body.length).toBeLessThan(1024 * 1024);
    const t0 = Date.now();
    const res = await am(body);
    const text = await res.text();
    expect(res.status, `${text} after ${Date.now() - t0} ms`).toBe(200);
  });

  it('Alertmanager: a group over the body limit is not a 4xx (Alertmanager drops a 4xx for good)', async () => {
    const alerts = Array.from({ length: 4000 }, (_, i) => alert(9000 + i, { annotations: { summary: 's'.repeat(150), description: 'd'.repeat(150) } }));
    const res = await am(group(alerts));
    const text = await res.text();
    expect(res.status >= 400 && res.status < 500, `${res.status} ${text.slice(0, 200)}`).toBe(false);
  });

  it('push: a long Title is cut to the robot title limit, not refused', async () => {
    const res = await push('ops-alerts', 'body text', { Title: 'T'.repeat(80) });
    expect(res.status, await res.text()).toBe(202);
  });

  it('push: urgent priority and tags with a 64-character first line (markdown) are not refused for the title they make', async () => {
    const res = await push('ops-alerts', `${'L'.repeat(64)}\nmore`, { Priority: '5', Tags: 'disk,web-01', Markdown: 'yes' });
    expect(res.status, await res.text()).toBe(202);
  });

  it('push: a key limited to targets cannot reach other robots through /v1/notifications', async () => {
    const res = await fetch(`${env.gw.url}/v1/notifications`, {
      method: 'POST',
      headers: { authorization: `Bearer ${TEAM_KEY}`, 'content-type': 'application/json' },
      body: JSON.stringify({ to: { robots: ['alerts'] }, message: { type: 'text', content: 'team-only key reaching a robot outside its targets' } }),
    });
    expect(res.status, await res.text()).toBe(403);
  });
});
