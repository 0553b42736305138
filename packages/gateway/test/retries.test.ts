import { describe, expect, it } from 'vitest';
import { API_KEY, SEND, text, useGateway } from './helpers.js';

const clearFaults = (url: string) => fetch(`${url}/_emulator/api/faults`, { method: 'DELETE' });

describe('retries count sends, give up per job, and leave dead letters an operator can retry', () => {
  const env = useGateway({
    config: { delivery: { giveUpAfterMs: 2_500, backoffBaseMs: 50, backoffMaxMs: 200, pollMs: 20, maxFailures: 3 }, tracking: { firstCheckMs: 100, readChecksMs: [] } },
  });

  it('a job that gave up is a dead letter: visible, and retried by an operator it delivers', async () => {
    await env.fault({ path: SEND, kind: 'busy', rate: 1 });
    const { id } = await env.api.send({ to: { userIds: ['u100'] }, message: text('dead then alive') });
    const failed = await env.api.waitFor(id, { timeoutMs: 10_000 });
    expect(failed.deliveries![0]).toMatchObject({ status: 'failed', reason: expect.stringMatching(/^gave up after .*DingTalk -1/) });
    expect(failed.deadLetters).toEqual([expect.objectContaining({ kind: 'send', channel: 'work_notice', reason: expect.stringMatching(/^gave up/) })]);
    const list = await (await fetch(`${env.gw.url}/v1/dead-letters`, { headers: { authorization: `Bearer ${API_KEY}` } })).json();
    expect(list.items).toEqual(expect.arrayContaining([expect.objectContaining({ notification: id, kind: 'send' })]));
    await clearFaults(env.emu.url);
    expect(await env.api.retry(id)).toEqual({ id, jobs: 1, deliveries: 1 });
    const n = await env.api.waitFor(id, { timeoutMs: 10_000 });
    expect(['read', 'unread']).toContain(n.deliveries![0]!.status);
    expect(n.deadLetters).toBeUndefined();
    expect((await env.inbox('users', 'u100')).filter((m) => m.message.text.content === 'dead then alive')).toHaveLength(1);
    // Retrying again finds nothing to retry.
    expect(await env.api.retry(id)).toEqual({ id, jobs: 0, deliveries: 0 });
  });

  it('the tracker gives up too: its job is a dead letter, the delivery settles as unread saying why, and a retry looks again', async () => {
    await env.fault({ path: '/topapi/message/corpconversation/getsendresult', kind: 'http5xx', status: 502, rate: 1 });
    const { id } = await env.api.send({ to: { userIds: ['u101'] }, message: text('tracker gives up') });
    const stuck = await env.api.waitFor(id, { until: (n) => (n.deadLetters ?? []).length > 0, timeoutMs: 10_000 });
    expect(stuck).toMatchObject({ status: 'completed', deadLetters: [expect.objectContaining({ kind: 'track', reason: expect.stringMatching(/gave up after 3 failures.*502/) })] });
    expect(stuck.deliveries![0]).toMatchObject({ status: 'unread', reason: expect.stringContaining('its read status could not be learnt') });
    await clearFaults(env.emu.url);
    await env.api.retry(id);
    const n = await env.api.waitFor(id, { timeoutMs: 10_000 });
    expect(['read', 'unread']).toContain(n.deliveries![0]!.status);
  });
});

describe('give-up is per job, also when jobs share a call', () => {
  const env = useGateway({
    config: { delivery: { mergeAcrossNotifications: true, concurrency: 1, giveUpAfterMs: 3_000, backoffBaseMs: 50, backoffMaxMs: 150, pollMs: 20 } },
  });

  it('an old notification gives up at its own deadline; a fresh one sharing its calls keeps trying and arrives', async () => {
    await env.fault({ path: SEND, kind: 'busy', rate: 1 });
    const old = await env.api.send({ to: { userIds: ['u110'] }, message: text('shared and failing') });
    await new Promise((r) => setTimeout(r, 2_000));
    const fresh = await env.api.send({ to: { userIds: ['u111'] }, message: text('shared and failing') });
    const oldDone = await env.api.waitFor(old.id, { timeoutMs: 10_000 });
    expect(oldDone.deliveries![0]).toMatchObject({ status: 'failed', reason: expect.stringMatching(/^gave up after/) });
    // They went in the same calls (one merged call each time): the fresh one's deadline is its own.
    const sends = (await env.calls(SEND)).filter((c) => c.errcode === -1);
    expect(sends.length).toBeGreaterThan(2);
    // Still trying: between two attempts it is queued, during one it is sending (CI caught it mid-call); never final.
    expect(['queued', 'sending']).toContain((await env.api.get(fresh.id)).deliveries![0]!.status);
    await clearFaults(env.emu.url);
    const freshDone = await env.api.waitFor(fresh.id, { timeoutMs: 10_000 });
    expect(['read', 'unread']).toContain(freshDone.deliveries![0]!.status);
  });
});

describe('attempts', () => {
  // One message a call, the whole minute for them: the 21st and 22nd wait for slots of their own.
  const env = useGateway({
    config: { delivery: { backoffBaseMs: 50, backoffMaxMs: 200, pollMs: 20, robotReserve: 0 } },
    configure: (c) => {
      for (const r of c.robots ?? []) r.digest = false;
    },
  });

  it('attempts count calls to DingTalk, not claims: a message that waited for its slot and failed once shows 2', async () => {
    const ids: string[] = [];
    for (let i = 0; i < 22; i++) ids.push((await env.api.send({ to: { robots: ['ops'] }, message: text(`attempts ${i}`) })).id);
    await expect.poll(async () => (await env.api.get(ids[19]!)).deliveries![0]!.status, { timeout: 10_000 }).toBe('sent');
    await env.fault({ path: '/robot/send', kind: 'http5xx', status: 502, count: 1 });
    await env.advance(63_000);
    for (const id of ids.slice(20)) expect((await env.api.waitFor(id, { timeoutMs: 10_000 })).deliveries![0]).toMatchObject({ status: 'sent' });
    const attempts = (await Promise.all(ids.slice(20).map((id) => env.api.get(id)))).map((n) => n.deliveries![0]!.attempts).sort();
    expect(attempts).toEqual([1, 2]);
  });
});
