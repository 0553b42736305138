import { describe, expect, it } from 'vitest';
import { SEND, text, useGateway } from './helpers.js';

describe('failures: retried when retrying can help, never blindly repeated', () => {
  const env = useGateway({ config: { delivery: { backoffBaseMs: 50, backoffMaxMs: 300, pollMs: 50, giveUpAfterMs: 3_000 } } });

  it('-1 busy and HTTP 502 are retried with backoff until delivered', async () => {
    await env.fault({ path: SEND, kind: 'busy', count: 2 });
    await env.fault({ path: '/robot/send', kind: 'http5xx', status: 502, count: 1 });
    const { id } = await env.api.send({ to: { userIds: ['u40'], robots: ['ops'] }, message: text('flaky') });
    const n = await env.api.waitFor(id, { timeoutMs: 10_000 });
    const work = n.deliveries!.find((d) => d.channel === 'work_notice')!;
    expect(['read', 'unread']).toContain(work.status);
    expect(work.attempts).toBe(3);
    expect(n.deliveries!.find((d) => d.channel === 'robot')).toMatchObject({ status: 'sent', attempts: 2 });
  });

  it('a permanent error fails at once with DingTalk\'s reason (wrong robot secret: 310000)', async () => {
    const { id } = await env.api.send({ to: { robots: ['bad'] }, message: text('x') });
    const n = await env.api.waitFor(id);
    // The reason is DingTalk's code and message; what to do about it is the error table's line beside it.
    expect(n.deliveries![0]).toMatchObject({ status: 'failed', attempts: 1, reason: 'DingTalk 310000: sign not match', whatToDo: { en: expect.stringMatching(/secret/), zh: expect.stringMatching(/密钥/) } });
    expect(JSON.stringify(n)).not.toContain('SECwrong');
  });

  it('a work notification whose answer was lost is sent again and DingTalk\'s duplicate filter proves it arrived once', async () => {
    await env.fault({ path: SEND, kind: 'dropAfter', count: 1 });
    const { id } = await env.api.send({ to: { userIds: ['u41'] }, message: text('answer lost') });
    const n = await env.api.waitFor(id, { timeoutMs: 10_000 });
    // Delivered (DingTalk's duplicate filter proves it) and settled; its read status went with the lost task id.
    expect(n).toMatchObject({ status: 'completed' });
    expect(n.deliveries![0]).toMatchObject({ status: 'sent', reason: expect.stringContaining('delivered by an earlier attempt whose answer was lost'), attempts: 2 });
    expect(n.deliveries![0]!.taskId).toBeUndefined();
    expect((await env.inbox('users', 'u41')).filter((m) => m.message.text.content === 'answer lost')).toHaveLength(1);
  });

  it('a robot message whose answer was lost is resent with the same msgUuid and arrives once', async () => {
    await env.fault({ path: '/robot/send', kind: 'dropAfter', count: 1 });
    const before = (await env.inbox('robots', 'ops')).length;
    const { id } = await env.api.send({ to: { robots: ['ops'] }, message: text('robot answer lost') });
    const n = await env.api.waitFor(id, { timeoutMs: 10_000 });
    expect(n.deliveries![0]).toMatchObject({ status: 'sent', attempts: 2 });
    expect((await env.inbox('robots', 'ops')).length - before).toBe(1);
  });

  it('a chat/send whose answer was lost is not repeated (it cannot be checked) and says so', async () => {
    await env.fault({ path: '/chat/send', kind: 'dropAfter', count: 1 });
    const { id } = await env.api.send({ to: { chats: ['chat1'] }, message: text('chat answer lost') });
    const n = await env.api.waitFor(id, { timeoutMs: 10_000 });
    expect(n.deliveries![0]).toMatchObject({ status: 'failed', reason: expect.stringContaining('not repeated') });
    expect((await env.inbox('chats', 'chat1')).filter((m) => m.message.text?.content === 'chat answer lost')).toHaveLength(1);
  });

  it('a revoked token is refreshed and the send goes through', async () => {
    await env.fault({ path: SEND, kind: 'revokeToken', count: 1 });
    const { id } = await env.api.send({ to: { userIds: ['u42'] }, message: text('after revoke') });
    const n = await env.api.waitFor(id, { timeoutMs: 10_000 });
    expect(['read', 'unread']).toContain(n.deliveries![0]!.status);
  });

  it('gives up after the configured time with the last error as the reason', async () => {
    await env.fault({ path: SEND, kind: 'busy', rate: 1 });
    const { id } = await env.api.send({ to: { userIds: ['u43'] }, message: text('never') });
    const n = await env.api.waitFor(id, { timeoutMs: 15_000 });
    await fetch(`${env.emu.url}/_emulator/api/faults`, { method: 'DELETE' });
    expect(n.deliveries![0]).toMatchObject({ status: 'failed', reason: expect.stringMatching(/^gave up after .*DingTalk -1/) });
  });

  it('a failure quoted by a later reason (given up, not answered) keeps one description, and a final row is never told "dingpush retries"', async () => {
    // The robot answers 502 until the notification's deadline: the delivery gives up, quoting the last error.
    await env.fault({ path: '/robot/send', kind: 'http5xx', status: 502, count: 1000 });
    try {
      const { id } = await env.api.send({ to: { robots: ['alerts'] }, message: text('告警 gives up') });
      const n = await env.api.waitFor(id, { timeoutMs: 15_000 });
      const row = n.deliveries![0]!;
      expect(row.status).toBe('failed');
      expect(row.reason).toMatch(/DingTalk HTTP 502: answer was not JSON/);
      expect(row.reason).not.toMatch(/what to do|Nothing to do/);
      expect(row.whatToDo).toBeUndefined();
    } finally {
      await fetch(`${env.emu.url}/_emulator/api/faults`, { method: 'DELETE' });
    }
  });
});
