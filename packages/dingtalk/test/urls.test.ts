import { z } from 'zod';
import { describe, expect, it } from 'vitest';
import { markdownProblem, markdownTargets, messageSchema, rawBodyProblem, URL_RULE, urlProblem } from '../src/index.js';

const issue = (input: unknown) => {
  const r = messageSchema.safeParse(input);
  if (r.success) throw new Error('expected failure');
  return { path: r.error.issues[0]!.path.join('.'), message: r.error.issues[0]!.message };
};

describe('the message URL rule', () => {
  it.each([
    'https://example.com/a?b=1#c',
    'http://example.com',
    'HTTPS://EXAMPLE.COM',
    'http:example.com',
    'dingtalk://dingtalkclient/page/link?url=https%3A%2F%2Fexample.com&pc_slide=true',
    'dingtalk://dingtalkclient/action/sendmsg?dingtalk_id=abc',
    'https://例子.测试/路径',
  ])('accepts %s', (url) => {
    expect(urlProblem(url)).toBeUndefined();
  });

  it.each([
    'javascript:alert(1)',
    'JavaScript:alert(1)',
    'JAVASCRIPT:alert(1)',
    ' javascript:alert(1)',
    'java\tscript:alert(1)',
    'java\nscript:alert(1)',
    '\u0000javascript:alert(1)',
    '\u0085javascript:alert(1)',
    'data:text/html,<script>alert(1)</script>',
    'file:///etc/passwd',
    'vbscript:msgbox(1)',
    'blob:https://example.com/x',
    'ws://example.com',
    'ftp://example.com',
    'mailto:a@example.com',
    'tel:123',
    '//example.com',
    '/relative',
    'example.com',
    'https://',
    'https://example.com/\u0007',
    'https://example.com ',
    '\u00a0https://example.com',
    'https://exa mple.com',
    '@lALOACZwe2Rk',
    '',
  ])('refuses %j', (url) => {
    expect(urlProblem(url)).toBe(URL_RULE);
  });

  it('checks the URL a dingtalk link opens, however it is encoded', () => {
    for (const inner of ['javascript%3Aalert(1)', 'JavaScript:alert(1)', 'data%3Atext%2Fhtml%2Cx', 'dingtalk%3A%2F%2Fdingtalkclient%2Fpage%2Flink%3Furl%3Djavascript%253Aalert(1)'])
      expect(urlProblem(`dingtalk://dingtalkclient/page/link?url=${inner}`)).toMatch(/and so must the URL a dingtalk link opens/);
    expect(urlProblem('dingtalk://dingtalkclient/page/link?pc_slide=true&redirect_url=vbscript%3Ax')).toMatch(/dingtalk link opens/);
    expect(urlProblem('dingtalk://dingtalkclient/page/link?url=dingtalk%3A%2F%2Fdingtalkclient%2Fpage%2Flink%3Furl%3Dhttps%253A%252F%252Fexample.com')).toBeUndefined();
  });

  it('pictures may be media ids', () => {
    expect(urlProblem('@lALOACZwe2Rk', { mediaId: true })).toBeUndefined();
    expect(urlProblem('@lALOACZwe2Rk:javascript', { mediaId: true })).toMatch(/or a media id/);
    expect(urlProblem('javascript:alert(1)', { mediaId: true })).toMatch(/or a media id/);
  });

  it('is applied to every URL field of every message type, naming the field', () => {
    const bad = 'javascript:alert(1)';
    const card = { type: 'action_card', title: 't', markdown: 'm' };
    const oa = { type: 'oa', messageUrl: 'https://example.com', head: { bgcolor: 'FFBBBBBB' }, body: {} };
    const feed = (messageUrl: string, picUrl: string) => ({ type: 'feed_card', links: [{ title: 't', messageUrl, picUrl }] });
    const cases: [unknown, string][] = [
      [{ type: 'link', title: 't', text: 'x', messageUrl: bad }, 'messageUrl'],
      [{ type: 'link', title: 't', text: 'x', messageUrl: 'https://example.com', picUrl: bad }, 'picUrl'],
      [{ ...card, singleTitle: 'go', singleUrl: bad }, 'singleUrl'],
      [{ ...card, buttons: [{ title: 'a', url: 'https://example.com' }, { title: 'b', url: bad }] }, 'buttons.1.url'],
      [feed(bad, 'https://example.com/p.png'), 'links.0.messageUrl'],
      [feed('https://example.com', bad), 'links.0.picUrl'],
      [{ ...oa, messageUrl: bad }, 'messageUrl'],
      [{ ...oa, pcMessageUrl: bad }, 'pcMessageUrl'],
      [{ ...oa, body: { image: bad } }, 'body.image'],
    ];
    for (const [message, path] of cases) {
      const got = issue(message);
      expect(got.path).toBe(path);
      expect(got.message).toMatch(URL_RULE);
    }
    expect(issue({ type: 'link', title: 't', text: 'x', messageUrl: '' })).toEqual({ path: 'messageUrl', message: 'must not be empty' });
    expect(issue({ ...card, singleTitle: 'go', singleUrl: `https://example.com/${'x'.repeat(500)}` })).toEqual({ path: 'singleUrl', message: 'must be at most 500 characters' });
  });

  it('is stated in the JSON Schema (and so the OpenAPI document)', () => {
    const json = z.toJSONSchema(messageSchema, { io: 'input', unrepresentable: 'any' }) as any;
    const link = json.oneOf?.find((s: any) => s.properties?.type?.const === 'link') ?? json.anyOf?.find((s: any) => s.properties?.type?.const === 'link');
    expect(link.properties.messageUrl).toMatchObject({ type: 'string', format: 'uri', description: 'An http, https or dingtalk URL' });
    const pattern = new RegExp(link.properties.messageUrl.pattern);
    expect(pattern.test('HTTPS://x')).toBe(true);
    expect(pattern.test('dingtalk://dingtalkclient/page/link')).toBe(true);
    expect(pattern.test('javascript:alert(1)')).toBe(false);
    expect(link.properties.picUrl.description).toMatch(/media id/);
  });
});

