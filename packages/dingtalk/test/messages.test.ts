import { describe, expect, it } from 'vitest';
import { messageSchema, robotBodyBytes, splitMarkdown, toAppRobotMessage, toRobotBody, toWorkMsg, withMentions } from '../src/index.js';

const parse = (input: unknown) => messageSchema.safeParse(input);
const firstIssue = (input: unknown) => {
  const r = parse(input);
  if (r.success) throw new Error('expected failure');
  return { path: r.error.issues[0]!.path.join('.'), message: r.error.issues[0]!.message };
};

describe('message schemas', () => {
  it('accepts each type and rejects bad input naming the field and the rule', () => {
    expect(parse({ type: 'text', content: 'hi' }).success).toBe(true);
    expect(firstIssue({ type: 'text', content: '' })).toEqual({ path: 'content', message: 'must not be empty' });
    // Longer than a surface takes is for the renderers (and the gateway's splitting); the schema bounds a message.
    expect(parse({ type: 'text', content: 'x'.repeat(5001) }).success).toBe(true);
    expect(firstIssue({ type: 'text', content: 'x'.repeat(100_001) })).toEqual({ path: 'content', message: 'must be at most 100000 characters' });
    expect(parse({ type: 'text', content: '钉'.repeat(5000) }).success).toBe(true);
    expect(firstIssue({ type: 'markdown', title: 'x'.repeat(65), text: 'y' }).path).toBe('title');
    expect(firstIssue({ type: 'action_card', title: 't', markdown: 'm' }).path).toBe('buttons');
    expect(firstIssue({ type: 'action_card', title: 't', markdown: 'm', singleTitle: 's' }).path).toBe('singleUrl');
    expect(firstIssue({ type: 'action_card', title: 't', markdown: 'm', singleTitle: 'x'.repeat(21), singleUrl: 'u' }).path).toBe('singleTitle');
    expect(firstIssue({ type: 'oa', messageUrl: 'https://example.com', head: { bgcolor: 'red' }, body: {} }).path).toBe('head.bgcolor');
    expect(firstIssue({ type: 'voice', mediaId: '@m', durationSeconds: 60 }).path).toBe('durationSeconds');
    expect(firstIssue({ type: 'sticker' }).path).toBe('type');
    expect(firstIssue({ type: 'text', content: 'x', extra: 1 }).message).toMatch(/extra/);
  });
});

describe('rendering for each surface', () => {
  const card = { type: 'action_card' as const, title: 'T', markdown: 'M', buttons: [{ title: 'a', url: 'https://a' }, { title: 'b', url: 'https://b' }], buttonOrientation: 'vertical' as const };

  it('work notifications use snake_case', () => {
    expect(toWorkMsg(card)).toEqual({
      msgtype: 'action_card',
      action_card: { title: 'T', markdown: 'M', btn_orientation: '0', btn_json_list: [{ title: 'a', action_url: 'https://a' }, { title: 'b', action_url: 'https://b' }] },
    });
    expect(toWorkMsg({ type: 'voice', mediaId: '@v', durationSeconds: 9 })).toEqual({ msgtype: 'voice', voice: { media_id: '@v', duration: '9' } });
    expect(() => toWorkMsg({ type: 'feed_card', links: [{ title: 't', messageUrl: 'u', picUrl: 'p' }] })).toThrow('message.type');
    // DingTalk's 34016: 5 000 characters (code points, so 5 000 Chinese characters fit).
    expect(toWorkMsg({ type: 'text', content: '钉'.repeat(5000) }).text).toEqual({ content: '钉'.repeat(5000) });
    expect(() => toWorkMsg({ type: 'text', content: 'x'.repeat(5001) })).toThrow('at most 5000 characters');
    expect(() => toWorkMsg({ type: 'markdown', title: 't', text: 'x'.repeat(5001) }, 'chat')).toThrow('at most 5000 characters');
  });

  it('robots use camelCase and capital URL', () => {
    expect(toRobotBody(card)).toEqual({
      msgtype: 'actionCard',
      actionCard: { title: 'T', text: 'M', btnOrientation: '0', btns: [{ title: 'a', actionURL: 'https://a' }, { title: 'b', actionURL: 'https://b' }] },
    });
    expect(toRobotBody({ type: 'feed_card', links: [{ title: 't', messageUrl: 'u', picUrl: 'p' }] })).toEqual({
      msgtype: 'feedCard',
      feedCard: { links: [{ title: 't', messageURL: 'u', picURL: 'p' }] },
    });
    expect(() => toRobotBody({ type: 'image', mediaId: '@x' })).toThrow('image messages cannot be sent to robots');
  });

  it('app robots use msgKey/msgParam, choosing the card variant by buttons', () => {
    expect(toAppRobotMessage(card).msgKey).toBe('sampleActionCard2');
    expect(JSON.parse(toAppRobotMessage(card).msgParam)).toMatchObject({ actionTitle2: 'b', actionURL2: 'https://b' });
    expect(toAppRobotMessage({ ...card, buttonOrientation: 'horizontal' }).msgKey).toBe('sampleActionCard6');
    expect(toAppRobotMessage({ type: 'text', content: 'c' })).toEqual({ msgKey: 'sampleText', msgParam: '{"content":"c"}' });
  });

  it('mentions: missing @ text is appended once; present ones are left alone', () => {
    expect(withMentions('hi @138', { atMobiles: ['138', '139'] })).toBe('hi @138\n@139');
    const body = toRobotBody({ type: 'text', content: 'hi' }, { all: true });
    expect(body).toEqual({ msgtype: 'text', text: { content: 'hi' }, at: { isAtAll: true } });
    expect(robotBodyBytes(body)).toBe(Buffer.byteLength(JSON.stringify(body)));
  });
});

