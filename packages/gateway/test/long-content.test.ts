import { describe, expect, it } from 'vitest';
import { API_KEY, PG_URL, SEND, text, useGateway, usePostgresSchema } from './helpers.js';

/**
 * Long reports: text and markdown longer than a surface takes are split into numbered parts that go out in order,
 * each within DingTalk's limit for that surface, and join back to exactly the text sent; or truncated, or refused.
 */

/** A daily report of `chars` characters: headings, paragraphs, a table, links and code spans, Chinese and ASCII. */
function report(chars: number): string {
  const blocks: string[] = [];
  for (let i = 0; [...blocks.join('')].length < chars; i++) {
    blocks.push(`## 区服 ${i} 日报\n\n今日在线峰值 ${1000 + i} 人，充值 ${i * 37} 元。详情见 [报表 ${i}](https://example.com/report/${i}) 和 \`select * from t${i}\`。\n\n`);
    blocks.push(`| 主机 | CPU | 状态 |\n|---|---|---|\n${Array.from({ length: 8 }, (_, k) => `| web-${i}-${k} | ${(i * 7 + k) % 100}% | 正常 |`).join('\n')}\n\n`);
  }
  return [...blocks.join('')].slice(0, chars).join('');
}

const HEADER = '| 主机 | CPU | 状态 |\n|---|---|---|\n';
/** The parts' texts joined, less the table header a part repeats when it goes on with the table of the part before. */
const joined = (texts: string[]) => texts.map((t, k) => (k > 0 && /\|[^\n]*\n?$/.test(texts[k - 1]!) && t.startsWith(HEADER) ? t.slice(HEADER.length) : t)).join('');

const titleNumber = (title: string) => title.match(/\((\d+)\/(\d+)\)$/)?.slice(1).map(Number) ?? [];

