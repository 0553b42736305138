import { describe, expect, it } from 'vitest';
import { API_KEY, fillRobotMinute, text, useGateway } from './helpers.js';

/**
 * What a digest keeps of the messages it folds (links, buttons), and the order of a robot that gets both digestible
 * messages and messages of a `digest: false` target.
 */
describe('storm digests: content and order', () => {
  const env = useGateway({
    config: { delivery: { pollMs: 20, backoffBaseMs: 50, backoffMaxMs: 300, leaseMs: 2_000 }, ...(process.env.REVIEW_LOG ? { logLevel: 'warn' as const } : {}) }, // REVIEW_LOG=1 shows the errors
    configure: (c) => {
      c.targets = [
        { name: 'ops-separate', to: { robots: ['ops'] }, digest: false },
        { name: 'ops-bj', to: { robots: ['ops'] }, timeZone: 'Asia/Harbin' },
      ];
    },
  });

  const fillMinute = (prefix: string) => fillRobotMinute(env, 'ops', prefix);
  const waitingFor = async (id: string) =>
    expect.poll(async () => (await env.api.get(id)).deliveries![0]!.reason ?? '', { timeout: 5_000 }).toContain('20-a-minute');

  const parked = async (id: string) =>
    expect.poll(async () => (await env.gw.store.jobs({ notificationId: id, kinds: ['send'] }))[0]?.state, { timeout: 5_000 }).toBe('parked');

  it("a link, an action card's buttons and a markdown link folded into a digest: their targets reach the group", async () => {
    const from = await fillMinute('fill-c');
    const ids = [
      (await env.api.send({ to: { robots: ['ops'] }, message: text('head message') })).id,
      (await env.api.send({ to: { robots: ['ops'] }, message: { type: 'link', title: 'Runbook', text: 'open it', messageUrl: 'https://runbook.example.com/disk-full' } })).id,
      (
        await env.api.send({
          to: { robots: ['ops'] },
          message: { type: 'action_card', title: 'Approve deploy', markdown: 'deploy v2?', buttons: [{ title: 'Approve', url: 'https://deploy.example.com/approve/42' }, { title: 'Reject', url: 'https://deploy.example.com/reject/42' }] },
        })
      ).id,
      (await env.api.send({ to: { robots: ['ops'] }, message: { type: 'markdown', title: 'Silence', text: 'see [the silence](https://am.example.com/#/silences/abc)' } })).id,
    ];
    await waitingFor(ids[0]!);
    await parked(ids[3]!);
    await env.advance(62_500);
    for (const id of ids) expect((await env.api.waitFor(id, { timeoutMs: 10_000 })).deliveries![0]!.status).toBe('sent');
    const shown = JSON.stringify((await env.inbox('robots', 'ops')).slice(from).map((m) => m.message));
    // Before the fix: one markdown digest with "**Runbook** open it", "**Approve deploy** deploy v2?", "**Silence** see the
    // silence": no URL and no button anywhere in what the group got, yet every one of them is reported "sent".
    expect(shown).toContain('https://runbook.example.com/disk-full');
    expect(shown).toContain('https://deploy.example.com/approve/42');
    expect(shown).toContain('https://am.example.com/#/silences/abc');
  }, 60_000);

  it('a robot with a digest:false target: messages show in acceptance order (the separate one is not overtaken)', async () => {
    const from = await fillMinute('fill-o');
    const d0 = (await env.api.send({ to: { robots: ['ops'] }, message: text('order D0') })).id;
    await waitingFor(d0);
    const res = await fetch(`${env.gw.url}/v1/push/ops-separate`, { method: 'POST', headers: { authorization: `Bearer ${API_KEY}`, 'content-type': 'text/plain' }, body: 'order N1' });
    expect(res.status).toBe(202);
    const n1 = ((await res.json()) as { id: string }).id;
    const d2 = (await env.api.send({ to: { robots: ['ops'] }, message: text('order D2') })).id;
    await parked(d2);
    for (let i = 0; i < 3; i++) {
      await env.advance(62_500);
      await new Promise((r) => setTimeout(r, 500));
    }
    for (const id of [d0, n1, d2]) await env.api.waitFor(id, { timeoutMs: 10_000 });
    const msgs = (await env.inbox('robots', 'ops')).slice(from).map((m) => JSON.stringify(m.message));
    const at = (name: string) => msgs.findIndex((m) => m.includes(`order ${name}`));
    // Before the fix: message 0 is a digest carrying D0 and D2 (D2 accepted after N1) in D0's slot; N1 comes a minute later.
    expect({ D0: at('D0'), N1: at('N1'), D2: at('D2') }).toEqual({ D0: 0, N1: 1, D2: 2 });
  }, 60_000);

  it('a storm through targets with and without digests and another time zone: digested, all of it sent, no job failing', async () => {
    const from = await fillMinute('fill-z');
    const start = env.now();
    const ids: string[] = [];
    for (let i = 0; i < 40; i++) {
      const res = await fetch(`${env.gw.url}/v1/push/${i % 4 === 0 ? 'ops-separate' : 'ops-bj'}`, { method: 'POST', headers: { authorization: `Bearer ${API_KEY}`, 'content-type': 'text/plain' }, body: `tz storm ${i}` });
      expect(res.status).toBe(202);
      ids.push(((await res.json()) as { id: string }).id);
    }
    for (let w = 0; w < 4; w++) {
      await env.advance(62_500);
      await new Promise((r) => setTimeout(r, 1_500));
    }
    const done = await Promise.all(ids.map((id) => env.api.waitFor(id, { timeoutMs: 20_000 })));
    const calls = (await env.calls('/robot/send')).filter((c) => c.robot === 'ops' && c.time >= start);
    const digests = (await env.inbox('robots', 'ops')).slice(from).filter((m) => m.message.msgtype === 'markdown').length;
    const failedJobs = (await env.gw.store.jobs({ kinds: ['send'] })).filter((j) => j.failures > 0 || j.state === 'dead').length;
    expect({ notSent: done.filter((n) => n.deliveries![0]!.status !== 'sent').length, digests: digests > 0, failedJobs }).toEqual({ notSent: 0, digests: true, failedJobs: 0 });
    expect(calls.length).toBeLessThan(30);
  }, 90_000);
});
