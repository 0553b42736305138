import { describe, expect, it } from 'vitest';
import { SEND, text, useGateway } from './helpers.js';

const DAY = 86_400_000;
const SHANGHAI = 8 * 3_600_000;
const untilShanghaiMidnight = (now: number) => DAY - ((now + SHANGHAI) % DAY);

/**
 * A work notification whose answer was lost is sent again so that DingTalk's same-content filter (143106) proves an
 * earlier arrival; that filter forgets at midnight in Asia/Shanghai, so after midnight a resend could deliver a
 * second copy.
 */
describe('an answer lost just before midnight (Asia/Shanghai)', () => {
  const env = useGateway({ config: { delivery: { backoffBaseMs: 50, backoffMaxMs: 300, pollMs: 20 } } });

  it('is not sent again after midnight: failed, saying it may have arrived; the user has it once', async () => {
    await env.advance(untilShanghaiMidnight(env.now()) - 5_000);
    await env.fault({ path: SEND, kind: 'dropAfter', count: 1 });
    await env.fault({ path: SEND, kind: 'busy', rate: 1 });
    const { id } = await env.api.send({ to: { userIds: ['u150'] }, message: text('once, across midnight') });
    const n = await env.api.waitFor(id, { timeoutMs: 10_000 });
    await fetch(`${env.emu.url}/_emulator/api/faults`, { method: 'DELETE' });
    expect(n.deliveries![0]).toMatchObject({ status: 'failed', reason: expect.stringContaining('it may have arrived') });
    await env.advance(10_000);
    await new Promise((r) => setTimeout(r, 500));
    expect((await env.calls(SEND)).filter((c) => c.errcode !== 'dropped').length).toBeLessThanOrEqual(1);
    const got = (await env.inbox('users', 'u150')).filter((m) => m.message.text?.content === 'once, across midnight');
    expect(got).toHaveLength(1);
  });

  it('earlier in the day a lost answer is still sent again and proven by 143106: delivered, once', async () => {
    await env.advance(untilShanghaiMidnight(env.now()) + 3_600_000);
    await env.fault({ path: SEND, kind: 'dropAfter', count: 1 });
    const { id } = await env.api.send({ to: { userIds: ['u151'] }, message: text('once, by noon') });
    const n = await env.api.waitFor(id, { timeoutMs: 10_000 });
    expect(n.deliveries![0]!.attempts).toBe(2);
    expect(['sent', 'unread', 'read']).toContain(n.deliveries![0]!.status);
    const got = (await env.inbox('users', 'u151')).filter((m) => m.message.text?.content === 'once, by noon');
    expect(got).toHaveLength(1);
  });
});
