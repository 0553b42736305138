import { describe, expect, it } from 'vitest';
import { API_KEY, PG_URL, SEND, text, useGateway, usePostgresSchema } from './helpers.js';

/**
 * The dispatcher renews every leaseMs/3 without waiting for the previous renewal; renewals of one owner update
 * overlapping job rows in no fixed order, so they pile up, deadlock each other in PostgreSQL and hold every pooled
 * connection: the API stops answering and leases are not renewed.
 */
describe('renewals that never pile up: two gateways on PostgreSQL (leaseMs 60), 40 slow work notifications + chats', () => {
  const schema = usePostgresSchema('reviewleases');
  const env = useGateway({
    instances: 2,
    config: { store: { postgres: PG_URL, schema }, delivery: { leaseMs: 60, pollMs: 20, backoffBaseMs: 50, backoffMaxMs: 300 } },
  });

  it('the API keeps answering and every message arrives once', async () => {
    for (const path of [SEND, '/chat/send']) await env.fault({ path, kind: 'latency', latencyMs: 700, rate: 1 });
    const n = 40;
    const answers = await Promise.all(
      Array.from({ length: n }, (_, i) =>
        fetch(`${env.gw.url}/v1/notifications`, {
          method: 'POST',
          headers: { authorization: `Bearer ${API_KEY}`, 'content-type': 'application/json' },
          body: JSON.stringify({ to: { userIds: [`u${200 + i}`], chats: ['chat1'] }, message: text(`burst ${i}`) }),
        }).then(async (r) => ({ status: r.status, body: await r.json() })),
      ),
    );
    expect(answers.map((a) => a.status)).toEqual(Array(n).fill(202));
    // While the burst is worked on, a GET must answer within 5 s.
    const slow: number[] = [];
    const t0 = Date.now();
    let done = false;
    while (!done && Date.now() - t0 < 40_000) {
      const start = Date.now();
      const res = await fetch(`${env.gw.url}/v1/notifications/${answers[n - 1]!.body.id}`, { headers: { authorization: `Bearer ${API_KEY}` }, signal: AbortSignal.timeout(20_000) }).catch((e) => ({ status: String(e.name) }));
      const took = Date.now() - start;
      if (took > 5_000 || res.status !== 200) slow.push(took);
      if ('json' in res) done = (await (res as Response).json()).status === 'completed';
      await new Promise((r) => setTimeout(r, 200));
    }
    expect(slow).toEqual([]);
    expect(done).toBe(true);
  }, 90_000);
});
