import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DingpushClient, parseConfig, type RunningGateway, startGateway } from '../src/server.js';
import { API_KEY, gatewayConfig, LIMITED_KEY, text, useGateway } from './helpers.js';

/** A configured key that happens to be called "sandbox"; it must get no special treatment. */
const SANDBOX_NAMED_KEY = 'sandbox-named-key-0123456789abcdef';

const env = useGateway({
  config: {
    // Larger than the 64 KiB bound on message.raw, so that bound (not the body limit) is what answers.
    server: { host: '127.0.0.1', port: 0, bodyLimitBytes: 256 * 1024 },
    apiKeys: [
      { name: 'tests', key: API_KEY },
      { name: 'limited', key: LIMITED_KEY, robots: ['alerts'], apps: [] },
      { name: 'sandbox', key: SANDBOX_NAMED_KEY },
    ],
  },
});

const post = async (body: unknown, headers: Record<string, string> = { authorization: `Bearer ${API_KEY}` }) => {
  const res = await fetch(`${env.gw.url}/v1/notifications`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  return { status: res.status, body: await res.json() };
};
const count = async () => (await env.api.list({ limit: 500 })).items.length;
const RULE = /must be an http, https or dingtalk URL/;

const BAD_URLS: [string, string][] = [
  ['javascript:', 'javascript:alert(1)'],
  ['mixed-case JavaScript:', 'JavaScript:alert(1)'],
  ['leading space', ' javascript:alert(1)'],
  ['tab inside the scheme', 'java\tscript:alert(1)'],
  ['leading NUL', '\u0000javascript:alert(1)'],
  ['data:', 'data:text/html,<script>alert(1)</script>'],
  ['file:', 'file:///etc/passwd'],
  ['vbscript:', 'vbscript:msgbox(1)'],
  ['ftp:', 'ftp://files.example.com/a'],
  ['mailto:', 'mailto:a@example.com'],
  ['protocol-relative', '//evil.example.com/x'],
  ['relative', '/path/only'],
  ['not a URL', 'https://'],
  ['https with a control character', 'https://example.com/\u0007x'],
  ['https with a leading space', ' https://example.com'],
  ['dingtalk link to javascript:', 'dingtalk://dingtalkclient/page/link?url=javascript%3Aalert(1)'],
];
const GOOD_URLS = ['https://example.com/a?b=1#c', 'http://example.com', 'HTTPS://EXAMPLE.COM/x', 'dingtalk://dingtalkclient/page/link?url=https%3A%2F%2Fexample.com&pc_slide=true'];

/** Every URL field of every message type: a valid message, where it goes, and how to put a URL in the field. */
const URL_FIELDS: { path: string; to: Record<string, unknown>; message: (url: string) => Record<string, unknown> }[] = [
  { path: 'message.messageUrl', to: { userIds: ['u1'] }, message: (u) => ({ type: 'link', title: 't', text: 'x', messageUrl: u }) },
  { path: 'message.picUrl', to: { userIds: ['u1'] }, message: (u) => ({ type: 'link', title: 't', text: 'x', messageUrl: 'https://example.com', picUrl: u }) },
  { path: 'message.singleUrl', to: { userIds: ['u1'] }, message: (u) => ({ type: 'action_card', title: 't', markdown: 'm', singleTitle: 'go', singleUrl: u }) },
  {
    path: 'message.buttons[1].url',
    to: { userIds: ['u1'] },
    message: (u) => ({ type: 'action_card', title: 't', markdown: 'm', buttons: [{ title: 'a', url: 'https://example.com/a' }, { title: 'b', url: u }] }),
  },
  {
    path: 'message.links[1].messageUrl',
    to: { robots: ['ops'] },
    message: (u) => ({ type: 'feed_card', links: [{ title: 'a', messageUrl: 'https://example.com/a', picUrl: 'https://example.com/a.png' }, { title: 'b', messageUrl: u, picUrl: 'https://example.com/b.png' }] }),
  },
  { path: 'message.links[0].picUrl', to: { robots: ['ops'] }, message: (u) => ({ type: 'feed_card', links: [{ title: 'a', messageUrl: 'https://example.com/a', picUrl: u }] }) },
  { path: 'message.messageUrl', to: { userIds: ['u1'] }, message: (u) => ({ type: 'oa', messageUrl: u, head: { bgcolor: 'FFBBBBBB' }, body: {} }) },
  { path: 'message.pcMessageUrl', to: { userIds: ['u1'] }, message: (u) => ({ type: 'oa', messageUrl: 'https://example.com', pcMessageUrl: u, head: { bgcolor: 'FFBBBBBB' }, body: {} }) },
  { path: 'message.body.image', to: { userIds: ['u1'] }, message: (u) => ({ type: 'oa', messageUrl: 'https://example.com', head: { bgcolor: 'FFBBBBBB' }, body: { image: u } }) },
];

describe('message URLs accept only http, https and dingtalk', () => {
  const cases = URL_FIELDS.flatMap((f) => BAD_URLS.map(([name, url]) => [`${f.message('x').type} ${f.path}`, name, f, url] as const));
  it.each(cases)('%s: 400 for %s, naming the field and the rule, and nothing is stored', async (_field, _name, f, url) => {
    const before = await count();
    const res = await post({ to: f.to, message: f.message(url) });
    expect(res.status).toBe(400);
    expect(res.body.error).toMatchObject({ code: 'invalid_request', path: f.path });
    expect(res.body.error.message).toMatch(RULE);
    expect(await count()).toBe(before);
  });

  const good = URL_FIELDS.flatMap((f) => GOOD_URLS.map((url) => [`${f.message('x').type} ${f.path}`, url, f] as const));
  it.each(good)('%s accepts %s', async (_field, url, f) => {
    const res = await post({ to: f.to, message: f.message(url) });
    expect(res.body).toMatchObject({ status: 'queued' });
    expect(res.status).toBe(202);
  });

  it('pictures may also be DingTalk media ids', async () => {
    const link = { type: 'link', title: 't', text: 'x', messageUrl: 'https://example.com', picUrl: '@lALOACZwe2Rk' };
    expect((await post({ to: { userIds: ['u1'] }, message: link })).status).toBe(202);
    const oa = { type: 'oa', messageUrl: 'https://example.com', head: { bgcolor: 'FFBBBBBB' }, body: { image: '@lADOADmaWMzazQKA' } };
    expect((await post({ to: { userIds: ['u1'] }, message: oa })).status).toBe(202);
  });

  it('the OpenAPI document states the rule on URL fields', async () => {
    const doc = await (await fetch(`${env.gw.url}/openapi.json`)).json();
    const body = JSON.stringify(doc.paths['/v1/notifications'].post.requestBody.content['application/json'].schema);
    expect(body).toContain('"format":"uri"');
    expect(body).toContain('http, https or dingtalk');
  });
});

describe('markdown links accept only http, https and dingtalk targets', () => {
  const BAD_MARKDOWN: [string, string][] = [
    ['an inline link', 'see [x](javascript:alert(1))'],
    ['an image', '![x](data:image/svg+xml;base64,PHN2Zz4=)'],
    ['a spaced, mixed-case target', '[x](  JavaScript:alert(1) "title")'],
    ['a target in angle brackets', '[x](<javascript:alert(1)>)'],
    ['a target on the next line', '[x](\njavascript:alert(1))'],
    ['a tab inside the scheme', '[x](java\tscript:alert(1))'],
    ['an entity-encoded scheme', '[x](&#106;avascript:alert(1))'],
    ['a reference definition', '[x][1]\n\n[1]: vbscript:msgbox(1)'],
    ['an autolink', '<javascript:alert(1)>'],
    ['an HTML link', '<a href="javascript:alert(1)">x</a>'],
    ['a dingtalk link to javascript:', '[x](dingtalk://dingtalkclient/page/link?url=javascript%3Aalert(1))'],
  ];
  const messages = [
    { type: 'markdown', path: 'message.text', message: (md: string) => ({ type: 'markdown', title: 't', text: md }) },
    { type: 'action_card', path: 'message.markdown', message: (md: string) => ({ type: 'action_card', title: 't', markdown: md, singleTitle: 'go', singleUrl: 'https://example.com' }) },
  ];
  const cases = messages.flatMap((m) => BAD_MARKDOWN.map(([name, md]) => [m.type, name, m, md] as const));
  it.each(cases)('%s: 400 for %s', async (_type, _name, m, md) => {
    const before = await count();
    const res = await post({ to: { userIds: ['u1'] }, message: m.message(md) });
    expect(res.status).toBe(400);
    expect(res.body.error).toMatchObject({ code: 'invalid_request', path: m.path });
    expect(res.body.error.message).toMatch(RULE);
    expect(await count()).toBe(before);
  });

  it('accepts markdown with http, https and dingtalk links, media-id images and plain brackets', async () => {
    const md = [
      '# 告警',
      '[console](https://example.com/a_(b)) and [home](http://example.com "Home")',
      '![chart](https://example.com/chart.png) ![logo](@lADOADmaWMzazQKA)',
      '[open](dingtalk://dingtalkclient/page/link?url=https%3A%2F%2Fexample.com)',
      '<https://example.com/auto> and a[0] (not a link), javascript: in plain words',
      '[ref][1]',
      '',
      '[1]: https://example.com/ref',
    ].join('\n');
    expect((await post({ to: { userIds: ['u1'] }, message: { type: 'markdown', title: 't', text: md } })).status).toBe(202);
    expect((await post({ to: { robots: ['ops'] }, message: { type: 'action_card', title: 't', markdown: md, singleTitle: 'go', singleUrl: 'https://example.com' } })).status).toBe(202);
  });
});

describe('raw DingTalk bodies are scanned for URLs and markdown links', () => {
  const BAD_RAW: [string, Record<string, unknown>, Record<string, unknown>, string][] = [
    ['robot link messageUrl', { robots: ['ops'] }, { msgtype: 'link', link: { title: 't', text: 'x', messageUrl: 'javascript:alert(1)' } }, 'message.raw.link.messageUrl'],
    [
      'robot action card button actionURL',
      { robots: ['ops'] },
      { msgtype: 'actionCard', actionCard: { title: 't', text: 'x', btns: [{ title: 'a', actionURL: 'JavaScript:alert(1)' }] } },
      'message.raw.actionCard.btns[0].actionURL',
    ],
    ['robot action card singleURL', { robots: ['ops'] }, { msgtype: 'actionCard', actionCard: { title: 't', text: 'x', singleTitle: 'go', singleURL: 'data:text/html,x' } }, 'message.raw.actionCard.singleURL'],
    [
      'robot feed card picURL',
      { robots: ['ops'] },
      { msgtype: 'feedCard', feedCard: { links: [{ title: 'a', messageURL: 'https://example.com', picURL: 'file:///etc/passwd' }] } },
      'message.raw.feedCard.links[0].picURL',
    ],
    ['work notice OA message_url', { userIds: ['u1'] }, { msgtype: 'oa', oa: { message_url: ' javascript:alert(1)', head: { bgcolor: 'FFBBBBBB' }, body: {} } }, 'message.raw.oa.message_url'],
    [
      'work notice OA pc_message_url',
      { userIds: ['u1'] },
      { msgtype: 'oa', oa: { message_url: 'https://example.com', pc_message_url: 'vbscript:msgbox(1)', head: { bgcolor: 'FFBBBBBB' }, body: {} } },
      'message.raw.oa.pc_message_url',
    ],
    ['work notice action_card single_url', { userIds: ['u1'] }, { msgtype: 'action_card', action_card: { title: 't', markdown: 'm', single_title: 'go', single_url: 'java\tscript:alert(1)' } }, 'message.raw.action_card.single_url'],
    [
      'work notice action_card btn_json_list action_url',
      { userIds: ['u1'] },
      { msgtype: 'action_card', action_card: { title: 't', markdown: 'm', btn_json_list: [{ title: 'a', action_url: 'https://example.com' }, { title: 'b', action_url: '\u0000javascript:alert(1)' }] } },
      'message.raw.action_card.btn_json_list[1].action_url',
    ],
    ['work notice markdown link', { userIds: ['u1'] }, { msgtype: 'markdown', markdown: { title: 't', text: 'see [x](javascript:alert(1))' } }, 'message.raw.markdown.text'],
    ['work notice action_card markdown', { userIds: ['u1'] }, { msgtype: 'action_card', action_card: { title: 't', markdown: '![x](data:image/png;base64,AAAA)', single_title: 'go', single_url: 'https://example.com' } }, 'message.raw.action_card.markdown'],
    ['robot markdown link', { robots: ['ops'] }, { msgtype: 'markdown', markdown: { title: 't', text: '[x](javascript:alert(1))' } }, 'message.raw.markdown.text'],
    [
      'app robot msgParam actionURL2',
      { userIds: ['u1'] },
      { msgKey: 'sampleActionCard2', msgParam: JSON.stringify({ title: 't', text: 'x', actionTitle1: 'a', actionURL1: 'https://example.com', actionTitle2: 'b', actionURL2: 'javascript:alert(1)' }) },
      'message.raw.msgParam.actionURL2',
    ],
    ['app robot msgParam singleURL', { userIds: ['u1'] }, { msgKey: 'sampleActionCard', msgParam: JSON.stringify({ title: 't', text: 'x', singleTitle: 'go', singleURL: 'data:,x' }) }, 'message.raw.msgParam.singleURL'],
    ['app robot msgParam markdown', { userIds: ['u1'] }, { msgKey: 'sampleMarkdown', msgParam: JSON.stringify({ title: 't', text: '[x](javascript:alert(1))' }) }, 'message.raw.msgParam.text'],
    ['app robot msgParam that is not JSON', { userIds: ['u1'] }, { msgKey: 'sampleLink', msgParam: '{"messageUrl": javascript:alert(1)' }, 'message.raw.msgParam'],
    ['a URL deep inside an array', { robots: ['ops'] }, { msgtype: 'feedCard', feedCard: { links: [{ title: 'a', messageURL: 'https://example.com', picURL: 'https://example.com/p' }, { title: 'b', messageURL: 'ftp://x', picURL: 'https://example.com/p' }] } }, 'message.raw.feedCard.links[1].messageURL'],
  ];
  it.each(BAD_RAW)('400 for %s, naming the path inside raw', async (_name, to, raw, path) => {
    const before = await count();
    const via = 'msgKey' in raw ? { via: 'app_robot' } : {};
    const res = await post({ to, message: { raw }, ...via });
    expect(res.status).toBe(400);
    expect(res.body.error).toMatchObject({ code: 'invalid_request', path });
    if (!path.endsWith('msgParam')) expect(res.body.error.message).toMatch(RULE);
    expect(await count()).toBe(before);
  });

  it('accepts raw bodies with good URLs, media ids and empty optional URLs', async () => {
    const robot = { msgtype: 'feedCard', feedCard: { links: [{ title: '新闻', messageURL: 'https://example.com/a', picURL: 'dingtalk://dingtalkclient/page/link?url=https%3A%2F%2Fexample.com' }] } };
    expect((await post({ to: { robots: ['ops'] }, message: { raw: robot } })).status).toBe(202);
    const work = { msgtype: 'link', link: { messageUrl: 'https://example.com', picUrl: '@lALOACZwe2Rk', title: 't', text: 'x' } };
    expect((await post({ to: { userIds: ['u1'] }, message: { raw: work } })).status).toBe(202);
    const oto = { msgKey: 'sampleLink', msgParam: JSON.stringify({ title: 't', text: 'x', messageUrl: 'https://example.com', picUrl: '' }) };
    expect((await post({ to: { userIds: ['u1'] }, via: 'app_robot', message: { raw: oto } })).status).toBe(202);
  });
});

describe('deeply nested input answers 400, never 500', () => {
  /** `{"a":{"a":…{"a":leaf}…}}` with `levels` objects, built as text. */
  const nestedObject = (levels: number, leaf = '1') => `${'{"a":'.repeat(levels)}${leaf}${'}'.repeat(levels)}`;
  const nestedArray = (levels: number) => `${'['.repeat(levels)}${']'.repeat(levels)}`;
  const rawWith = (inner: string) => `{"to":{"userIds":["u1"]},"message":{"raw":{"msgtype":"text","text":{"content":"x"},"x":${inner}}}}`;

  it('message.raw nested 5 000 levels: 400 naming message.raw and the bound', async () => {
    const before = await count();
    const res = await post(rawWith(nestedObject(5000)));
    expect(res).toEqual({ status: 400, body: { error: { code: 'invalid_request', path: 'message.raw', message: 'nested deeper than 32 levels' } } });
    expect(await count()).toBe(before);
    const arrays = await post(rawWith(nestedArray(10_000)));
    expect(arrays).toEqual({ status: 400, body: { error: { code: 'invalid_request', path: 'message.raw', message: 'nested deeper than 32 levels' } } });
    const robot = await post(`{"to":{"robots":["ops"]},"message":{"raw":{"msgtype":"text","text":${nestedObject(3000, '{"content":"x"}')}}}}`);
    expect(robot.status).toBe(400);
    expect(robot.body.error.path).toBe('message.raw');
  });

  it('an app-robot msgParam nested 5 000 levels: 400 naming message.raw.msgParam', async () => {
    const raw = { msgKey: 'sampleText', msgParam: `{"content":"x","a":${nestedObject(5000)}}` };
    const res = await post({ to: { userIds: ['u1'] }, via: 'app_robot', message: { raw } });
    expect(res).toEqual({ status: 400, body: { error: { code: 'invalid_request', path: 'message.raw.msgParam', message: 'nested deeper than 32 levels' } } });
  });

  it('message.raw at 32 levels is accepted; at 33 it is refused', async () => {
    // raw itself is level 1, "x" holds the rest.
    expect((await post(rawWith(nestedObject(31)))).status).toBe(202);
    expect((await post(rawWith(nestedObject(32)))).body.error).toMatchObject({ path: 'message.raw', message: 'nested deeper than 32 levels' });
  });

  it('message.raw over 64 KiB as JSON: 400 naming message.raw', async () => {
    const before = await count();
    const res = await post({ to: { userIds: ['u1'] }, message: { raw: { msgtype: 'text', text: { content: 'x'.repeat(70_000) } } } });
    expect(res.status).toBe(400);
    expect(res.body.error).toMatchObject({ code: 'invalid_request', path: 'message.raw' });
    expect(res.body.error.message).toMatch(/at most 65536 bytes/);
    expect(await count()).toBe(before);
  });

  const elsewhere: [string, string, string][] = [
    ['a 10 000-deep array in to.userIds', `{"to":{"userIds":[${nestedArray(10_000)}]},"message":{"type":"text","content":"x"}}`, 'to.userIds[0]'],
    ['a 10 000-deep object in an unknown field', `{"to":{"userIds":["u1"]},"message":{"type":"text","content":"x"},"extra":${nestedObject(10_000)}}`, '(body)'],
    ['a 10 000-deep object as message content', `{"to":{"userIds":["u1"]},"message":{"type":"text","content":${nestedObject(10_000)}}}`, 'message.content'],
    ['a 10 000-deep object in mentions', `{"to":{"robots":["ops"]},"message":{"type":"text","content":"x"},"mentions":{"userIds":${nestedObject(10_000)}}}`, 'mentions.userIds'],
    ['a 10 000-deep object as the message', `{"to":{"userIds":["u1"]},"message":${nestedObject(10_000)}}`, 'message.type'],
  ];
  it.each(elsewhere)('400 for %s', async (_name, body, path) => {
    const res = await post(body);
    expect(res.status).toBe(400);
    expect(res.body.error).toMatchObject({ code: 'invalid_request', path });
  });

  it("Fastify's JSON parser copes with deep bodies, including ones its prototype-poisoning scan walks", async () => {
    const array = await post(nestedArray(100_000));
    expect(array.status).toBe(400);
    const object = await post(nestedObject(20_000));
    expect(object.status).toBe(400);
    // "constructor" in the text makes the parser walk the whole parsed value looking for prototype poisoning.
    const walked = await post(nestedObject(20_000, '{"constructor":1}'));
    expect(walked.status).toBe(400);
    const poisoned = await post(nestedObject(20_000, '{"__proto__":{"x":1}}'));
    expect(poisoned.status).toBe(400);
    expect(poisoned.body.error.code).toBe('invalid_json');
    const unbalanced = await post('{"a":'.repeat(20_000));
    expect(unbalanced).toMatchObject({ status: 400, body: { error: { code: 'invalid_json' } } });
  });

  it('the gateway still answers afterwards', async () => {
    expect((await post({ to: { userIds: ['u1'] }, message: text('still here') })).status).toBe(202);
  });
});

describe('bodies that are not JSON objects', () => {
  it('answer 400, with and without an Idempotency-Key header', async () => {
    for (const body of ['"x"', '123', 'true', 'null', '[]', `${'['.repeat(1000)}${']'.repeat(1000)}`]) {
      for (const headers of [{}, { 'idempotency-key': 'not-an-object' }] as Record<string, string>[]) {
        const res = await post(body, { authorization: `Bearer ${API_KEY}`, ...headers });
        expect(res.status, `${body.slice(0, 20)} ${JSON.stringify(headers)}`).toBe(400);
      }
    }
  });
});

describe('tenant isolation: a key named "sandbox" is an ordinary key', () => {
  const sandboxNamed = () => new DingpushClient({ url: env.gw.url, apiKey: SANDBOX_NAMED_KEY });

  it('sees only its own notifications: GET, list and recall answer 404 or leave the others out', async () => {
    const theirs = await env.api.send({ to: { userIds: ['u7'] }, message: text('not for the sandbox key') });
    const mine = await sandboxNamed().send({ to: { userIds: ['u8'] }, message: text('for the sandbox key') });
    await expect(sandboxNamed().get(theirs.id)).rejects.toMatchObject({ status: 404, code: 'not_found' });
    await expect(sandboxNamed().recall(theirs.id)).rejects.toMatchObject({ status: 404, code: 'not_found' });
    const listed = (await sandboxNamed().list({ limit: 500 })).items.map((n) => n.id);
    expect(listed).toEqual([mine.id]);
    expect((await sandboxNamed().get(mine.id)).id).toBe(mine.id);
    // Not recalled by the attempt above; the owner still sees it.
    expect((await env.api.get(theirs.id)).recalledAt).toBeUndefined();
    await expect(env.api.get(mine.id)).rejects.toMatchObject({ status: 404 });
    expect((await env.api.list({ limit: 500 })).items.some((n) => n.id === mine.id)).toBe(false);
  });
});

describe('tenant isolation in sandbox mode', () => {
  let gw: RunningGateway;
  beforeAll(async () => {
    const dir = mkdtempSync(join(tmpdir(), 'dingpush-sandbox-keys-'));
    const config = gatewayConfig(env.emu.url, dir, { apiKeys: [{ name: 'tests', key: API_KEY }, { name: 'sandbox', key: SANDBOX_NAMED_KEY }] });
    gw = await startGateway(parseConfig(config), { sandbox: true, dispatch: false });
  });
  afterAll(async () => {
    await gw?.close();
  });

  it('only a request without a key bypasses ownership, not a key named "sandbox"', async () => {
    const keyed = await new DingpushClient({ url: gw.url, apiKey: API_KEY }).send({ to: { userIds: ['u9'] }, message: text('keyed') });
    const keyless = new DingpushClient({ url: gw.url });
    expect((await keyless.get(keyed.id)).id).toBe(keyed.id);
    expect((await keyless.list()).items.map((n) => n.id)).toContain(keyed.id);
    const named = new DingpushClient({ url: gw.url, apiKey: SANDBOX_NAMED_KEY });
    await expect(named.get(keyed.id)).rejects.toMatchObject({ status: 404 });
    await expect(named.recall(keyed.id)).rejects.toMatchObject({ status: 404 });
    expect((await named.list()).items.map((n) => n.id)).not.toContain(keyed.id);
  });
});
