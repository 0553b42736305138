import { describe, expect, it } from 'vitest';
import { fillRobotMinute, shownIn, showsOnce, text, useGateway } from './helpers.js';

/**
 * A digest stays inside what DingTalk takes of one robot message — 50 @-mentioned userids, 20 000 bytes as JSON
 * (escapes counted), 5 000 characters — whatever the messages it could carry; one DingTalk refuses anyway is sent
 * again message by message; one that gives up leaves a dead letter on every notification it carried.
 */
describe('storm digests: DingTalk limits, refusals and dead letters', () => {
  const env = useGateway({ config: { delivery: { pollMs: 20, backoffBaseMs: 50, backoffMaxMs: 300, leaseMs: 2_000, giveUpAfterMs: 60_000 } } });

  const fillMinute = (prefix: string) => fillRobotMinute(env, 'ops', prefix);
  const waiting = async (ids: string[]) => {
    for (const id of ids) await expect.poll(async () => (await env.api.get(id)).deliveries![0]!.reason ?? '', { timeout: 5_000 }).toContain('20-a-minute');
  };
  const refused = async () => (await env.calls('/robot/send')).filter((c) => c.robot === 'ops' && c.errcode !== 0 && c.errcode !== 'answer dropped');

  it('mentions: messages of 20 userids each fold two at a time (60 would be over 50); none refused, each shown once', async () => {
    await fillMinute('fill-m');
    const ids: string[] = [];
    for (let k = 0; k < 3; k++) {
      const userIds = Array.from({ length: 20 }, (_, i) => `user${k}_${i}`);
      ids.push((await env.api.send({ to: { robots: ['ops'] }, message: text(`mention ${k}`), mentions: { userIds, mobiles: [], all: false } })).id);
    }
    await waiting(ids);
    await env.advance(62_500);
    const done = await Promise.all(ids.map((id) => env.api.waitFor(id, { timeoutMs: 15_000 })));
    expect(done.map((n) => n.deliveries![0]!.status)).toEqual(['sent', 'sent', 'sent']);
    expect(await refused()).toEqual([]);
    const digests = done.map((n) => n.deliveries![0]!.digest);
    expect(digests[0]).toBeDefined();
    expect(digests[1]).toBe(digests[0]);
    expect(digests[2]).not.toBe(digests[0]);
    const lines = shownIn(await env.inbox('robots', 'ops'));
    // Alone, a text message names its mentions after the text.
    for (let k = 0; k < 3; k++) expect(lines.filter((l) => l.startsWith(`mention ${k}\n`) || l.endsWith(`**mention ${k}**`)), `mention ${k}`).toHaveLength(1);
    for (const m of (await env.inbox('robots', 'ops')).filter((x) => x.message.msgtype === 'markdown')) expect((m.message.at?.atUserIds ?? []).length).toBeLessThanOrEqual(50);
  }, 60_000);

  it('bytes: thirty messages carrying control characters (escaped as 6 bytes each in JSON) fold within 20 000 bytes', async () => {
    await fillMinute('fill-b');
    const noisy = '\u001b[31m'.repeat(60);
    const ids: string[] = [];
    for (let i = 0; i < 30; i++) ids.push((await env.api.send({ to: { robots: ['ops'] }, message: text(`bytes ${i}\n${noisy}`) })).id);
    await waiting(ids.slice(-1));
    await env.advance(62_500);
    const done = await Promise.all(ids.map((id) => env.api.waitFor(id, { timeoutMs: 15_000 })));
    expect(done.every((n) => n.deliveries![0]!.status === 'sent')).toBe(true);
    expect(await refused()).toEqual([]);
  }, 60_000);

  it('a digest DingTalk refuses for good is sent again message by message: every message arrives, each once', async () => {
    await fillMinute('fill-r');
    const ids: string[] = [];
    for (let i = 0; i < 4; i++) ids.push((await env.api.send({ to: { robots: ['ops'] }, message: text(`refused ${i}`) })).id);
    await waiting(ids);
    await env.fault({ path: '/robot/send', kind: 'errcode', errcode: 460101, errmsg: 'message too long, exceed 20000 bytes', count: 1 });
    await env.advance(62_500);
    const done = await Promise.all(ids.map((id) => env.api.waitFor(id, { timeoutMs: 15_000 })));
    expect(done.map((n) => n.deliveries![0]!.status)).toEqual(['sent', 'sent', 'sent', 'sent']);
    for (const n of done) expect(n.deliveries![0]!.digest).toBeUndefined();
    const lines = shownIn(await env.inbox('robots', 'ops'));
    for (let i = 0; i < 4; i++) expect(lines.filter((l) => l === `refused ${i}`), `refused ${i}`).toHaveLength(1);
    expect((await env.gw.store.jobs({ kinds: ['send'], states: ['folded'] })).length).toBe(0);
  }, 60_000);

  it('a digest that gives up: each message goes back to a dead letter of its own, which an operator retries alone (a fresh deadline)', async () => {
    await fillMinute('fill-d');
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) ids.push((await env.api.send({ to: { robots: ['ops'] }, message: text(`dead ${i}`) })).id);
    await waiting(ids);
    await env.fault({ path: '/robot/send', kind: 'http5xx', status: 503, rate: 1 });
    await env.advance(62_500);
    await expect.poll(async () => (await env.api.get(ids[2]!)).deliveries![0]!.digest, { timeout: 10_000 }).toBeDefined();
    // Past every message's deadline (a minute after it was due).
    for (let i = 0; i < 4; i++) {
      await env.advance(30_000);
      await new Promise((r) => setTimeout(r, 300));
    }
    const dead = await Promise.all(ids.map((id) => env.api.waitFor(id, { timeoutMs: 15_000 })));
    for (const n of dead) {
      expect(n.deliveries![0]).toMatchObject({ status: 'failed', reason: expect.stringContaining('gave up') });
      expect(n.deadLetters ?? []).toHaveLength(1);
    }
    await fetch(`${env.emu.url}/_emulator/api/faults`, { method: 'DELETE' });
    await env.advance(62_500);
    // One more transient failure right after the retries: each retried message has a fresh deadline.
    await env.fault({ path: '/robot/send', kind: 'http5xx', status: 503, count: 1 });
    for (const id of ids) expect(await env.api.retry(id)).toMatchObject({ jobs: 1, deliveries: 1 });
    const again = await Promise.all(ids.map((id) => env.api.waitFor(id, { timeoutMs: 15_000 })));
    expect(again.map((n) => n.deliveries![0]!.status)).toEqual(['sent', 'sent', 'sent']);
    const lines = shownIn(await env.inbox('robots', 'ops'));
    for (let i = 0; i < 3; i++) expect(showsOnce(lines, `dead ${i}`), `dead ${i}`).toBe(true);
    expect((await env.gw.store.jobs({ kinds: ['send'], states: ['folded', 'dead'] })).length).toBe(0);
  }, 90_000);
});
