import { describe, expect, it } from 'vitest';
import { text, useGateway } from './helpers.js';

describe('recall and sendAt', () => {
  const env = useGateway();

  it('recalls work notifications at DingTalk and says what cannot be recalled', async () => {
    const { id } = await env.api.send({ to: { userIds: ['u60', 'u61'], robots: ['ops'] }, message: text('oops') });
    await env.api.waitFor(id);
    const r = await env.api.recall(id);
    expect(r.recalled).toBe(2);
    expect(r.notRecalled).toEqual([{ recipient: 'ops', channel: 'robot', reason: 'DingTalk cannot recall custom-robot messages' }]);
    const n = await env.api.get(id);
    expect(n.deliveries!.filter((d) => d.status === 'recalled').map((d) => d.recipient)).toEqual(['u60', 'u61']);
    expect(n.recalledAt).toBeTruthy();
    expect((await env.inbox('users', 'u60')).find((m) => m.message.text.content === 'oops').status).toBe('recalled');
  });

  it('recalls app-robot messages too, and cancels what has not been sent', async () => {
    const oto = await env.api.send({ to: { userIds: ['u62'] }, via: 'app_robot', message: text('oto recall') });
    await env.api.waitFor(oto.id);
    expect((await env.api.recall(oto.id)).recalled).toBe(1);
    const later = await env.api.send({ to: { userIds: ['u63'] }, message: text('later'), sendAt: new Date(Date.now() + 3_600_000).toISOString() });
    const r = await env.api.recall(later.id);
    expect(r.recalled).toBe(1);
    expect((await env.api.get(later.id)).deliveries![0]).toMatchObject({ status: 'recalled', reason: 'recalled before it was sent' });
  });

  it('sendAt holds a notification until its time', async () => {
    const at = new Date(Date.now() + 3_600_000).toISOString();
    const { id } = await env.api.send({ to: { userIds: ['u64'] }, message: text('scheduled'), sendAt: at });
    await new Promise((r) => setTimeout(r, 500));
    const waiting = await env.api.get(id);
    expect(waiting).toMatchObject({ status: 'queued', sendAt: at });
    expect((await env.inbox('users', 'u64')).length).toBe(0);
    await env.advance(3_600_000);
    const n = await env.api.waitFor(id, { timeoutMs: 10_000 });
    expect(['read', 'unread']).toContain(n.deliveries![0]!.status);
  });
});