describe('splitMarkdown', () => {
  it('returns short text untouched', () => {
    expect(splitMarkdown('short', 100)).toEqual(['short']);
  });

  it('breaks at blank lines first, then line ends, every part within the byte budget', () => {
    const text = ['# one', 'a'.repeat(40), '', '## two', 'b'.repeat(40), '', '## three', 'c'.repeat(40)].join('\n');
    const parts = splitMarkdown(text, 60);
    expect(parts.length).toBeGreaterThan(1);
    for (const p of parts) expect(Buffer.byteLength(p)).toBeLessThanOrEqual(60);
    // The blank line after a part stays with it (markdown ignores it): the next part starts with its heading.
    expect(parts[0]).toBe(`# one\n${'a'.repeat(40)}\n\n`);
    expect(parts[1]!.startsWith('## two')).toBe(true);
    expect(parts.join('')).toBe(text);
  });

  it('never cuts inside a link, a code span or a multi-byte character', () => {
    const link = '[详细报告](https://example.com/a/very/long/path?with=query)';
    const text = `${'钉'.repeat(30)} ${link} \`some code span\` ${'钉'.repeat(30)}`;
    const parts = splitMarkdown(text, 80);
    for (const p of parts) {
      expect(Buffer.byteLength(p)).toBeLessThanOrEqual(80);
      expect(p).not.toContain('\uFFFD');
      expect((p.match(/`/g) ?? []).length % 2).toBe(0);
      if (p.includes('[详细报告]')) expect(p).toContain(link);
    }
    expect(parts.join('')).toBe(text);
  });

  it('never cuts a table row, measures by any additive size, and joins back exactly', () => {
    const row = (i: number) => `| host-${i} | 钉钉 ${'x'.repeat(i % 7)} | [log](https://example.com/${i}) |`;
    const text = ['# 日报', '', '| host | note | link |', '|---|---|---|', ...Array.from({ length: 60 }, (_, i) => row(i)), '', 'end'].join('\n');
    const chars = (s: string) => [...s].length;
    for (const [max, size] of [[300, chars], [500, (s: string) => Buffer.byteLength(s)], [400, (s: string) => Buffer.byteLength(JSON.stringify(s)) - 2]] as const) {
      const parts = splitMarkdown(text, max, size);
      expect(parts.length).toBeGreaterThan(2);
      expect(parts.join('')).toBe(text);
      for (const p of parts) {
        expect(size(p)).toBeLessThanOrEqual(max);
        // Every line of every part is a whole line of the text: no row was cut.
        for (const line of p.split('\n').filter(Boolean)) expect(text.split('\n')).toContain(line);
      }
    }
  });

  it('cuts an atom longer than the budget by characters rather than fail', () => {
    const parts = splitMarkdown(`\`${'x'.repeat(50)}\``, 20);
    expect(parts.every((p) => Buffer.byteLength(p) <= 20)).toBe(true);
    expect(parts.join('')).toBe(`\`${'x'.repeat(50)}\``);
  });
});
