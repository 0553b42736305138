import { robotSignature } from '@dingpush/dingtalk';
import { describe, expect, it } from 'vitest';
import { ROBOT_SECRET, tokens, useGateway } from './helpers.js';

const INGEST_TOKEN = 'ingest-token-for-ops-0123456789';
const UNCONFIGURED = '1'.repeat(64);

const group = (alertname: string, status: 'firing' | 'resolved' = 'firing') => ({
  version: '4',
  groupKey: `{}:{alertname="${alertname}"}`,
  truncatedAlerts: 0,
  status,
  receiver: 'prometheusalert',
  groupLabels: { alertname },
  commonLabels: { alertname, severity: 'critical' },
  commonAnnotations: {},
  externalURL: 'http://alertmanager.example.com:9093',
  alerts: [
    {
      status,
      labels: { alertname, severity: 'critical', instance: 'db-01' },
      annotations: { summary: `${alertname} on db-01` },
      startsAt: '2026-12-01T01:00:00Z',
      endsAt: '0001-01-01T00:00:00Z',
      generatorURL: 'http://prometheus.example.com/graph',
      fingerprint: 'p1',
    },
  ],
});

/** `POST /prometheusalert?type=dd&tpl=…&ddurl=…&at=…`: PrometheusAlert's URL, to configured robots only. */
describe('POST /prometheusalert', () => {
  const env = useGateway({
    switches: { deliveryMs: 20 },
    config: { delivery: { pollMs: 20 } },
    configure: (config) => {
      config.robots = config.robots!.map((r) => (r.name === 'ops' ? { ...r, ingestToken: INGEST_TOKEN } : r));
      config.templates = [{ name: 'short', text: '告警 {{ alerts.size }} 条: {{ commonLabels.alertname }}\n{% for a in alerts %}- {{ a.annotations.summary }}\n{% endfor %}' }];
    },
  });

  const markdowns = async (robot: string) => (await env.inbox('robots', robot)).filter((m) => m.message.msgtype === 'markdown').map((m) => m.message);
  const ddurl = (token: string) => `${env.emu.url}/robot/send?access_token=${token}`;
  const post = (query: string, body: unknown) =>
    fetch(`${env.gw.url}/prometheusalert?${query}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: typeof body === 'string' ? body : JSON.stringify(body) });
  const answer = async (res: Response) => ({ status: res.status, ...((await res.json()) as { errcode: number; errmsg: string }) });
  const stored = async () => (await env.gw.store.listNotifications({ apiKey: 'prometheusalert', limit: 500 })).length;

  it('a configured ddurl with a built-in tpl and at=: 200 ok once stored, the message and the mention reach the group', async () => {
    const res = await post(`type=dd&tpl=prometheus-dd&ddurl=${ddurl(tokens.alerts)}&at=13600000001,13600000002`, group('DiskFull'));
    expect(await answer(res)).toEqual({ status: 200, errcode: 0, errmsg: 'ok' });
    await expect.poll(async () => (await markdowns('alerts')).map((m) => m.markdown.title), { timeout: 5_000 }).toContain('🔥 [FIRING:1] DiskFull');
    const m = (await markdowns('alerts')).find((x) => x.markdown.title === '🔥 [FIRING:1] DiskFull');
    expect(m.markdown.text).toContain('DiskFull on db-01');
    expect(m.markdown.text).toContain('@13600000001 @13600000002');
    expect(m.at.atMobiles).toEqual(['13600000001', '13600000002']);
  });

  it("two ddurls (a real token, and a signed robot's ingest token): one notification, both groups; a template of one's own", async () => {
    const before = await stored();
    const res = await post(`type=dd&tpl=short&ddurl=${ddurl(tokens.alerts)},${env.gw.url}/robot/send?access_token=${INGEST_TOKEN}`, group('NodeDown'));
    expect(await answer(res)).toEqual({ status: 200, errcode: 0, errmsg: 'ok' });
    expect(await stored()).toBe(before + 1);
    for (const robot of ['alerts', 'ops'])
      await expect.poll(async () => (await markdowns(robot)).map((m) => m.markdown.title), { timeout: 5_000 }).toContain('告警 1 条: NodeDown');
    expect((await markdowns('ops')).find((m) => m.markdown.title === '告警 1 条: NodeDown').markdown.text).toBe('- NodeDown on db-01');
  });

  it('a ddurl of no configured robot: errcode 300001 and nothing stored, not even for the configured one beside it', async () => {
    const before = await stored();
    const calls = (await env.calls('/robot/send')).length;
    for (const query of [`ddurl=${ddurl(UNCONFIGURED)}`, `ddurl=${ddurl(tokens.alerts)},${ddurl(UNCONFIGURED)}`, `ddurl=${env.emu.url}/robot/send`]) {
      const res = await post(`type=dd&tpl=prometheus-dd&${query}`, group('Relay'));
      const text = await res.clone().text();
      expect(await answer(res)).toEqual({ status: 400, errcode: 300001, errmsg: 'token is not exist' });
      expect(text).not.toContain(tokens.alerts);
    }
    expect(await stored()).toBe(before);
    await new Promise((r) => setTimeout(r, 300));
    expect((await env.calls('/robot/send')).length).toBe(calls);
  });

  it("a signed robot at its real token needs the signature in the ddurl, as at /robot/send", async () => {
    expect(await answer(await post(`type=dd&tpl=prometheus-dd&ddurl=${ddurl(tokens.ops)}`, group('Unsigned')))).toEqual({ status: 400, errcode: 310000, errmsg: 'sign not match' });
    const at = Date.now();
    const signed = encodeURIComponent(`${ddurl(tokens.ops)}&timestamp=${at}&sign=${encodeURIComponent(robotSignature(ROBOT_SECRET, at))}`);
    expect(await answer(await post(`type=dd&tpl=prometheus-dd&ddurl=${signed}`, group('Signed')))).toEqual({ status: 200, errcode: 0, errmsg: 'ok' });
    await expect.poll(async () => (await markdowns('ops')).map((m) => m.markdown.title), { timeout: 5_000 }).toContain('🔥 [FIRING:1] Signed');
  });

  it('bad requests: type other than dd, an unknown or missing tpl, a bad mobile in at, a body that is not a JSON object, a keyword missing', async () => {
    const before = await stored();
    const url = ddurl(tokens.alerts);
    const cases = [
      [`type=wx&tpl=prometheus-dd&ddurl=${url}`, group('X'), /^错误描述:type: only DingTalk \(type=dd\) is served/],
      [`tpl=prometheus-dd&ddurl=${url}`, group('X'), /^错误描述:type: /],
      [`type=dd&tpl=nosuch&ddurl=${url}`, group('X'), /^错误描述:tpl: no template named "nosuch"/],
      [`type=dd&ddurl=${url}`, group('X'), /^错误描述:tpl: /],
      [`type=dd&tpl=prometheus-dd`, group('X'), /^错误描述:ddurl: /],
      [`type=dd&tpl=prometheus-dd&ddurl=${url}&at=not-a-phone`, group('X'), /^错误描述:at\[0\]: must be a phone number/],
      [`type=dd&tpl=prometheus-dd&ddurl=${url}`, 'not json', /^错误描述:body: must be JSON/],
      [`type=dd&tpl=prometheus-dd&ddurl=${url}`, [1, 2], /^错误描述:body: must be a JSON object/],
      // The `alerts` robot takes only messages with its keyword 告警; a resolved group has none.
      [`type=dd&tpl=prometheus-dd&ddurl=${url}`, group('Y', 'resolved'), /^错误描述:to\.robots\[0\]: .*keywords/],
    ] as const;
    for (const [query, body, errmsg] of cases) {
      const a = await answer(await post(query, body));
      expect(a, query).toMatchObject({ status: 400, errcode: 400402 });
      expect(a.errmsg).toMatch(errmsg);
    }
    expect(await stored()).toBe(before);
  });
});
