import { describe, expect, it } from 'vitest';
import { SEND, text, useGateway } from './helpers.js';

const RECALL = '/topapi/message/corpconversation/recall';

/**
 * A work notification whose send timed out (DingTalk processed it; the answer never came) is recalled meanwhile.
 * The message may be in the user's inbox: it must not be reported "recalled before it was sent" without a recall at
 * DingTalk, leaving it on the user's screen.
 */
describe('a recall accepted while a work notice send loses its answer', () => {
  const env = useGateway({ config: { delivery: { backoffBaseMs: 50, backoffMaxMs: 300, pollMs: 20 } } });

  it('the delivered message is recalled at DingTalk, or at least not reported as never sent', async () => {
    // warm the token
    await env.api.waitFor((await env.api.send({ to: { userIds: ['u80'] }, message: text('warm-up') })).id);
    // 1st send: the token is revoked (refresh, nothing sent); the token fetch is slow (the recall arrives then); the
    // repeated send is processed by DingTalk and its answer is lost.
    await env.fault({ path: SEND, kind: 'revokeToken', count: 1 });
    await env.fault({ path: SEND, kind: 'dropAfter', count: 1 });
    await env.fault({ path: '/v1.0/oauth2/accessToken', kind: 'latency', latencyMs: 1_500, count: 1 });
    const { id } = await env.api.send({ to: { userIds: ['u81'] }, message: text('lost answer then recalled') });
    await expect.poll(async () => (await env.api.get(id)).deliveries![0]!.status, { timeout: 3_000, interval: 10 }).toBe('sending');
    await env.api.recall(id);
    await new Promise((r) => setTimeout(r, 3_000));
    const inbox = (await env.inbox('users', 'u81')).filter((m) => m.message.text?.content === 'lost answer then recalled');
    const d = (await env.api.get(id)).deliveries![0]!;
    // The user got it (DingTalk processed the send) ...
    expect(inbox).toHaveLength(1);
    // ... so either DingTalk recalled it, or the gateway does not claim it was never sent.
    const recalledAtDingTalk = inbox[0].status === 'recalled';
    expect(recalledAtDingTalk || d.reason !== 'recalled before it was sent').toBe(true);
    // Sent again and proven (143106) or delivered, then recalled at DingTalk: never called cancelled.
    expect(d.reason).not.toBe('recalled before it was sent');
    expect((await env.calls(RECALL)).length + (d.status === 'recalled' ? 0 : 1)).toBeGreaterThanOrEqual(1);
  });
});
