import { describe, expect, it } from 'vitest';
import { API_KEY, SEND, text, useGateway } from './helpers.js';

const DAY = 86_400_000;
const SHANGHAI = 8 * 3_600_000;
const untilShanghaiMidnight = (now: number) => DAY - ((now + SHANGHAI) % DAY);

/**
 * design.md: an operator's explicit retry moves a dead letter's failed deliveries back to queued. A work notice that
 * once lost an answer and then gave up (DingTalk busy) keeps lost_answer_at forever, so a retry on a later day is
 * failed again at once without any call, and its job is no longer dead: it can never be retried.
 */
describe('operator retry of a work notice that once lost an answer', () => {
  const env = useGateway({ config: { delivery: { backoffBaseMs: 50, backoffMaxMs: 300, pollMs: 20, giveUpAfterMs: 3_000 } } });

  it('the next day, POST /retry makes a call to DingTalk', async () => {
    await env.advance(untilShanghaiMidnight(env.now()) + 3 * 3_600_000); // 03:00 in Shanghai
    await env.fault({ path: SEND, kind: 'dropAfter', count: 1 });
    await env.fault({ path: SEND, kind: 'busy', rate: 1 });
    const { id } = await env.api.send({ to: { userIds: ['u160'] }, message: text('lost, gave up, retried') });
    const n = await env.api.waitFor(id, { timeoutMs: 15_000 });
    await fetch(`${env.emu.url}/_emulator/api/faults`, { method: 'DELETE' });
    expect(n.deliveries![0]!.status).toBe('failed');
    await env.advance(DAY);
    const before = (await env.calls(SEND)).length;
    const res = await fetch(`${env.gw.url}/v1/notifications/${id}/retry`, { method: 'POST', headers: { authorization: `Bearer ${API_KEY}` } });
    expect(await res.json()).toMatchObject({ jobs: 1, deliveries: 1 });
    const after = await env.api.waitFor(id, { timeoutMs: 5_000 });
    // The operator asked: it is sent again whatever the day.
    expect((await env.calls(SEND)).length - before).toBeGreaterThanOrEqual(1);
    expect(['sent', 'unread', 'read']).toContain(after.deliveries![0]!.status);
  });
});
