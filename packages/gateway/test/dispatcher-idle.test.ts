import { describe, expect, it } from 'vitest';
import { text, useGateway } from './helpers.js';

/**
 * With every worker slot busy and more jobs due, the dispatcher has nothing to claim; it should wait for a slot to
 * free (wakeUp) or for a poll, not spin on the store.
 */
describe('a full dispatcher with a backlog of due jobs', () => {
  const env = useGateway({ config: { delivery: { concurrency: 1, pollMs: 200, backoffBaseMs: 50, backoffMaxMs: 300 } } });

  it('does not query the store in a tight loop while its only slot is busy', async () => {
    await env.fault({ path: '/robot/send', kind: 'latency', latencyMs: 2_000, rate: 1 });
    const store = env.gw.runtime.store;
    let nextDueCalls = 0;
    const orig = store.nextDue.bind(store);
    store.nextDue = async () => {
      nextDueCalls++;
      return orig();
    };
    await Promise.all(Array.from({ length: 3 }, (_, i) => env.api.send({ to: { robots: ['ops'] }, message: text(`backlog ${i}`) })));
    await new Promise((r) => setTimeout(r, 300));
    nextDueCalls = 0;
    await new Promise((r) => setTimeout(r, 1_000));
    await fetch(`${env.emu.url}/_emulator/api/faults`, { method: 'DELETE' });
    // pollMs is 200: about 5 looks a second at most.
    expect(nextDueCalls).toBeLessThanOrEqual(10);
  });
});
