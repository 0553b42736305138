import { describe, expect, it } from 'vitest';
import { SEND, text, useGateway } from './helpers.js';

const TOKEN = '/v1.0/oauth2/accessToken';
const contents = (messages: { message: { text?: { content: string } }; status?: string }[], content: string) =>
  messages.filter((m) => m.message.text?.content === content).map((m) => m.status ?? 'delivered');

describe('a recall accepted while a send is in flight, whose send then fails retryably', () => {
  const env = useGateway({ config: { delivery: { backoffBaseMs: 50, backoffMaxMs: 300, pollMs: 20 } } });

  it('chat: the message must not go out after the recall was accepted (chat/send cannot be recalled)', async () => {
    // warm the token
    await env.api.waitFor((await env.api.send({ to: { chats: ['chat1'] }, message: text('warm-up') })).id);
    // 1st chat/send: the token is revoked (40014 → refresh); the token fetch is slow (the recall arrives then);
    // the repeated chat/send answers -1 busy (retryable, nothing sent).
    await env.fault({ path: '/chat/send', kind: 'revokeToken', count: 1 });
    await env.fault({ path: '/chat/send', kind: 'busy', count: 1 });
    await env.fault({ path: TOKEN, kind: 'latency', latencyMs: 1_500, count: 1 });
    const { id } = await env.api.send({ to: { chats: ['chat1'] }, message: text('recalled chat') });
    await expect.poll(async () => (await env.api.get(id)).deliveries![0]!.status, { timeout: 3_000, interval: 10 }).toBe('sending');
    const r = await env.api.recall(id);
    await new Promise((res) => setTimeout(res, 2_500));
    // The recall wins: nothing is sent after it.
    expect((await env.api.get(id)).deliveries![0]).toMatchObject({ status: 'recalled', reason: 'recalled before it was sent' });
    expect(r.pending.length + r.recalled).toBe(1);
    expect(contents(await env.inbox('chats', 'chat1'), 'recalled chat')).toEqual([]);
  });

  it('work notice: a send after the recall was accepted (user sees it, then it is recalled)', async () => {
    await env.fault({ path: SEND, kind: 'revokeToken', count: 1 });
    await env.fault({ path: SEND, kind: 'busy', count: 1 });
    await env.fault({ path: TOKEN, kind: 'latency', latencyMs: 1_500, count: 1 });
    const sendsBefore = (await env.calls(SEND)).length;
    const { id } = await env.api.send({ to: { userIds: ['u95'] }, message: text('recall while token refresh') });
    await expect.poll(async () => (await env.api.get(id)).deliveries![0]!.status, { timeout: 3_000, interval: 10 }).toBe('sending');
    const r = await env.api.recall(id);
    await new Promise((res) => setTimeout(res, 3_000));
    expect((await env.api.get(id)).deliveries![0]).toMatchObject({ status: 'recalled', reason: 'recalled before it was sent' });
    expect(r.pending.length + r.recalled).toBe(1);
    expect(contents(await env.inbox('users', 'u95'), 'recall while token refresh')).toEqual([]);
    // The call the token refresh interrupted and the busy answer were made; nothing after the recall.
    expect((await env.calls(SEND)).length - sendsBefore).toBeLessThanOrEqual(2);
  });
});

describe('a recall racing the tracker that learns of a daily cap (143105)', () => {
  const env = useGateway({ switches: { dailyUserCap: 1 }, config: { delivery: { backoffBaseMs: 50, backoffMaxMs: 300, pollMs: 20 } } });

  it('a recall accepted while getsendresult is in flight: the held-back recipient must not be sent the next day', async () => {
    await env.api.waitFor((await env.api.send({ to: { userIds: ['u60'] }, message: text('cap filler') })).id);
    const { id } = await env.api.send({ to: { userIds: ['u60'] }, message: text('capped then recalled') });
    await expect.poll(async () => (await env.api.get(id)).deliveries![0]!.status, { timeout: 3_000, interval: 10 }).toBe('sent');
    await env.fault({ path: '/topapi/message/corpconversation/getsendresult', kind: 'latency', latencyMs: 1_500, count: 1 });
    // DingTalk's recall answers slowly, so the tracker's answer (143105: held back) comes first.
    await env.fault({ path: '/topapi/message/corpconversation/recall', kind: 'latency', latencyMs: 3_000, count: 1 });
    await new Promise((res) => setTimeout(res, 400));
    const r = await env.api.recall(id);
    await new Promise((res) => setTimeout(res, 2_000));
    await env.advance(86_400_000 + 120_000);
    await new Promise((res) => setTimeout(res, 2_000));
    expect((await env.api.get(id)).deliveries![0]!.status).toBe('recalled');
    expect(r.notRecalled).toEqual([]);
    expect(contents(await env.inbox('users', 'u60'), 'capped then recalled')).toEqual([]);
  });
});

describe('an operator retry of a recalled notification', () => {
  const env = useGateway({ config: { delivery: { backoffBaseMs: 50, backoffMaxMs: 300, pollMs: 20 } } });

  it('a recalled notification whose chat send failed (dead letter) is not sent by POST /retry', async () => {
    await env.fault({ path: '/chat/send', kind: 'drop', count: 1 });
    const { id } = await env.api.send({ to: { chats: ['chat1'] }, message: text('failed, recalled, retried') });
    const n = await env.api.waitFor(id);
    expect(n.deliveries![0]!.status).toBe('failed');
    await env.api.recall(id);
    const res = await fetch(`${env.gw.url}/v1/notifications/${id}/retry`, { method: 'POST', headers: { authorization: `Bearer test-key-0123456789abcdef` } });
    expect(res.status).toBe(200);
    await new Promise((res) => setTimeout(res, 1_500));
    // The retry takes the failed delivery up, and the recall cancels it: never a chat message after the recall.
    expect((await env.api.get(id)).deliveries![0]!.status).toBe('recalled');
    expect(contents(await env.inbox('chats', 'chat1'), 'failed, recalled, retried')).toEqual([]);
  });
});
