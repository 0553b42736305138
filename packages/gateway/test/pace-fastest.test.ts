import { describe, expect, it } from 'vitest';
import { SEND, text, useGateway } from './helpers.js';

/**
 * delivery.appCallsPerSecond at its maximum (18): the app-call window's margin for lateness is then smallest. A
 * ticket (the slot a send reserved for its own call) must still be good when the call starts; at 20 a second the
 * margin was 0 ms, every call reserved a second slot, and the queue stalled.
 */
describe('tickets at the fastest app pace (appCallsPerSecond 18)', () => {
  const env = useGateway({ config: { delivery: { appCallsPerSecond: 18, pollMs: 20, backoffBaseMs: 50, backoffMaxMs: 300 } } });

  it('40 single-user work notices go out at about 18 a second, not half that', async () => {
    await env.api.waitFor((await env.api.send({ to: { userIds: ['u200'] }, message: text('warm-up') })).id);
    await new Promise((r) => setTimeout(r, 2_500));
    const before = (await env.calls(SEND)).length;
    const ids = await Promise.all(Array.from({ length: 40 }, (_, i) => env.api.send({ to: { userIds: [`u${210 + i}`] }, message: text(`paced ${i}`) })));
    const t0 = Date.now();
    for (const { id } of ids) {
      try {
        await env.api.waitFor(id, { timeoutMs: Math.max(1, 15_000 - (Date.now() - t0)) });
      } catch {
        break;
      }
    }
    const calls = (await env.calls(SEND)).slice(before);
    const spread = calls[calls.length - 1]!.time - calls[0]!.time;
    expect(calls.length).toBe(40);
    // 40 calls at 18 a second (20 in a window of 1.12 s): about 2.2 s; two slots a call: about 4.4 s.
    expect(spread).toBeLessThan(3_300);
  });
});
