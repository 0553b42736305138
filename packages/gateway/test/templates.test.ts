import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, type ConfigInput, loadConfigFile, parseConfig } from '../src/server.js';
import { API_KEY, useGateway } from './helpers.js';

const dir = mkdtempSync(join(tmpdir(), 'dingpush-templates-'));
writeFileSync(join(dir, 'report.liquid'), '日报 {{ day }}\n#### 今日\n{% for item in items %}- {{ item.name }}: {{ item.value }}\n{% endfor %}');

// Grafana's webhook contact point, as its documentation shows it (two alerts of different names, values, links).
const grafana = {
  receiver: 'dingpush',
  status: 'firing',
  orgId: 1,
  alerts: [
    {
      status: 'firing',
      labels: { alertname: 'High memory usage', team: 'blue', zone: 'us-1' },
      annotations: { description: 'The system has high memory usage', runbook_url: 'https://runbooks.example.com/1234', summary: 'This alert was triggered for zone us-1' },
      startsAt: '2026-10-12T09:51:03.157076+02:00',
      endsAt: '0001-01-01T00:00:00Z',
      generatorURL: 'https://grafana.example.com/alerting/1afz29v7z/edit',
      fingerprint: 'c6eadffa33fcdf37',
      silenceURL: 'https://grafana.example.com/alerting/silence/new?alertmanager=grafana&matchers=alertname%3DT2',
      dashboardURL: 'https://grafana.example.com/d/abc',
      panelURL: 'https://grafana.example.com/d/abc?viewPanel=2',
      values: { B: 44.23943737541908, C: 1 },
      valueString: "[ var='B' value=44.23943737541908 ], [ var='C' value=1 ]",
    },
    {
      status: 'firing',
      labels: { alertname: 'High CPU usage', team: 'blue', zone: 'eu-1' },
      annotations: { description: 'The system has high CPU usage', summary: 'This alert was triggered for zone eu-1' },
      startsAt: '2026-10-12T09:56:03.157076+02:00',
      endsAt: '0001-01-01T00:00:00Z',
      generatorURL: 'https://grafana.example.com/alerting/d1rdpdv7k/edit',
      fingerprint: 'bc97ff14869b13e3',
      silenceURL: 'https://grafana.example.com/alerting/silence/new',
      dashboardURL: '',
      panelURL: '',
      values: null,
    },
  ],
  groupLabels: {},
  commonLabels: { team: 'blue' },
  commonAnnotations: {},
  externalURL: 'https://grafana.example.com/',
  version: '1',
  groupKey: '{}:{}',
  truncatedAlerts: 0,
  title: '[FIRING:2]  (blue)',
  state: 'alerting',
  message: '**Firing**',
};

