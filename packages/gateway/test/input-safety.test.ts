import { describe, expect, it } from 'vitest';
import { API_KEY, useGateway } from './helpers.js';

const env = useGateway();

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
