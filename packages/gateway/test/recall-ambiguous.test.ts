import { describe, expect, it } from 'vitest';
import { SEND, text, useGateway } from './helpers.js';

/**
 * A work notice whose answer was lost (dropAfter: DingTalk delivered it) waits to be sent again (ambiguous). A recall
 * then must not call it "recalled before it was sent": the person has it, and nothing took it back.
 */
describe('a recall while a lost-answer work notice waits for its resend', () => {
  const env = useGateway({ config: { delivery: { backoffBaseMs: 3_000, backoffMaxMs: 3_000, pollMs: 20 } } });

  it('does not report recalled what is in the recipient\'s inbox', async () => {
    await env.api.waitFor((await env.api.send({ to: { userIds: ['u170'] }, message: text('amb warm-up') })).id);
    await env.fault({ path: SEND, kind: 'dropAfter', count: 1 });
    const { id } = await env.api.send({ to: { userIds: ['u171'] }, message: text('amb lost answer') });
    await expect.poll(async () => (await env.api.get(id)).deliveries![0]!.attempts ?? 0, { timeout: 3_000, interval: 20 }).not.toBe(0);
    await new Promise((r) => setTimeout(r, 300));
    const r = await env.api.recall(id);
    await new Promise((res) => setTimeout(res, 4_000));
    const inbox = (await env.inbox('users', 'u171')).filter((m: any) => m.message.text?.content === 'amb lost answer');
    const d = (await env.api.get(id)).deliveries![0]!;
    // The recall waited for the resend it needs; it does not call it cancelled.
    expect(r.recalled).toBe(0);
    expect([...r.pending, ...r.notRecalled].map((x) => x.recipient)).toContain('u171');
    expect(d.reason).not.toBe('recalled before it was sent');
    // Sent again, DingTalk's duplicate filter proves the first copy arrived, whose task id (lost with its answer) a
    // recall would need: the gateway says it could not recall it, never that it did.
    expect(inbox).toHaveLength(1);
    expect(inbox[0].status).toBe('unread');
    expect(d.status).not.toBe('recalled');
    const again = await env.api.recall(id);
    expect(again.recalled).toBe(0);
    expect([...again.pending, ...again.notRecalled].map((x) => x.recipient)).toContain('u171');
  }, 20_000);

  it('robot: a lost-answer robot message (it is in the group; robots cannot be recalled) is not reported recalled', async () => {
    await env.fault({ path: '/robot/send', kind: 'dropAfter', count: 1 });
    const { id } = await env.api.send({ to: { robots: ['ops'] }, message: text('amb robot lost answer') });
    await expect.poll(async () => (await env.api.get(id)).deliveries![0]!.attempts ?? 0, { timeout: 3_000, interval: 20 }).not.toBe(0);
    await new Promise((r) => setTimeout(r, 300));
    const r = await env.api.recall(id);
    await new Promise((res) => setTimeout(res, 4_000));
    const inGroup = (await env.inbox('robots', 'ops')).filter((m: any) => m.message.text?.content === 'amb robot lost answer');
    expect(inGroup).toHaveLength(1);
    expect({ status: (await env.api.get(id)).deliveries![0]!.status, recalled: r.recalled }).toEqual({ status: 'sent', recalled: 0 });
  }, 20_000);
});
