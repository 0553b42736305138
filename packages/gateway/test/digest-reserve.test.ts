import { describe, expect, it } from 'vitest';
import { alertGroup, API_KEY, fillRobotMinute, useGateway } from './helpers.js';

/**
 * the two robot calls a minute kept for urgent messages (critical/resolved alerts, ntfy priority
 * ≥ 4). Whether a message is urgent is carried only in its digest item, and a `digest: false` target gets no item.
 */
describe('the reserve for urgent messages on a digest:false target', () => {
  const env = useGateway({
    config: { delivery: { pollMs: 20, backoffBaseMs: 50, backoffMaxMs: 300, leaseMs: 2_000 } },
    configure: (c) => {
      c.targets = [
        { name: 'storm', to: { robots: ['ops'] } },
        { name: 'separate', to: { robots: ['ops'] }, digest: false },
      ];
    },
  });

  const fillMinute = (prefix: string) => fillRobotMinute(env, 'ops', prefix);
  const critical = (name: string) => alertGroup(name, 'firing', 'critical', env.now(), 'db-01');
  const post = async (target: string, body: unknown) => {
    const res = await fetch(`${env.gw.url}/dingtalk/${target}/send`, { method: 'POST', headers: { authorization: `Bearer ${API_KEY}`, 'content-type': 'application/json' }, body: JSON.stringify(body) });
    expect(res.status).toBe(200);
    return ((await res.json()) as { id: string }).id;
  };

  it('control: a critical alert to a digesting target goes out at once in the reserve', async () => {
    const from = await fillMinute('fill-c');
    const id = await post('storm', critical('DbDownA'));
    await expect.poll(async () => (await env.api.get(id)).deliveries![0]!.status, { timeout: 5_000 }).toBe('sent');
    expect(JSON.stringify((await env.inbox('robots', 'ops')).slice(from))).toContain('DbDownA');
  });

  it('a critical alert to a digest:false target goes out at once in the reserve too', async () => {
    const from = await fillMinute('fill-s');
    const id = await post('separate', critical('DbDownB'));
    // Before the fix: queued, "waiting for the robot's 20-a-minute quota": no item, so not urgent, so no reserve.
    await expect.poll(async () => (await env.api.get(id)).deliveries![0]!.status, { timeout: 5_000 }).toBe('sent');
    expect(JSON.stringify((await env.inbox('robots', 'ops')).slice(from))).toContain('DbDownB');
  });

  it('an ntfy priority-5 push to a digest:false target goes out at once in the reserve', async () => {
    await fillMinute('fill-p');
    const res = await fetch(`${env.gw.url}/v1/push/separate`, { method: 'POST', headers: { authorization: `Bearer ${API_KEY}`, 'content-type': 'text/plain', Priority: '5', Title: 'Disk full' }, body: 'urgent push' });
    expect(res.status).toBe(202);
    const { id } = (await res.json()) as { id: string };
    await expect.poll(async () => (await env.api.get(id)).deliveries![0]!.status, { timeout: 5_000 }).toBe('sent');
  });
});
