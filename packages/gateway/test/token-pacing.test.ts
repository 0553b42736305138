import { describe, expect, it } from 'vitest';
import { SEND, text, useGateway } from './helpers.js';

const TOKEN = '/v1.0/oauth2/accessToken';

describe('pacing when the token fetch is slow', () => {
  // 12 calls a second leaves 330 ms for a call to reach the in-process emulator in a loaded test process; sends that
  // all went at once when the token came (the bug) were 60 in one second whatever the rate.
  const env = useGateway({ config: { delivery: { concurrency: 64, backoffBaseMs: 50, backoffMaxMs: 300, pollMs: 20, appCallsPerSecond: 12 } } });

  it('sends whose slots passed while they waited for the token reserve again: never 21 in a second, never 90018', async () => {
    await env.fault({ path: TOKEN, kind: 'latency', latencyMs: 2_600, count: 1 });
    const sent = await Promise.all(Array.from({ length: 80 }, (_, i) => env.api.send({ to: { userIds: [`u${100 + i}`] }, message: text(`paced ${i}`) })));
    for (const { id } of sent) await env.api.waitFor(id, { timeoutMs: 30_000 });
    const calls = await env.calls(SEND);
    const times = calls.map((c: any) => c.receivedAt ?? c.time).sort((a: number, b: number) => a - b);
    let worst = 0;
    for (let i = 0; i < times.length; i++) {
      let j = i;
      while (j < times.length && times[j]! - times[i]! < 1_000) j++;
      worst = Math.max(worst, j - i);
    }
    const refused = calls.filter((c) => c.errcode === 90018).length;
    expect(refused).toBe(0);
    expect(worst).toBeLessThanOrEqual(20);
  });
});