describe('long content', () => {
  const env = useGateway({
    configure: (c) => {
      c.server = { ...c.server!, bodyLimitBytes: 1024 * 1024 };
    },
  });

  it('a 60 000-character markdown report reaches a robot group in ordered parts, each under 20 000 bytes, joining back to the original', async () => {
    const original = report(60_000);
    // The first call fails (DingTalk busy): its part is sent again (same msgUuid), and no later part overtakes it.
    await env.fault({ path: '/robot/send', kind: 'busy', count: 1 });
    const { id } = await env.api.send({ to: { robots: ['ops'] }, message: { type: 'markdown', title: '区服日报', text: original } });
    const n = await env.api.waitFor(id, { timeoutMs: 20_000 });
    const parts = n.deliveries!;
    expect(parts.length).toBeGreaterThan(1);
    expect(parts.every((d) => d.status === 'sent' && d.parts === parts.length)).toBe(true);
    const inbox = (await env.inbox('robots', 'ops')).filter((m) => m.message.markdown?.title.startsWith('区服日报'));
    expect(inbox).toHaveLength(parts.length);
    for (const m of inbox) expect(Buffer.byteLength(JSON.stringify(m.message))).toBeLessThanOrEqual(20_000);
    // In order: part i arrived i-th, and the texts join back to the report exactly.
    expect(inbox.map((m) => titleNumber(m.message.markdown.title))).toEqual(parts.map((_, i) => [i + 1, parts.length]));
    expect(joined(inbox.map((m) => m.message.markdown.text))).toBe(original);
    // Never inside a table row or a link: every line of every part is a whole line of the report.
    const lines = new Set(original.split('\n'));
    for (const m of inbox) for (const line of (m.message.markdown.text as string).split('\n').filter(Boolean)) expect(lines.has(line), line).toBe(true);
    // A part that goes on with a table shows its header first: it renders as a table on its own.
    for (const m of inbox) {
      const rows = (m.message.markdown.text as string).split('\n');
      const first = rows.findIndex((l) => l.startsWith('| web-'));
      if (first >= 0) expect(`${rows.slice(first - 2, first).join('\n')}\n`).toBe(HEADER);
    }
  });

  it('the same report reaches a user (by userid and by mobile) as work notifications of at most 5 000 characters, in order, even when DingTalk fails a call', async () => {
    const original = report(60_000);
    // The first call fails (DingTalk busy): its part is retried, and no later part overtakes it.
    await env.fault({ path: SEND, kind: 'busy', count: 1 });
    const before = (await env.calls(SEND)).length;
    const { id } = await env.api.send({ to: { userIds: ['u5'], mobiles: ['13600000006'] }, message: { type: 'markdown', title: '区服日报', text: original } });
    const n = await env.api.waitFor(id, { timeoutMs: 30_000 });
    const count = n.deliveries![0]!.parts!;
    expect(count).toBeGreaterThanOrEqual(12);
    expect(n.deliveries).toHaveLength(2 * count);
    expect(n.deliveries!.every((d) => ['read', 'unread'].includes(d.status))).toBe(true);
    // One call per part: both users share each part's call once the mobile is resolved … or two, if the mobile
    // resolved after the userid's first part went; never more than two per part beyond the failed one.
    const calls = (await env.calls(SEND)).length - before;
    expect(calls).toBeGreaterThanOrEqual(count + 1);
    expect(calls).toBeLessThanOrEqual(2 * count + 1);
    for (const user of ['u5', 'u6']) {
      const inbox = (await env.inbox('users', user)).filter((m) => m.message.markdown?.title.startsWith('区服日报'));
      expect(inbox.map((m) => titleNumber(m.message.markdown.title))).toEqual(Array.from({ length: count }, (_, i) => [i + 1, count]));
      for (const m of inbox) expect([...m.message.markdown.text].length).toBeLessThanOrEqual(5000);
      expect(joined(inbox.map((m) => m.message.markdown.text))).toBe(original);
    }
  });

  it('a long text to a chat is split with the number on its first line; overflow "truncate" sends one message within the limit', async () => {
    const body = Array.from({ length: 1400 }, (_, i) => `第 ${i} 行 line ${i}`).join('\n');
    const split = await env.api.send({ to: { chats: ['chat1'] }, message: text(body) });
    const n = await env.api.waitFor(split.id);
    const count = n.deliveries!.length;
    expect(count).toBeGreaterThan(1);
    const shown = (await env.inbox('chats', 'chat1')).map((m) => m.message.text?.content as string).filter((c) => c?.includes('第 0 行') || /^\(\d+\/\d+\)\n第 /.test(c ?? ''));
    expect(shown).toHaveLength(count);
    expect(shown.map((c) => c.split('\n')[0])).toEqual(Array.from({ length: count }, (_, i) => `(${i + 1}/${count})`));
    expect(shown.map((c) => c.slice(c.indexOf('\n') + 1)).join('')).toBe(body);

    const cut = await env.api.send({ to: { userIds: ['u7'] }, message: { type: 'markdown', title: '截断', text: report(9000) }, overflow: 'truncate' });
    const t = await env.api.waitFor(cut.id);
    expect(t.deliveries).toHaveLength(1);
    const [m] = (await env.inbox('users', 'u7')).filter((x) => x.message.markdown?.title === '截断');
    expect([...m.message.markdown.text].length).toBeLessThanOrEqual(5000);
    expect(m.message.markdown.text.endsWith(' …')).toBe(true);
    expect(report(9000).startsWith(m.message.markdown.text.slice(0, -2))).toBe(true);
  });

  it('a robot with keywords gets every part of a split text: parts whose text lacks the keyword carry it beside their number', async () => {
    const body = `告警 汇总\n${Array.from({ length: 1500 }, (_, i) => `第 ${i} 条 disk usage high on web-${i}`).join('\n')}`;
    const { id } = await env.api.send({ to: { robots: ['alerts'] }, message: text(body) });
    const n = await env.api.waitFor(id, { timeoutMs: 20_000 });
    const count = n.deliveries!.length;
    expect(count).toBeGreaterThan(2);
    expect(n.deliveries!.every((d) => d.status === 'sent')).toBe(true);
    const shown = (await env.inbox('robots', 'alerts')).map((m) => m.message.text?.content as string).filter((c) => /^\(\d+\/\d+\)/.test(c ?? ''));
    expect(shown.map((c) => c.split('\n')[0])).toEqual(Array.from({ length: count }, (_, i) => (i === 0 ? `(1/${count})` : `(${i + 1}/${count}) 告警`)));
    for (const c of shown) expect(Buffer.byteLength(c)).toBeLessThanOrEqual(20_000);
    // A long message that carries no keyword is refused like a short one: splitting never adds what the robot demands.
    const res = await fetch(`${env.gw.url}/v1/notifications`, {
      method: 'POST',
      headers: { authorization: `Bearer ${API_KEY}`, 'content-type': 'application/json' },
      body: JSON.stringify({ to: { robots: ['alerts'] }, message: text(body.replaceAll('告警', '')) }),
    });
    expect(res.status).toBe(400);
    expect((await res.json()).error).toMatchObject({ path: 'to.robots[0]', message: expect.stringContaining('keywords') });
  });

  it('a split that would make more than 20 000 deliveries (5 000 recipients × 6 parts) is a 400 naming the rule; nothing is stored', async () => {
    const userIds = Array.from({ length: 5000 }, (_, i) => `user${i}`);
    const res = await fetch(`${env.gw.url}/v1/notifications`, {
      method: 'POST',
      headers: { authorization: `Bearer ${API_KEY}`, 'content-type': 'application/json' },
      body: JSON.stringify({ to: { userIds }, message: text('行'.repeat(26_000)), idempotencyKey: 'too-many-parts' }),
    });
    expect(res.status).toBe(400);
    expect((await res.json()).error).toMatchObject({ path: 'message', message: expect.stringMatching(/split into 6 parts for 5000 recipients it makes 30000 deliveries; at most 20000/) });
    expect((await env.api.list({ limit: 200 })).items.filter((n) => n.idempotencyKey === 'too-many-parts')).toHaveLength(0);
  });

  it('a message that fits goes as one, unnumbered; app-robot parts stay under 15 000 bytes of msgParam', async () => {
    const short = await env.api.send({ to: { userIds: ['u8'] }, message: { type: 'markdown', title: '短', text: 'x'.repeat(5000) } });
    const s = await env.api.waitFor(short.id);
    expect(s.deliveries).toHaveLength(1);
    expect(s.deliveries![0]!.parts).toBeUndefined();

    const original = report(12_000);
    const oto = await env.api.send({ to: { userIds: ['u9'] }, via: 'app_robot', message: { type: 'markdown', title: '日报', text: original } });
    const o = await env.api.waitFor(oto.id, { timeoutMs: 20_000 });
    expect(o.deliveries!.length).toBeGreaterThan(1);
    const inbox = (await env.inbox('users', 'u9')).filter((m) => m.message.msgKey === 'sampleMarkdown');
    expect(inbox).toHaveLength(o.deliveries!.length);
    // The inbox shows msgParam parsed; as JSON again it is the string that was sent.
    const params = inbox.map((m) => (typeof m.message.msgParam === 'string' ? JSON.parse(m.message.msgParam) : m.message.msgParam) as { title: string; text: string });
    for (const p of params) expect(Buffer.byteLength(JSON.stringify(p))).toBeLessThanOrEqual(15_000);
    expect(params.map((p) => titleNumber(p.title))).toEqual(params.map((_, i) => [i + 1, params.length]));
    expect(joined(params.map((p) => p.text))).toBe(original);
  });
});