/** Templates of one's own: in the configuration, on the JSON API, in the preview, at the targets of the drop-in endpoints. */
describe('templates', () => {
  const env = useGateway({
    switches: { deliveryMs: 20 },
    // A body limit above the bound on data, so that the bound is what refuses a large one.
    config: { delivery: { pollMs: 20 }, server: { host: '127.0.0.1', port: 0, bodyLimitBytes: 256 * 1024 } },
    configure: (config) => {
      config.templates = [
        { name: 'deploy', text: '部署 {{ service }} {{ version }}\n**{{ service }}** 已部署到 {{ env }}\n{% for c in changes %}- {{ c }}\n{% endfor %}' },
        { name: 'report', file: join(dir, 'report.liquid') },
        { name: 'hostile', text: 'hostile\n[{{ constructor }}][{{ obj.constructor }}][{{ obj.__proto__ }}][{{ list.constructor.name }}][{{ data.constructor }}][{{ obj.hasOwnProperty }}]' },
        { name: 'missing-include', text: 'include\nline 2\n{% include "nosuch" %}' },
        { name: 'bomb', text: 'bomb\n{% for i in (1..100000000) %}{{ i }}{% endfor %}' },
        { name: 'slow', text: 'slow\n{% for i in (1..10000) %}{% for j in (1..10000) %}{% endfor %}{% endfor %}' },
        { name: 'with-include', text: '{% include "deploy" %}' },
      ];
      config.targets = [
        { name: 'grafana-ops', to: { robots: ['ops'] }, template: 'grafana' },
        { name: 'deploys', to: { robots: ['ops'] }, template: 'deploy' },
      ];
    },
  });

  const robotMarkdowns = async () => (await env.inbox('robots', 'ops')).filter((m) => m.message.msgtype === 'markdown').map((m) => m.message.markdown);
  const send = (body: unknown) =>
    fetch(`${env.gw.url}/v1/notifications`, { method: 'POST', headers: { authorization: `Bearer ${API_KEY}`, 'content-type': 'application/json' }, body: JSON.stringify(body) });
  const preview = (name: string, body: unknown, headers: Record<string, string> = { authorization: `Bearer ${API_KEY}` }) =>
    fetch(`${env.gw.url}/v1/templates/${name}/render`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) });
  const refusal = async (res: Response) => {
    const body = (await res.json()) as { error: { code: string; path?: string; message: string } };
    return { status: res.status, ...body.error };
  };

  it('a template by text renders through /v1/notifications into the robot group: first line the title, the rest the text', async () => {
    const res = await send({ to: { robots: ['ops'] }, template: 'deploy', data: { service: 'api', version: 'v1.2.3', env: 'prod', changes: ['fix login', 'faster search'] } });
    expect(res.status, await res.clone().text()).toBe(202);
    await expect.poll(async () => (await robotMarkdowns()).map((m) => m.title), { timeout: 5_000 }).toContain('部署 api v1.2.3');
    const m = (await robotMarkdowns()).find((x) => x.title === '部署 api v1.2.3');
    expect(m.text).toBe('**api** 已部署到 prod\n- fix login\n- faster search');
  });

  it("a template from a file reaches a user's work notification; the request's mentions are written into a robot text", async () => {
    const data = { day: '2026-12-01', items: [{ name: '订单', value: 1200 }, { name: '退款', value: 3 }] };
    expect((await send({ to: { userIds: ['u3'] }, template: 'report', data })).status).toBe(202);
    await expect.poll(async () => (await env.inbox('users', 'u3')).map((m) => m.message.markdown?.title), { timeout: 5_000 }).toContain('日报 2026-12-01');
    const m = (await env.inbox('users', 'u3')).find((x) => x.message.markdown?.title === '日报 2026-12-01');
    expect(m.message.markdown.text).toBe('#### 今日\n- 订单: 1200\n- 退款: 3');

    const res = await send({ to: { robots: ['ops'] }, template: 'report', data: { ...data, day: '2026-12-02' }, mentions: { mobiles: ['13600000007'] } });
    expect(res.status).toBe(202);
    await expect.poll(async () => (await robotMarkdowns()).map((x) => x.title), { timeout: 5_000 }).toContain('日报 2026-12-02');
    const r = (await env.inbox('robots', 'ops')).find((x) => x.message.markdown?.title === '日报 2026-12-02');
    expect(r.message.markdown.text).toContain('@13600000007');
    expect(r.message.at.atMobiles).toEqual(['13600000007']);
  });

  it('template and data are validated: unknown template, both or neither of message and template, data not a bounded object', async () => {
    const to = { robots: ['ops'] };
    let deep: unknown = {};
    for (let i = 0; i < 40; i++) deep = { d: deep };
    const cases = [
      [{ to, template: 'nosuch', data: {} }, 'template', /no template named "nosuch"/],
      [{ to, template: 'deploy', data: {}, message: { type: 'text', content: 'x' } }, 'template', /either message or template/],
      [{ to }, 'message', /message, or a template/],
      [{ to, data: { a: 1 } }, 'template', /expected string/],
      [{ to, template: 'deploy', data: [1, 2] }, 'data', /expected object/],
      [{ to, template: 'deploy', data: 'text' }, 'data', /expected object/],
      [{ to, template: 'deploy', data: deep }, 'data', /nested deeper than 32 levels/],
      [{ to, template: 'deploy', data: { big: 'x'.repeat(70 * 1024) } }, 'data', /at most 65536 bytes/],
      [{ to, template: 'deploy', data: {}, extra: 1 }, '(body)', /unknown field "extra"/],
    ] as const;
    for (const [body, path, message] of cases) {
      const r = await refusal(await send(body));
      expect(r, JSON.stringify(body).slice(0, 100)).toMatchObject({ status: 400, code: 'invalid_request', path });
      expect(r.message).toMatch(message);
    }
  });

  it('a template error is a 400 naming the template and the line; an included template works', async () => {
    const r = await refusal(await send({ to: { robots: ['ops'] }, template: 'missing-include', data: {} }));
    expect(r).toMatchObject({ status: 400, path: 'template' });
    expect(r.message).toBe('template "missing-include" line 3: no template named "nosuch"');
    const ok = await preview('with-include', { service: 'web', version: 'v2', env: 'staging', changes: [] });
    expect(ok.status).toBe(200);
    expect(((await ok.json()) as { title: string }).title).toBe('部署 web v2');
  });

  it('sandbox: no prototype or constructor is reachable, and a render bomb is a quick 400, not a hang', async () => {
    const res = await preview('hostile', { obj: { a: 1 }, list: [1], data: { x: 1 } });
    expect(res.status).toBe(200);
    expect(((await res.json()) as { text: string }).text).toBe('[][][][][][]');
    for (const name of ['bomb', 'slow']) {
      const t0 = Date.now();
      const r = await refusal(await send({ to: { robots: ['ops'] }, template: name, data: {} }));
      expect(Date.now() - t0).toBeLessThan(5_000);
      expect(r).toMatchObject({ status: 400, path: 'template' });
      expect(r.message).toMatch(new RegExp(`^template "${name}" line \\d+: .*limit exceeded`));
    }
  });

  it('preview: 200 with title, text and the message; 404 unknown; 400 for an error or bad data; 401 without a key', async () => {
    const res = await preview('deploy', { service: 'api', version: 'v9', env: 'prod', changes: ['x'] });
    expect(res.status).toBe(200);
    const text = '**api** 已部署到 prod\n- x';
    expect(await res.json()).toEqual({ title: '部署 api v9', text, message: { type: 'markdown', title: '部署 api v9', text } });
    // The built-in alert template, previewed with an alert group.
    const am = await preview('grafana', grafana);
    expect(am.status).toBe(200);
    expect(((await am.json()) as { title: string }).title).toBe('🔥 [FIRING:2] High memory usage 等');

    expect(await refusal(await preview('nosuch', {}))).toMatchObject({ status: 404, code: 'not_found', path: 'template' });
    expect(await refusal(await preview('missing-include', {}))).toMatchObject({ status: 400, path: 'template', message: expect.stringContaining('line 3') });
    expect(await refusal(await preview('deploy', [1]))).toMatchObject({ status: 400, message: 'expected object' });
    expect((await preview('deploy', {}, {})).status).toBe(401);
    expect((await preview('deploy', {}, { authorization: 'Bearer wrong-key-0123456789abcdef' })).status).toBe(401);
  });

  it('the OpenAPI document shows template and data on POST /v1/notifications, the preview and PrometheusAlert (drop-in)', async () => {
    const doc = (await (await fetch(`${env.gw.url}/openapi.json`)).json()) as { paths: Record<string, any> };
    const body = doc.paths['/v1/notifications'].post.requestBody.content['application/json'].schema;
    expect(body.anyOf.map((b: { properties: object }) => Object.keys(b.properties))).toEqual([expect.arrayContaining(['message']), expect.arrayContaining(['template', 'data'])]);
    expect(doc.paths['/v1/templates/{name}/render'].post.responses['200']).toBeDefined();
    expect(doc.paths['/prometheusalert'].post.tags).toEqual(['drop-in']);
  });

  it("push to a target with a template: Grafana's webhook body is the data (title, values, dashboard and panel links)", async () => {
    const res = await fetch(`${env.gw.url}/v1/push/grafana-ops`, { method: 'POST', headers: { authorization: `Bearer ${API_KEY}`, 'content-type': 'application/json' }, body: JSON.stringify(grafana) });
    expect(res.status, await res.clone().text()).toBe(202);
    await expect.poll(async () => (await robotMarkdowns()).map((m) => m.title), { timeout: 5_000 }).toContain('🔥 [FIRING:2] High memory usage 等');
    const m = (await robotMarkdowns()).find((x) => x.title === '🔥 [FIRING:2] High memory usage 等');
    for (const part of [
      '> This alert was triggered for zone us-1',
      '- zone: us-1',
      '- 开始: 2026-10-12 15:51:03',
      '- 值: B=44.2394, C=1',
      '[查看](https://grafana.example.com/alerting/1afz29v7z/edit)',
      '[仪表盘](https://grafana.example.com/d/abc)',
      '[面板](https://grafana.example.com/d/abc?viewPanel=2)',
      '[Runbook](https://runbooks.example.com/1234)',
      '[Grafana](https://grafana.example.com/)',
    ])
      expect(m.text).toContain(part);

    // Any JSON webhook (here a deploy hook) with the target's own template; a text body is still a plain push.
    const hook = await fetch(`${env.gw.url}/v1/push/deploys`, {
      method: 'POST',
      headers: { authorization: `Bearer ${API_KEY}`, 'content-type': 'application/json' },
      body: JSON.stringify({ service: 'billing', version: 'v7', env: 'prod', changes: [] }),
    });
    expect(hook.status).toBe(202);
    const plain = await fetch(`${env.gw.url}/v1/push/deploys`, { method: 'POST', headers: { authorization: `Bearer ${API_KEY}`, 'content-type': 'text/plain' }, body: '纯文本 push' });
    expect(plain.status).toBe(202);
    await expect.poll(async () => (await robotMarkdowns()).map((x) => x.title), { timeout: 5_000 }).toContain('部署 billing v7');
    await expect.poll(async () => (await env.inbox('robots', 'ops')).some((x) => x.message.text?.content === '纯文本 push'), { timeout: 5_000 }).toBe(true);
  });
});

