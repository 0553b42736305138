import { describe, expect, it } from 'vitest';
import { shownIn, showsOnce, text, useGateway } from './helpers.js';

/**
 * a digest job's dueAt is the oldest of what it carries (fold(): Math.min of the dueAts), and a
 * send gives up giveUpAfterMs after its job's dueAt. A message folded into a digest thus inherits the deadline of the
 * oldest message in it, and fails long before its own.
 */
describe('a folded message keeps its own give-up deadline', () => {
  const env = useGateway({
    config: { delivery: { pollMs: 20, backoffBaseMs: 50, backoffMaxMs: 300, leaseMs: 2_000, giveUpAfterMs: 120_000 } },
  });

  it('DingTalk failing (HTTP 500) for a while: the young message folded with an old one is not given up at the old one’s deadline', async () => {
    const before = (await env.inbox('robots', 'ops')).length;
    for (let i = 0; i < 18; i++) await env.api.send({ to: { robots: ['ops'] }, message: text(`fill ${i}`) });
    await expect.poll(async () => (await env.inbox('robots', 'ops')).length - before, { timeout: 10_000 }).toBe(18);
    const t0 = env.now();
    const old = (await env.api.send({ to: { robots: ['ops'] }, message: text('old one') })).id;
    await expect.poll(async () => (await env.api.get(old)).deliveries![0]!.reason ?? '', { timeout: 5_000 }).toContain('20-a-minute');
    await env.advance(50_000);
    const young = (await env.api.send({ to: { robots: ['ops'] }, message: text('young one') })).id;
    await expect.poll(async () => (await env.gw.store.jobs({ notificationId: young, kinds: ['send'] }))[0]?.state, { timeout: 5_000 }).toBe('parked');
    await env.fault({ path: '/robot/send', kind: 'http5xx', rate: 1 });
    // The old one's slot: folded with the young one into a digest, which fails and retries.
    await env.advance(13_000);
    await expect.poll(async () => (await env.api.get(young)).deliveries![0]!.digest, { timeout: 5_000 }).toBeDefined();
    await new Promise((r) => setTimeout(r, 1_000));
    // Past the old one's deadline (t0 + 120 s), well before the young one's (t0 + 50 s + 120 s).
    await env.advance(t0 + 126_000 - env.now());
    await expect.poll(async () => (await env.api.get(old)).deliveries![0]!.status, { timeout: 10_000 }).toBe('failed');
    const y = (await env.api.get(young)).deliveries![0]!;
    // Before the fix: failed, "gave up after 2 min; last error: HTTP 500 …" — 76 s after the young one was accepted.
    expect(y.status, String(y.reason)).toBe('queued');
    // DingTalk back: the digest goes on with the young one; the old one, given up, is a dead letter of its own that an
    // operator's retry sends alone (before the fix: no dead letter, nothing to retry, never sent).
    await fetch(`${env.emu.url}/_emulator/api/faults`, { method: 'DELETE' });
    await env.advance(1_000);
    await expect.poll(async () => (await env.api.get(young)).deliveries![0]!.status, { timeout: 10_000 }).toBe('sent');
    expect((await env.api.get(old)).deadLetters ?? []).toHaveLength(1);
    expect(await env.api.retry(old)).toMatchObject({ jobs: 1, deliveries: 1 });
    await env.advance(62_500);
    expect((await env.api.waitFor(old, { timeoutMs: 10_000 })).deliveries![0]!.status).toBe('sent');
    const lines = shownIn(await env.inbox('robots', 'ops'));
    expect(showsOnce(lines, 'old one')).toBe(true);
    expect(showsOnce(lines, 'young one')).toBe(true);
  }, 60_000);
});
