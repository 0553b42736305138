import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PG_URL, SEND, shownIn, showsOnce, text, useGateway, usePostgresSchema } from './helpers.js';

/**
 * A lease far shorter than a slow DingTalk call, and two gateways on one PostgreSQL competing for the jobs: the
 * dispatcher renews the leases of what it is working on, and every write names its lease's fencing token, so no
 * lease length can make a job run twice.
 */
describe('leases that hold under a slow DingTalk, with two gateways competing', () => {
  const schema = usePostgresSchema('leases');
  const env = useGateway({
    instances: 2,
    // A second-long lease renewed every third of it, against a call five times as long: the call outlives the lease
    // it started under, so only renewals keep the other gateway off it. (A 300 ms lease also proved this when the
    // machine was idle; under CI's load a 200 ms pause of the test process let the other gateway take the job over,
    // which is the takeover the burst test below counts, not a broken renewal.)
    config: { store: { postgres: PG_URL, schema }, delivery: { leaseMs: 1_000, pollMs: 20, backoffBaseMs: 50, backoffMaxMs: 300 } },
    // The 5 s calls are slow answers, not lost ones: the client waits longer for them than the tests' usual 3 s.
    configure: (c) => {
      c.dingtalk = { ...c.dingtalk, timeoutMs: 10_000 };
    },
  });
  const received: { type: string; statuses: string[] }[] = [];
  const receiver = createServer((req, res) => {
    let body = '';
    req.on('data', (c) => {
      body += c;
    });
    req.on('end', () => {
      const e = JSON.parse(body);
      received.push({ type: e.type, statuses: e.notification.deliveries.map((d: { channel: string; status: string }) => `${d.channel}:${d.status}`).sort() });
      res.end('ok');
    });
  });
  let hook = '';
  beforeAll(async () => {
    await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', r));
    hook = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hook`;
  });
  afterAll(() => new Promise<void>((r) => receiver.close(() => r())));

  it('a call five times longer than the lease is made once, on every channel, and its outcome is the one reported', async () => {
    for (const path of [SEND, '/robot/send', '/chat/send']) await env.fault({ path, kind: 'latency', latencyMs: 5_000, count: 1 });
    const before = { send: (await env.calls(SEND)).length, robot: (await env.calls('/robot/send')).length, chat: (await env.calls('/chat/send')).length };
    const { id } = await env.api.send({ to: { userIds: ['u70'], robots: ['ops'], chats: ['chat1'] }, message: text('slow DingTalk'), callbackUrl: hook });
    const n = await env.api.waitFor(id, { timeoutMs: 15_000 });
    expect((await env.calls(SEND)).length - before.send).toBe(1);
    expect((await env.calls('/robot/send')).length - before.robot).toBe(1);
    expect((await env.calls('/chat/send')).length - before.chat).toBe(1);
    const by = Object.fromEntries(n.deliveries!.map((d) => [d.channel, d]));
    expect(['read', 'unread']).toContain(by.work_notice!.status);
    expect(by.robot).toMatchObject({ status: 'sent', attempts: 1 });
    // A chat/send that took longer than the lease is not mistaken for a lost answer.
    expect(by.chat).toMatchObject({ status: 'sent', attempts: 1 });
    expect((await env.inbox('users', 'u70')).filter((m) => m.message.text.content === 'slow DingTalk')).toHaveLength(1);
    expect((await env.inbox('chats', 'chat1')).filter((m) => m.message.text?.content === 'slow DingTalk')).toHaveLength(1);
    await expect.poll(() => received.map((r) => r.type), { timeout: 5_000 }).toEqual(['notification.in_progress', 'notification.completed']);
    expect(received[1]!.statuses).toEqual(expect.arrayContaining(['chat:sent', 'robot:sent']));
    expect(received[1]!.statuses).not.toEqual(expect.arrayContaining([expect.stringMatching(/failed/)]));
  });
});

describe('leases shorter than the calls, on a machine whose pauses may outlast them', () => {
  const schema = usePostgresSchema('leases_burst');
  const env = useGateway({
    instances: 2,
    // 300 ms against 600 ms calls: every call needs renewals, and a loaded machine's pauses sometimes lose one.
    config: { store: { postgres: PG_URL, schema }, delivery: { leaseMs: 300, pollMs: 20, backoffBaseMs: 50, backoffMaxMs: 300 } },
  });

  it('a burst of slow calls: every message arrives once', async () => {
    await env.fault({ path: '/robot/send', kind: 'latency', latencyMs: 600, rate: 1 });
    const before = (await env.calls('/robot/send')).length;
    const ids = await Promise.all(Array.from({ length: 12 }, (_, i) => env.api.send({ to: { robots: ['ops'] }, message: text(`slow burst ${i}`) })));
    const deliveries = [];
    for (const { id } of ids) deliveries.push((await env.api.waitFor(id, { timeoutMs: 15_000 })).deliveries![0]!);
    await fetch(`${env.emu.url}/_emulator/api/faults`, { method: 'DELETE' });
    expect(deliveries.map((d) => d.status)).toEqual(Array(12).fill('sent'));
    // With a 300 ms lease on a loaded machine a renewal can come too late and the other gateway take a job over: not
    // knowing whether the first holder called, it sends with the same msgUuid, which DingTalk drops. Every extra call
    // is such a resend.
    const resent = deliveries.reduce((n, d) => n + d.attempts - 1, 0);
    const calls = (await env.calls('/robot/send')).length - before;
    const inDigests = new Set(deliveries.map((d) => d.digest).filter(Boolean));
    const alone = deliveries.filter((d) => !d.digest).length;
    expect(calls).toBeGreaterThanOrEqual(alone + inDigests.size);
    expect(calls).toBeLessThanOrEqual(alone + inDigests.size + resent);
    // One robot's messages go one call at a time; those that waited long go out together in a digest.
    const lines = shownIn(await env.inbox('robots', 'ops'));
    for (let i = 0; i < 12; i++) expect(showsOnce(lines, `slow burst ${i}`), `slow burst ${i}`).toBe(true);
  });
});
