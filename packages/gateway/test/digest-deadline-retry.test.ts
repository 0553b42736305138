import { describe, expect, it } from 'vitest';
import { fillRobotMinute, shownIn, showsOnce, text, useGateway } from './helpers.js';

const waiting = async (env: ReturnType<typeof useGateway>, ids: string[]) => {
  for (const id of ids) await expect.poll(async () => (await env.api.get(id)).deliveries![0]!.reason ?? '', { timeout: 5_000 }).toContain('20-a-minute');
};

describe('a message given up inside a digest that goes on', () => {
  const env = useGateway({ config: { delivery: { pollMs: 20, backoffBaseMs: 50, backoffMaxMs: 300, leaseMs: 2_000, giveUpAfterMs: 120_000 } } });

  it('leaves a dead letter an operator can retry', async () => {
    const before = (await env.inbox('robots', 'ops')).length;
    for (let i = 0; i < 18; i++) await env.api.send({ to: { robots: ['ops'] }, message: text(`fill ${i}`) });
    await expect.poll(async () => (await env.inbox('robots', 'ops')).length - before, { timeout: 10_000 }).toBe(18);
    const t0 = env.now();
    const old = (await env.api.send({ to: { robots: ['ops'] }, message: text('old one') })).id;
    await waiting(env, [old]);
    await env.advance(50_000);
    const young = (await env.api.send({ to: { robots: ['ops'] }, message: text('young one') })).id;
    await expect.poll(async () => (await env.gw.store.jobs({ notificationId: young, kinds: ['send'] }))[0]?.state, { timeout: 5_000 }).toBe('parked');
    await env.fault({ path: '/robot/send', kind: 'http5xx', rate: 1 });
    await env.advance(13_000);
    await expect.poll(async () => (await env.api.get(young)).deliveries![0]!.digest, { timeout: 5_000 }).toBeDefined();
    await new Promise((r) => setTimeout(r, 1_000));
    await env.advance(t0 + 126_000 - env.now());
    await expect.poll(async () => (await env.api.get(old)).deliveries![0]!.status, { timeout: 10_000 }).toBe('failed');
    await fetch(`${env.emu.url}/_emulator/api/faults`, { method: 'DELETE' });
    await env.advance(1_000);
    await expect.poll(async () => (await env.api.get(young)).deliveries![0]!.status, { timeout: 10_000 }).toBe('sent');
    const o = await env.api.get(old);
    const retried = await env.api.retry(old);
    // Before the fix: no dead letter on `old`, the retry finds nothing ({ jobs: 0, deliveries: 0 }), "old one" never sent.
    expect({ deadLetters: (o.deadLetters ?? []).length, retried }).toMatchObject({ deadLetters: 1, retried: { jobs: 1, deliveries: 1 } });
  }, 60_000);
});
