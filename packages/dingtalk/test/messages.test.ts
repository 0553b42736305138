import { describe, expect, it } from 'vitest';
import { messageSchema, robotBodyBytes, splitMarkdown, splitMarkdownBlocks, toAppRobotMessage, toRobotBody, toWorkMsg, withMentions } from '../src/index.js';

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

describe('splitMarkdownBlocks', () => {
  const bytes = (s: string) => Buffer.byteLength(s);
  /** The parts with the lines that were carried across a boundary taken out again: the text as it was. */
  const withoutCarried = (parts: string[], carried: string[], closer: string) =>
    parts
      .map((p, k) => {
        let out = p;
        // Carried only where the part before ended inside the block: a fence closed for it, or a table row.
        const before = parts[k - 1] ?? '';
        const inside = before.endsWith(`\n${closer}`) || /(^|\n)\|[^\n]*\n?$/.test(before);
        for (const c of carried) if (k > 0 && inside && out.startsWith(`${c}\n`)) out = out.slice(c.length + 1);
        // (These texts break at line ends, so the closer went after the part's own newline.)
        if (k < parts.length - 1 && out.endsWith(`\n${closer}`)) out = out.slice(0, -closer.length);
        return out;
      })
      .join('');

  it('a code block cut in two is closed at the end of one part and opened again, with its language, at the start of the next', () => {
    const code = Array.from({ length: 80 }, (_, i) => `SELECT ${i}, name FROM servers WHERE id = ${i};`).join('\n');
    const text = `# 慢查询\n\n\`\`\`sql\n${code}\n\`\`\`\n\n完。\n`;
    const parts = splitMarkdownBlocks(text, 600, bytes);
    expect(parts.length).toBeGreaterThan(3);
    for (const p of parts) {
      expect(bytes(p)).toBeLessThanOrEqual(600);
      // Every part has as many fence lines opening as closing: it renders as code on its own.
      expect(p.split('\n').filter((l) => /^```/.test(l)).length % 2).toBe(0);
    }
    for (const p of parts.slice(1, -1)) expect(p.startsWith('```sql\n')).toBe(true);
    expect(withoutCarried(parts, ['```sql'], '```')).toBe(text);
  });

  it('a table that goes on in the next part starts there with its header rows; prose after a table gets none', () => {
    const header = '| 主机 | CPU | 状态 |\n|---|---|---|';
    const rows = Array.from({ length: 60 }, (_, i) => `| web-${i} | ${i}% | 正常 |`).join('\n');
    const text = `## 日报\n\n${header}\n${rows}\n\n${'说明文字。'.repeat(40)}\n`;
    const parts = splitMarkdownBlocks(text, 400, bytes);
    expect(parts.length).toBeGreaterThan(3);
    for (const p of parts) {
      expect(bytes(p)).toBeLessThanOrEqual(400);
      const lines = p.split('\n');
      const firstRow = lines.findIndex((l) => l.startsWith('| web-'));
      // Any part with table rows shows the header right above its first row.
      if (firstRow >= 0) expect(lines.slice(firstRow - 2, firstRow).join('\n')).toBe(header);
      if (!p.includes('| web-')) expect(p).not.toContain('| 主机 |');
    }
    expect(withoutCarried(parts, [header], '```')).toBe(text);
  });

  it('a one-line ```code``` and an indented code line are not fences; a table header stays with its separator; CRLF tables are re-headed', () => {
    const inline = Array.from({ length: 40 }, (_, i) => `步骤 ${i}：运行 \`\`\`kubectl rollout restart deploy/web-${i}\`\`\``).join('\n\n');
    for (const p of splitMarkdownBlocks(inline, 300, bytes)) expect(p.startsWith('```')).toBe(false);
    const indented = Array.from({ length: 40 }, (_, i) => `    \`\`\` not a fence ${i}`).join('\n');
    for (const p of splitMarkdownBlocks(indented, 300, bytes).slice(1)) expect(p.startsWith('```')).toBe(false);
    // Wherever the cut falls, a part never starts with a separator row it lost its header to.
    const table = `${'前言。'.repeat(30)}\n| name | value |\n|---|---|\n${Array.from({ length: 20 }, (_, i) => `| row${i} | ${i} |`).join('\n')}\n`;
    for (let max = 120; max <= 260; max += 7) for (const p of splitMarkdownBlocks(table, max, bytes)) expect(p.startsWith('|---')).toBe(false);
    const crlf = `| 主机 | CPU |\r\n|---|---|\r\n${Array.from({ length: 60 }, (_, i) => `| web-${i} | ${i}% |`).join('\r\n')}\r\n`;
    const parts = splitMarkdownBlocks(crlf, 300, bytes);
    expect(parts.length).toBeGreaterThan(2);
    for (const p of parts) expect(p.startsWith('| 主机 | CPU |')).toBe(true);
  });

  it('never throws and never exceeds the budget, whatever the blocks (seeded random markdown, sizes 200 to 1 200)', () => {
    let seed = 42;
    const random = () => {
      seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31;
      return seed / 2 ** 31;
    };
    const pick = <T>(xs: T[]) => xs[Math.floor(random() * xs.length)]!;
    const sizes = [bytes, (x: string) => [...x].length, (x: string) => Buffer.byteLength(JSON.stringify(x)) - 2];
    for (let n = 0; n < 300; n++) {
      const blocks: string[] = [];
      for (let b = 0; b < 12; b++) {
        const kind = pick(['p', 'code', 'table', 'wide']);
        if (kind === 'p') blocks.push('钉钉 text '.repeat(1 + Math.floor(random() * 40)));
        if (kind === 'code') blocks.push(`${pick(['```', '~~~', '````'])}${pick(['', 'sql', 'x'.repeat(Math.floor(random() * 600))])}\n${'select 1;\n'.repeat(Math.floor(random() * 40))}${'```'}`);
        if (kind === 'table') blocks.push(`| a | b |\n|---|---|\n${'| 1 | 二 |\n'.repeat(Math.floor(random() * 40))}`);
        if (kind === 'wide') blocks.push(`${'`'.repeat(3 + Math.floor(random() * 300))}\ncode\n`);
      }
      const text = blocks.join(pick(['\n\n', '\r\n\r\n', '\n']));
      const max = 200 + Math.floor(random() * 1000);
      const size = pick(sizes);
      for (const p of splitMarkdownBlocks(text, max, size)) expect(size(p)).toBeLessThanOrEqual(max);
    }
  });

  it('text with no blocks splits as splitMarkdown does', () => {
    const text = Array.from({ length: 50 }, (_, i) => `第 ${i} 段，内容若干。`).join('\n\n');
    expect(splitMarkdownBlocks(text, 200)).toEqual(splitMarkdown(text, 200));
  });
});
