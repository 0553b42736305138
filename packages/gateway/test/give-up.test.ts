import { describe, expect, it } from 'vitest';
import { text, useGateway } from './helpers.js';

const LOOKUP = '/topapi/v2/user/getbymobile';

describe('a mobile lookup that keeps failing gives up (after delivery.giveUpAfterMs and maxFailures)', () => {
  const env = useGateway({ config: { delivery: { backoffBaseMs: 50, backoffMaxMs: 100, pollMs: 20, maxFailures: 3, giveUpAfterMs: 1_000 } } });

  it('its deliveries reach a final status (failed) and the notification completes', async () => {
    await env.fault({ path: LOOKUP, kind: 'http5xx', status: 502, rate: 1 });
    const { id } = await env.api.send({ to: { mobiles: ['13600000201', '13600000202'] }, message: text('lookup keeps failing') });
    await new Promise((r) => setTimeout(r, 4_000));
    await fetch(`${env.emu.url}/_emulator/api/faults`, { method: 'DELETE' });
    const n = await env.api.get(id);
    const dead = await (await fetch(`${env.gw.url}/v1/dead-letters`, { headers: { authorization: 'Bearer test-key-0123456789abcdef' } })).json();
    expect(dead.items.some((d: any) => d.notification === id && d.kind === 'resolve')).toBe(true);
    expect(n.deliveries!.map((d) => d.status)).toEqual(['failed', 'failed']);
    expect(n.status).toBe('completed');
  });
});