describe('markdown link and image targets', () => {
  it('finds inline links, images, reference definitions, autolinks and HTML attributes', () => {
    const md = [
      '[a](https://a.example/x_(y)) ![b]( <https://b.example/p.png> ) [c](https://c.example "title")',
      '[d](\njavascript:alert(1))',
      '  [e]: vbscript:x',
      '[f]:',
      '  <data:text/plain,x>',
      '<javascript:alert(2)> <a href=\'javascript:alert(3)\'>x</a> <img src=data:x>',
      'plain a[0] (b) and set src=foo outside tags',
    ].join('\n');
    expect(new Set(markdownTargets(md))).toEqual(
      new Set([
        'https://a.example/x_(y)',
        'https://b.example/p.png',
        'https://c.example',
        'javascript:alert(1)',
        'vbscript:x',
        'data:text/plain,x',
        'javascript:alert(2)',
        'javascript:alert(3)',
        'data:x',
      ]),
    );
  });

  it('refuses targets that break the URL rule, naming the target; accepts http, https, dingtalk and media ids', () => {
    expect(markdownProblem('[x](javascript:alert(1))')).toBe(`link target "javascript:alert(1)" ${URL_RULE} or a media id (@…)`);
    expect(markdownProblem('[x](java\tscript:alert(1))')).toMatch(URL_RULE);
    expect(markdownProblem('[x](&#106;avascript:alert(1))')).toMatch(URL_RULE);
    expect(markdownProblem('[x](https://a.example) ![y](@lADOADmaWMzazQKA) [z](dingtalk://dingtalkclient/page/link?url=https%3A%2F%2Fa.example) []()')).toBeUndefined();
    expect(markdownProblem('no links; javascript:alert(1) in plain words is only text')).toBeUndefined();
  });

  it('stays linear on adversarial text', () => {
    const start = performance.now();
    markdownTargets(`${'](('.repeat(40_000)}${'[x]('.repeat(20_000)}${'<a '.repeat(20_000)}`);
    expect(performance.now() - start).toBeLessThan(1000);
  });

  it('applies to markdown messages and action-card markdown, naming the field', () => {
    expect(issue({ type: 'markdown', title: 't', text: '[x](javascript:alert(1))' })).toMatchObject({ path: 'text', message: expect.stringContaining(URL_RULE) });
    expect(issue({ type: 'action_card', title: 't', markdown: '![x](data:,x)', singleTitle: 'go', singleUrl: 'https://a.example' })).toMatchObject({ path: 'markdown' });
    expect(messageSchema.safeParse({ type: 'text', content: '[x](javascript:alert(1)) is only text here' }).success).toBe(true);
  });
});