describe('long content with two gateways on PostgreSQL', () => {
  const schema = usePostgresSchema('long_content');
  const env = useGateway({
    instances: 2,
    config: { store: { postgres: PG_URL, schema }, delivery: { leaseMs: 1_000, pollMs: 20, backoffBaseMs: 50, backoffMaxMs: 300 } },
    configure: (c) => {
      c.server = { ...c.server!, bodyLimitBytes: 1024 * 1024 };
    },
  });

  it('the parts arrive in order while both gateways claim work, and a slow part holds the ones after it back', async () => {
    const original = report(20_000);
    await env.fault({ path: SEND, kind: 'latency', latencyMs: 1_500, count: 1 });
    const { id } = await env.api.send({ to: { userIds: ['u20', 'u21'] }, message: { type: 'markdown', title: '周报', text: original } });
    const n = await env.api.waitFor(id, { timeoutMs: 20_000 });
    const count = n.deliveries![0]!.parts!;
    expect(count).toBeGreaterThanOrEqual(4);
    for (const user of ['u20', 'u21']) {
      const inbox = (await env.inbox('users', user)).filter((m) => m.message.markdown?.title.startsWith('周报'));
      expect(inbox.map((m) => titleNumber(m.message.markdown.title))).toEqual(Array.from({ length: count }, (_, i) => [i + 1, count]));
      expect(joined(inbox.map((m) => m.message.markdown.text))).toBe(original);
    }
    // Each part once: one call per part for both users.
    expect(n.deliveries!.every((d) => d.attempts === 1)).toBe(true);
  });

  it('a recall while the parts are going out: nothing stays delivered, and the parts not yet sent never go', async () => {
    const original = report(30_000);
    await env.fault({ path: SEND, kind: 'latency', latencyMs: 800, rate: 1 });
    const { id } = await env.api.send({ to: { userIds: ['u22'] }, message: { type: 'markdown', title: '撤回', text: original } });
    await expect.poll(async () => (await env.api.get(id)).deliveries!.filter((d) => d.status !== 'queued').length, { timeout: 10_000 }).toBeGreaterThan(0);
    await env.api.recall(id);
    await fetch(`${env.emu.url}/_emulator/api/faults`, { method: 'DELETE' });
    const n = await env.api.waitFor(id, { timeoutMs: 20_000, until: (x) => x.deliveries!.every((d) => d.status === 'recalled') });
    const count = n.deliveries!.length;
    const inbox = (await env.inbox('users', 'u22')).filter((m) => m.message.markdown?.title.startsWith('撤回'));
    // Some parts had gone (and are recalled at DingTalk), the rest never left the gateway.
    expect(inbox.length).toBeLessThan(count);
    expect(inbox.every((m) => m.status === 'recalled')).toBe(true);
  });
});

