import { describe, expect, it } from 'vitest';
import { SEND, text, useGateway } from './helpers.js';

describe('delivery: batching, tracking and per-recipient outcomes', () => {
  const env = useGateway();

  it('250 mobiles and one text: the first recipients hear within 2 s, each resolved batch goes as soon as it is complete, at most 4 calls', async () => {
    const before = (await env.calls(SEND)).length;
    const mobiles = Array.from({ length: 250 }, (_, i) => `1360000${String(i).padStart(4, '0')}`);
    const accepted = Date.now();
    const { id } = await env.api.send({ to: { mobiles }, message: text('季度报告已生成') });
    await expect.poll(async () => (await env.calls(SEND)).length - before, { timeout: 2_000, interval: 50 }).toBeGreaterThan(0);
    expect(Date.now() - accepted).toBeLessThan(2_000);
    const n = await env.api.waitFor(id, { timeoutMs: 30_000 });
    // Mobiles resolve at about 16 a second: an early batch after about 1 s, then full batches of 100, then the rest.
    const sends = (await env.calls(SEND)).slice(before);
    expect(sends.length).toBeLessThanOrEqual(4);
    const lookups = (await env.calls('/topapi/v2/user/getbymobile')).length;
    expect(lookups).toBeGreaterThanOrEqual(250);
    expect(lookups).toBeLessThan(260);
    expect(n.deliveries).toHaveLength(250);
    expect(n.deliveries!.every((d) => d.status === 'read' || d.status === 'unread')).toBe(true);
    expect(n.deliveries![7]).toMatchObject({ recipient: '13600000007', userid: 'u7', channel: 'work_notice', taskId: expect.any(String) });
    for (const i of [0, 123, 249]) expect((await env.inbox('users', `u${i}`)).some((m) => m.message.text.content === '季度报告已生成')).toBe(true);
  });

  it('notifications are not merged by default: each has its own DingTalk task, so recalling one recalls only it', async () => {
    const before = (await env.calls(SEND)).length;
    const ids = await Promise.all(Array.from({ length: 5 }, (_, i) => env.api.send({ to: { userIds: [`u${100 + i}`] }, message: text('不合并') })));
    const views = [];
    for (const { id } of ids) views.push(await env.api.waitFor(id, { timeoutMs: 10_000 }));
    expect((await env.calls(SEND)).length - before).toBe(5);
    expect(new Set(views.map((n) => n.deliveries![0]!.taskId)).size).toBe(5);
  });

  it('reports unknown mobiles and users as invalid, reads as read, and records DingTalk\'s task id', async () => {
    const { id } = await env.api.send({ to: { userIds: ['u1', 'ghost'], mobiles: ['13999999999'] }, message: text('mixed') });
    const n = await env.api.waitFor(id);
    const by = Object.fromEntries(n.deliveries!.map((d) => [d.recipient, d]));
    expect(by['13999999999']).toMatchObject({ status: 'invalid', reason: 'no active DingTalk user has this mobile' });
    expect(by.ghost).toMatchObject({ status: 'invalid' });
    expect(['read', 'unread']).toContain(by.u1!.status);
  });

  it('departments go out natively and are summarised; the first send to one takes the whole minute of recipients', async () => {
    // Nobody knows yet how many people department 2 reaches: it waits until the minute holds no other recipients.
    await env.advance(61_000);
    const { id } = await env.api.send({ to: { deptIds: [2] }, message: text('dept') });
    const n = await env.api.waitFor(id);
    await env.advance(61_000);
    expect(n.deliveries![0]).toMatchObject({ recipientKind: 'dept', recipient: '2', reason: expect.stringMatching(/^delivered: \d+ read, \d+ unread/) });
    // Its people are tracked one row each (dept-members.test.ts), and counted once: the department's row is their summary.
    const people = n.deliveries!.filter((d) => d.recipientKind === 'member');
    expect(people.map((d) => d.userid).sort()).toEqual(Array.from({ length: 10 }, (_, i) => `u${i}`).sort());
    expect(Object.values(n.counts).reduce((a, b) => a + b, 0)).toBe(10);
    expect(await env.inbox('users', 'u5')).toEqual(expect.arrayContaining([expect.objectContaining({ message: { msgtype: 'text', text: { content: 'dept' } } })]));
  });

  it('unread recipients are looked at again and turn read', async () => {
    await env.switches({ readPercent: 100, readAfterMs: 1200 });
    const { id } = await env.api.send({ to: { userIds: ['u200'] }, message: text('read me later') });
    const first = await env.api.waitFor(id);
    expect(first.deliveries![0]!.status).toBe('unread');
    const later = await env.api.waitFor(id, { until: (n) => n.deliveries![0]!.status === 'read', timeoutMs: 8000 });
    expect(later.deliveries![0]!.status).toBe('read');
    await env.switches({ readPercent: 50, readAfterMs: 500 });
  });

  it('identical content to the same user twice in a day: the second is reported throttled (143106)', async () => {
    const first = await env.api.send({ to: { userIds: ['u260'] }, message: text('daily digest') });
    await env.api.waitFor(first.id);
    const second = await env.api.send({ to: { userIds: ['u260'] }, message: text('daily digest') });
    const n = await env.api.waitFor(second.id);
    expect(n.deliveries![0]).toMatchObject({ status: 'throttled', reason: expect.stringContaining('143106') });
    expect((await env.inbox('users', 'u260')).filter((m) => m.message.text.content === 'daily digest')).toHaveLength(1);
  });

  it('app-robot one-to-one messages are sent 20 a call and tracked to read/unread', async () => {
    const users = Array.from({ length: 25 }, (_, i) => `u${220 + i}`);
    const { id } = await env.api.send({ to: { userIds: users }, via: 'app_robot', message: { type: 'markdown', title: '构建', text: '**失败**' } });
    const n = await env.api.waitFor(id);
    expect(n.deliveries!.every((d) => d.channel === 'robot_oto' && ['read', 'unread'].includes(d.status))).toBe(true);
    expect(new Set(n.deliveries!.map((d) => d.processQueryKey)).size).toBe(2);
  });

  it('chats get chat/send; robots get signed sends with mentions that notify', async () => {
    const { id } = await env.api.send({
      to: { robots: ['ops'], chats: ['chat1'] },
      message: { type: 'markdown', title: '发布', text: '**v2** 上线' },
      mentions: { mobiles: ['13600000001'] },
    });
    const n = await env.api.waitFor(id);
    expect(n.deliveries!.map((d) => [d.channel, d.status])).toEqual(expect.arrayContaining([['robot', 'sent'], ['chat', 'sent']]));
    const [msg] = (await env.inbox('robots', 'ops')).slice(-1);
    expect(msg.mentions.notified).toEqual(['13600000001']);
    expect(await env.inbox('chats', 'chat1')).toHaveLength(1);
  });

  it('through the app robot, a chat is a group conversation (groupMessages): sent, and recallable at DingTalk', async () => {
    const { id } = await env.api.send({ to: { chats: ['cid1=='] }, via: 'app_robot', message: text('group via app robot') });
    const n = await env.api.waitFor(id);
    expect(n.deliveries![0]).toMatchObject({ channel: 'robot_group', recipient: 'cid1==', status: 'sent', processQueryKey: expect.any(String) });
    const inChat = async () => (await env.inbox('chats', 'chat1')).filter((m) => JSON.stringify(m.message).includes('group via app robot')).map((m) => m.status);
    await expect.poll(inChat).toHaveLength(1);
    expect(await env.api.recall(id)).toMatchObject({ recalled: 1, notRecalled: [] });
    expect(await inChat()).toEqual(['recalled']);
    expect((await env.api.get(id)).status).toBe('recalled');
  });

  it('a raw DingTalk body is passed through untouched', async () => {
    const raw = { msgtype: 'feedCard', feedCard: { links: [{ title: '新闻', messageURL: 'https://a', picURL: 'https://p' }] } };
    const { id } = await env.api.send({ to: { robots: ['ops'] }, message: { raw } });
    await env.api.waitFor(id);
    const [msg] = (await env.inbox('robots', 'ops')).slice(-1);
    expect(msg.message).toMatchObject(raw);
  });

  it('/metrics counts outcomes by channel and status', async () => {
    const metrics = await (await fetch(`${env.gw.url}/metrics`)).text();
    expect(metrics).toMatch(/dingpush_deliveries_total\{channel="work_notice",status="invalid"\} [1-9]/);
    expect(metrics).toMatch(/dingpush_deliveries_total\{channel="robot",status="sent"\} [1-9]/);
  });
});