describe('raw DingTalk bodies', () => {
  it('checks every string under a …url key at any depth, naming its path', () => {
    expect(rawBodyProblem({ msgtype: 'link', link: { messageUrl: 'javascript:alert(1)' } })).toEqual({ path: ['link', 'messageUrl'], message: `${URL_RULE} or a media id (@…)` });
    expect(rawBodyProblem({ msgtype: 'actionCard', actionCard: { btns: [{ actionURL: 'https://a.example' }, { actionURL: 'data:,x' }] } })?.path).toEqual(['actionCard', 'btns', 1, 'actionURL']);
    expect(rawBodyProblem({ msgtype: 'oa', oa: { message_url: 'https://a.example', pc_message_url: 'file:///x' } })?.path).toEqual(['oa', 'pc_message_url']);
    expect(rawBodyProblem({ a: { b: [[{ picURL: ['https://a.example', 'vbscript:x'] }]] } })?.path).toEqual(['a', 'b', 0, 0, 'picURL', 1]);
    expect(rawBodyProblem({ msgtype: 'link', link: { messageUrl: 'https://a.example', picUrl: '@lALOACZwe2Rk', extra_url: '' } })).toBeUndefined();
    expect(rawBodyProblem({ msgtype: 'x', card: { actionUrl: { pc: 'https://a.example', mobile: 'javascript:x' } } })?.path).toEqual(['card', 'actionUrl', 'mobile']);
  });

  it('parses app-robot msgParam and checks it too, including numbered keys and markdown text', () => {
    const param = (p: unknown) => ({ msgKey: 'k', msgParam: JSON.stringify(p) });
    expect(rawBodyProblem(param({ actionURL3: 'javascript:x' }))?.path).toEqual(['msgParam', 'actionURL3']);
    expect(rawBodyProblem(param({ buttonUrl2: 'javascript:x' }))?.path).toEqual(['msgParam', 'buttonUrl2']);
    expect(rawBodyProblem(param({ title: 't', text: '[x](javascript:alert(1))' }))).toMatchObject({ path: ['msgParam', 'text'], message: expect.stringContaining(URL_RULE) });
    expect(rawBodyProblem({ msgKey: 'k', msgParam: '{nope' })).toEqual({ path: ['msgParam'], message: 'must be a JSON-encoded object' });
    expect(rawBodyProblem(param({ title: 't', text: '[x](https://a.example)', singleURL: 'dingtalk://dingtalkclient/page/link?url=https%3A%2F%2Fa.example' }))).toBeUndefined();
  });

  it('checks markdown under text and markdown keys, and leaves other text alone', () => {
    expect(rawBodyProblem({ msgtype: 'markdown', markdown: { title: 't', text: '![x](data:,x)' } })?.path).toEqual(['markdown', 'text']);
    expect(rawBodyProblem({ msgtype: 'action_card', action_card: { markdown: '[x](javascript:x)' } })?.path).toEqual(['action_card', 'markdown']);
    expect(rawBodyProblem({ msgtype: 'text', text: { content: '[x](javascript:x) is only text' } })).toBeUndefined();
  });

  it('walks any depth without recursion', () => {
    let deep: unknown = { url: 'javascript:x' };
    for (let i = 0; i < 200_000; i++) deep = [deep];
    expect(rawBodyProblem({ msgtype: 'x', deep })?.message).toMatch(URL_RULE);
    const param = `${'['.repeat(200_000)}{"actionURL":"javascript:x"}${']'.repeat(200_000)}`;
    expect(rawBodyProblem({ msgKey: 'k', msgParam: param })?.path.length).toBe(200_002);
  });
});
