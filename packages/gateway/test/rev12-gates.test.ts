import { describe, expect, it } from 'vitest';
import { alertGroup, API_KEY, fillRobotMinute, text, useGateway } from './helpers.js';

/**
 * Review of issue 12 (dispatcher gates): a gate closed by a destination's held slot delays new claims for it; it must
 * not delay what the pacer would let go now (an urgent message's slot kept in reserve).
 */
describe('destination gates', () => {
  const env = useGateway({
    config: { delivery: { pollMs: 20, backoffBaseMs: 50, backoffMaxMs: 300, leaseMs: 2_000 } },
    configure: (c) => {
      c.targets = [{ name: 'separate', to: { robots: ['ops'] }, digest: false }];
    },
  });

  it('a critical alert to a robot whose backlog holds its next slot (gate closed) still goes at once in the reserve', async () => {
    const from = await fillRobotMinute(env, 'ops', 'fill-g');
    // One more than the minute has room for: it holds the next free slot, about a minute ahead, which closes the gate.
    const held = await env.api.send({ to: { robots: ['ops'] }, message: text('over the quota') });
    await expect.poll(async () => (await env.api.get(held.id)).deliveries![0]!.reason ?? '', { timeout: 5_000 }).toContain('quota');
    const res = await fetch(`${env.gw.url}/dingtalk/separate/send`, {
      method: 'POST',
      headers: { authorization: `Bearer ${API_KEY}`, 'content-type': 'application/json' },
      body: JSON.stringify(alertGroup('GatedDbDown', 'firing', 'critical', env.now(), 'db-02')),
    });
    expect(res.status).toBe(200);
    const { id } = (await res.json()) as { id: string };
    // Before the fix: not claimed until shortly before the held slot (up to a minute), the reserve unused.
    await expect.poll(async () => (await env.api.get(id)).deliveries![0]!.status, { timeout: 5_000 }).toBe('sent');
    expect(JSON.stringify((await env.inbox('robots', 'ops')).slice(from))).toContain('GatedDbDown');
  });
});