describe('long content against the per-user daily cap', () => {
  // Three messages a day per user, at the gateway and at DingTalk alike.
  const env = useGateway({ switches: { dailyUserCap: 3 }, config: { delivery: { backoffBaseMs: 50, backoffMaxMs: 300, pollMs: 20, perUserPerDay: 3 } } });

  it('a part held back until tomorrow takes its reader’s later parts with it: they arrive after it, in order; the others get theirs today', async () => {
    // Messages earlier today: u31's cap stops the report after part 1, u30's after part 2, u32's after part 3.
    for (const [user, earlier] of [['u31', 2], ['u30', 1]] as const)
      for (let i = 0; i < earlier; i++) await env.api.waitFor((await env.api.send({ to: { userIds: [user] }, message: text(`earlier ${i}`) })).id);
    const body = Array.from({ length: 2600 }, (_, i) => `第 ${i} 行`).join('\n');
    const { id } = await env.api.send({ to: { userIds: ['u30', 'u31', 'u32'] }, message: text(body) });
    const shown = async (user: string) =>
      (await env.inbox('users', user)).map((m) => (m.message.text?.content as string | undefined)?.split('\n')[0] ?? '').filter((l) => /^\(\d+\/\d+\)$/.test(l));
    const count = (await env.api.get(id)).deliveries![0]!.parts!;
    expect(count).toBeGreaterThanOrEqual(5);
    const expected = (n: number) => Array.from({ length: Math.min(n, count) }, (_, i) => `(${i + 1}/${count})`);
    await expect.poll(() => shown('u32'), { timeout: 20_000, interval: 200 }).toEqual(expected(3));
    expect(await shown('u30')).toEqual(expected(2));
    expect(await shown('u31')).toEqual(expected(1));
    // Tomorrow (Shanghai) three more each: every reader's parts in order, whatever the held-back jobs' jitter.
    await env.advance(26 * 3_600_000);
    // DingTalk busy half the time tomorrow: parts carried behind a held-back one count their deadline from tomorrow, as
    // it does, so they retry instead of giving up (26 h is past the day-one give-up time).
    await env.fault({ path: SEND, kind: 'busy', rate: 0.5 });
    for (const [user, total] of [['u31', 4], ['u30', 5], ['u32', 6]] as const)
      await expect.poll(() => shown(user), { timeout: 30_000, interval: 200 }).toEqual(expected(total));
    await fetch(`${env.emu.url}/_emulator/api/faults`, { method: 'DELETE' });
    expect((await env.api.get(id)).deliveries!.filter((d) => d.status === 'failed')).toEqual([]);
  });
});
