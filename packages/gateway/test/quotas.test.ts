import { describe, expect, it } from 'vitest';
import { text, useGateway } from './helpers.js';

describe('pacing inside DingTalk quotas', () => {
  const env = useGateway({ switches: { dailyUserCap: 3 }, config: { delivery: { backoffBaseMs: 50, backoffMaxMs: 500, pollMs: 50, perUserPerDay: 3 } } });

  it('a robot burst of 40: 18 go now (2 of the minute kept for urgent ones), none gets 130101, the other 22 go as one digest in the next free slot', async () => {
    const ids = await Promise.all(Array.from({ length: 40 }, (_, i) => env.api.send({ to: { robots: ['ops'] }, message: text(`burst ${i}`) })));
    await expect.poll(async () => (await env.inbox('robots', 'ops')).length, { timeout: 10_000 }).toBe(18);
    await new Promise((r) => setTimeout(r, 500));
    expect(await env.inbox('robots', 'ops')).toHaveLength(18);
    const waiting = await Promise.all(ids.map(({ id }) => env.api.get(id)));
    const queued = waiting.filter((n) => n.deliveries![0]!.status === 'queued');
    expect(queued).toHaveLength(22);
    for (const n of queued) expect(n.deliveries![0]!.reason).toContain('20-a-minute');
    // The window frees a minute after the burst: one message carries everything that waited.
    await env.advance(62_500);
    for (const { id } of ids) await env.api.waitFor(id, { timeoutMs: 10_000 });
    const inbox = await env.inbox('robots', 'ops');
    expect(inbox).toHaveLength(19);
    const digest = inbox[18]!.message;
    expect(digest.msgtype).toBe('markdown');
    expect(digest.markdown.title).toContain('22 条');
    const sentAlone = new Set(inbox.slice(0, 18).map((m) => m.message.text.content as string));
    for (let i = 0; i < 40; i++) {
      const shown = sentAlone.has(`burst ${i}`) || (digest.markdown.text as string).split('\n').some((l: string) => l.endsWith(`**burst ${i}**`));
      expect(shown, `burst ${i}`).toBe(true);
    }
    const folded = (await Promise.all(ids.map(({ id }) => env.api.get(id)))).map((n) => n.deliveries![0]!).filter((x) => x.digest);
    expect(folded).toHaveLength(22);
    expect(new Set(folded.map((x) => x.digest)).size).toBe(1);
    for (const x of folded) expect(x.status).toBe('sent');
    const codes = (await env.calls('/robot/send')).map((c) => c.errcode);
    expect(codes).not.toContain(130101);
    expect(codes.filter((c) => c === 0)).toHaveLength(19);
  });

  it('if DingTalk blocks a robot anyway (130101), the gateway waits out the 10 minutes and delivers', async () => {
    // Another sender used up the robot's minute: the emulator blocks it.
    for (let i = 0; i < 21; i++)
      await fetch(`${env.emu.url}/robot/send?access_token=${'f'.repeat(64)}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ msgtype: 'text', text: { content: `告警 other ${i}` } }) });
    const { id } = await env.api.send({ to: { robots: ['alerts'] }, message: text('告警: disk') });
    await expect.poll(async () => (await env.api.get(id)).deliveries![0]!.reason ?? '', { timeout: 5000 }).toContain('130101');
    expect((await env.api.get(id)).deliveries![0]!.status).toBe('queued');
    await env.advance(601_000);
    const n = await env.api.waitFor(id, { timeoutMs: 10_000 });
    expect(n.deliveries![0]!.status).toBe('sent');
  });

  it('the per-user daily cap: the 4th message to a user (cap 3 here, 500 by default) waits for tomorrow, then arrives', async () => {
    const ids = [];
    for (let i = 0; i < 4; i++) {
      const { id } = await env.api.send({ to: { userIds: ['u30'] }, message: text(`cap ${i}`) });
      ids.push(id);
      if (i < 3) await env.api.waitFor(id);
    }
    const fourth = await env.api.waitFor(ids[3]!, { until: (n) => (n.deliveries![0]!.reason ?? '').includes('tomorrow') });
    expect(fourth.deliveries![0]).toMatchObject({ status: 'queued', reason: expect.stringContaining('3 messages a day per user') });
    expect((await env.inbox('users', 'u30')).map((m) => m.message.text.content)).toEqual(['cap 0', 'cap 1', 'cap 2']);
    await env.advance(86_400_000);
    const later = await env.api.waitFor(ids[3]!, { timeoutMs: 10_000 });
    expect(['read', 'unread']).toContain(later.deliveries![0]!.status);
    expect((await env.inbox('users', 'u30')).map((m) => m.message.text.content)).toContain('cap 3');
  });

  it('when DingTalk filters for its daily cap (143105), the recipient is requeued for tomorrow, not dropped', async () => {
    await env.switches({ dailyUserCap: 1 });
    const a = await env.api.send({ to: { userIds: ['u31'] }, message: text('first') });
    await env.api.waitFor(a.id);
    const b = await env.api.send({ to: { userIds: ['u31'] }, message: text('second') });
    const waiting = await env.api.waitFor(b.id, { until: (n) => (n.deliveries![0]!.reason ?? '').includes('143105') });
    expect(waiting.deliveries![0]).toMatchObject({ status: 'queued', reason: expect.stringContaining('waits until tomorrow') });
    await env.advance(86_400_000);
    const done = await env.api.waitFor(b.id, { timeoutMs: 10_000 });
    expect(['read', 'unread']).toContain(done.deliveries![0]!.status);
    await env.switches({ dailyUserCap: 3 });
  });
});

describe('read re-checks spend the monthly call quota, so they have a daily budget', () => {
  const env = useGateway({ switches: { readPercent: 0 }, config: { tracking: { firstCheckMs: 100, readChecksMs: [300, 600], readChecksPerDay: 1 } } });

  it('past the budget, unread stays unread and no more looks are made today', async () => {
    const RESULT = '/topapi/message/corpconversation/getsendresult';
    const a = await env.api.send({ to: { userIds: ['u120'] }, message: text('budget a') });
    const b = await env.api.send({ to: { userIds: ['u121'] }, message: text('budget b') });
    for (const { id } of [a, b]) expect((await env.api.waitFor(id)).deliveries![0]!.status).toBe('unread');
    await new Promise((r) => setTimeout(r, 2_000));
    // One first look per send, then a single re-check for the whole day (not 2 × 2).
    expect((await env.calls(RESULT)).length).toBe(3);
    await env.advance(86_400_000);
    const c = await env.api.send({ to: { userIds: ['u122'] }, message: text('budget c') });
    await env.api.waitFor(c.id);
    await new Promise((r) => setTimeout(r, 1_500));
    // A new day, a new budget.
    expect((await env.calls(RESULT)).length).toBe(5);
  });
});

describe('every call to DingTalk is paced, not only sends', () => {
  // 12 calls a second: room for a call to reach the in-process emulator up to 330 ms after its slot, since the test
  // runs gateway, emulator and 120 clients in one loaded process (at the default 16 the room is 125 ms).
  const env = useGateway({ switches: { readAfterMs: 300 }, config: { delivery: { appCallsPerSecond: 12 }, tracking: { firstCheckMs: 50, readChecksMs: [400] } } });

  it('a burst of 120 work notifications: sends, token fetches, lookups and tracking looks all stay under 20 a second per API', async () => {
    const ids = await Promise.all(
      Array.from({ length: 120 }, (_, i) => env.api.send({ to: i % 2 ? { userIds: [`u${i}`] } : { mobiles: [`1360000${String(i).padStart(4, '0')}`] }, message: text(`paced ${i}`) })),
    );
    for (const { id } of ids) await env.api.waitFor(id, { timeoutMs: 30_000 });
    await new Promise((r) => setTimeout(r, 1_000));
    const calls = await env.calls();
    expect(calls.filter((c) => c.errcode === 90018 || c.errcode === 'Forbidden.AccessDenied.QpsLimitForAppkeyAndApi')).toEqual([]);
    const paths = new Set(calls.map((c) => c.path));
    for (const path of ['/topapi/message/corpconversation/asyncsend_v2', '/topapi/v2/user/getbymobile', '/topapi/message/corpconversation/getsendresult'])
      expect(paths).toContain(path);
    for (const path of paths) {
      const times = calls.filter((c) => c.path === path).map((c) => c.time);
      const busiest = Math.max(...times.map((t) => times.filter((x) => x > t - 1_000 && x <= t).length));
      expect(busiest, path).toBeLessThanOrEqual(20);
    }
  });
});