/** The configuration's `templates:`: read from files beside the config, parsed at load, errors naming the key. */
describe('templates in the configuration', () => {
  const base = (extra: Partial<ConfigInput>): ConfigInput => ({ apiKeys: [{ name: 'k', key: 'k'.repeat(16) }], robots: [{ name: 'ops', webhook: 'https://oapi.dingtalk.com/robot/send?access_token=x' }], ...extra });
  const problem = (input: ConfigInput) => {
    try {
      parseConfig(input);
      return 'no error';
    } catch (err) {
      expect(err).toBeInstanceOf(ConfigError);
      return (err as Error).message;
    }
  };

  it('a file relative to the config file is read into text at load', () => {
    const cfgDir = mkdtempSync(join(tmpdir(), 'dingpush-cfg-'));
    mkdirSync(join(cfgDir, 'tpl'));
    writeFileSync(join(cfgDir, 'tpl', 'short.liquid'), '{{ title }}\n{{ body }}');
    writeFileSync(join(cfgDir, 'dingpush.yaml'), 'apiKeys: [{ name: k, key: kkkkkkkkkkkkkkkk }]\ntemplates:\n  - { name: short, file: tpl/short.liquid }\ntargets:\n  - { name: t, to: { userIds: [u1] }, template: short }\n');
    const config = loadConfigFile(join(cfgDir, 'dingpush.yaml'));
    expect(config.templates).toEqual([{ name: 'short', file: 'tpl/short.liquid', text: '{{ title }}\n{{ body }}' }]);
    expect(config.targets[0]!.template).toBe('short');
  });

  it('a template that does not parse, a missing file, a clash with a built-in, an unknown target template: config errors naming the key', () => {
    expect(problem(base({ templates: [{ name: 'ok', text: 'x' }, { name: 'broken', text: 'a\nb\n{% if x %}' }] }))).toBe('templates[1].text: line 3: tag {% if x %} not closed');
    expect(problem(base({ templates: [{ name: 'f', text: 'a\n{{ x | nosuchfilter }}' }] }))).toBe('templates[0].text: line 2: undefined filter: nosuchfilter');
    expect(problem(base({ templates: [{ name: 'f', file: join(dir, 'nope.liquid') }] }))).toMatch(/^templates\[0\]\.file: cannot read .*nope\.liquid: ENOENT$/);
    const broken = join(dir, 'broken.liquid');
    writeFileSync(broken, 'title\n\n{% for x in y %}');
    expect(problem(base({ templates: [{ name: 'f', file: broken }] }))).toBe(`templates[0].file: ${broken}: line 3: tag {% for x in y %} not closed`);
    expect(problem(base({ templates: [{ name: 'alertmanager', text: 'x' }] }))).toBe('templates[0].name: alertmanager is a built-in template; give yours another name');
    expect(problem(base({ templates: [{ name: 'a', text: 'x' }, { name: 'a', text: 'y' }] }))).toBe('templates[1].name: duplicate name a');
    expect(problem(base({ templates: [{ name: 'a', text: 'x', file: 'a.liquid' }] }))).toBe('templates[0]: give text or file, not both');
    expect(problem(base({ templates: [{ name: 'a' } as never] }))).toMatch(/^templates\[0\]: give the template as text, or as file/);
    expect(problem(base({ targets: [{ name: 't', to: { robots: ['ops'] }, template: 'nosuch' }] }))).toBe('targets[0].template: no template named nosuch');
    expect(problem(base({ targets: [{ name: 't', to: { robots: ['ops'] }, template: 'grafana' }] }))).toBe('no error');
  });
});
