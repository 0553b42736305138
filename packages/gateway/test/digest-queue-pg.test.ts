import { describe, expect, it } from 'vitest';
import { DingpushClient } from '../src/server.js';
import { API_KEY, PG_URL, shownIn, text, useGateway, usePostgresSchema, alertGroup , busiestMinute, type EmulatorCall } from './helpers.js';

type Call = EmulatorCall;

/**
 * two gateways on PostgreSQL, a robot slower than the lease, a mix of plain messages, critical
 * alerts and resolutions (the reserve), recalls racing folds and digest sends, and lost answers. Invariants: a message
 * recalled before it was sent never shows; every other one shows exactly once; nothing is left parked, queued or
 * orphaned; never more than 20 calls in a minute, no 130101.
 */
describe('destination queue on PostgreSQL under races', () => {
  const schema = usePostgresSchema('rvq');
  const env = useGateway({
    instances: 2,
    config: { store: { postgres: PG_URL, schema }, delivery: { leaseMs: 300, pollMs: 20, backoffBaseMs: 50, backoffMaxMs: 300 } },
    configure: (c) => {
      c.targets = [{ name: 'storm', to: { robots: ['ops'] } }];
    },
  });

  const alert = (name: string, status: 'firing' | 'resolved', severity: string) => alertGroup(name, status, severity, env.now());

  it('mixed storm through both gateways: recalled never shows, the rest once, quota holds, nothing left behind', async () => {
    await env.fault({ path: '/robot/send', kind: 'latency', latencyMs: 400, rate: 1 });
    const second = new DingpushClient({ url: env.gw2!.url, apiKey: API_KEY });
    const gws = [env.gw.url, env.gw2!.url];
    const plain: { id: string; label: string }[] = [];
    const alerts: { id: string; label: string }[] = [];
    const recalled: string[] = [];
    const start = env.now();
    for (let round = 0; round < 6; round++) {
      const batch = await Promise.all(
        Array.from({ length: 12 }, (_, i) => {
          const label = `rv${round}x${i}`;
          return (i % 2 ? second : env.api).send({ to: { robots: ['ops'] }, message: text(label) }).then((r) => ({ id: r.id, label }));
        }),
      );
      plain.push(...batch);
      for (let k = 0; k < 3; k++) {
        const name = `Al${round}x${k}`;
        const post = async (body: unknown) => {
          const res = await fetch(`${gws[k % 2]}/dingtalk/storm/send`, { method: 'POST', headers: { authorization: `Bearer ${API_KEY}`, 'content-type': 'application/json' }, body: JSON.stringify(body) });
          expect(res.status).toBe(200);
          return ((await res.json()) as { id: string }).id;
        };
        alerts.push({ id: await post(alert(name, 'firing', k === 0 ? 'critical' : 'warning')), label: name });
        if (k === 1) alerts.push({ id: await post(alert(name, 'resolved', 'warning')), label: name });
      }
      // Recall a few while they wait, fold or go out.
      for (const victim of [batch[3]!, batch[8]!]) {
        await (round % 2 ? second : env.api).recall(victim.id);
        recalled.push(victim.id);
      }
      if (round === 2) await env.fault({ path: '/robot/send', kind: 'dropAfter', count: 2 });
      await env.advance(7_000);
      await new Promise((r) => setTimeout(r, 300));
    }
    for (let i = 0; i < 6; i++) {
      await env.advance(62_500);
      await new Promise((r) => setTimeout(r, 1_000));
    }
    const all = [...plain, ...alerts];
    for (const { id } of all) await env.api.waitFor(id, { timeoutMs: 20_000, until: (n) => n.status === 'completed' || n.status === 'recalled' });

    const inbox = await env.inbox('robots', 'ops');
    const lines = shownIn(inbox);
    const problems: string[] = [];
    for (const { id, label } of plain) {
      const d = (await env.api.get(id)).deliveries![0]!;
      const shows = lines.filter((l) => l === label || l.includes(`**${label}**`)).length;
      if (d.status === 'recalled' && shows > 0) problems.push(`${label} recalled but shown ${shows}x`);
      if (d.status === 'sent' && shows !== 1) problems.push(`${label} sent but shown ${shows}x`);
      if (d.status !== 'sent' && d.status !== 'recalled') problems.push(`${label} ended ${d.status}: ${d.reason}`);
    }
    for (const { id, label } of alerts) {
      const d = (await env.api.get(id)).deliveries![0]!;
      if (d.status !== 'sent') problems.push(`alert ${label} ended ${d.status}: ${d.reason}`);
      if (!JSON.stringify(inbox).includes(label)) problems.push(`alert ${label} never shown`);
    }
    const left = await env.gw.store.jobs({ kinds: ['send'], states: ['ready', 'leased', 'parked'] });
    if (left.length) problems.push(`${left.length} send jobs left: ${left.map((j) => j.state).join(',')}`);
    const queued = await env.gw.store.deliveries({ statuses: ['queued', 'sending'] });
    if (queued.length) problems.push(`${queued.length} deliveries still queued/sending`);
    const calls = (await env.calls('/robot/send')).filter((c: Call) => c.robot === 'ops' && c.time >= start);
    const refused = calls.filter((c: Call) => c.errcode !== 0 && c.errcode !== undefined);
    if (refused.length) problems.push(`refused: ${JSON.stringify(refused.map((c) => c.errcode))}`);
    if (busiestMinute(calls) > 20) problems.push(`busiest minute ${busiestMinute(calls)}`);
    const recalledStatuses = await Promise.all(recalled.map(async (id) => (await env.api.get(id)).deliveries![0]!.status));
    console.log(JSON.stringify({ calls: calls.length, digests: inbox.filter((m) => m.message.msgtype === 'markdown' && String(m.message.markdown.title).includes('汇总')).length, busiest: busiestMinute(calls), recalledStatuses }));
    expect(problems).toEqual([]);
  }, 240_000);

  it('quota under pressure: plain storm plus a stream of critical alerts and resolutions, clock in 3 s steps: never over 20 a minute, no 130101', async () => {
    await env.fault({ path: '/robot/send', kind: 'latency', latencyMs: 0, rate: 0 });
    await env.advance(700_000);
    const second = new DingpushClient({ url: env.gw2!.url, apiKey: API_KEY });
    const gws = [env.gw.url, env.gw2!.url];
    const start = env.now();
    const ids: string[] = [];
    for (let step = 0; step < 60; step++) {
      ids.push(...(await Promise.all(Array.from({ length: 4 }, (_, i) => (i % 2 ? second : env.api).send({ to: { robots: ['ops'] }, message: text(`q${step}x${i}`) }).then((r) => r.id)))));
      const name = `Q${step}`;
      const res = await fetch(`${gws[step % 2]}/dingtalk/storm/send`, { method: 'POST', headers: { authorization: `Bearer ${API_KEY}`, 'content-type': 'application/json' }, body: JSON.stringify(alert(name, step % 3 === 0 ? 'resolved' : 'firing', 'critical')) });
      expect(res.status).toBe(200);
      ids.push(((await res.json()) as { id: string }).id);
      await env.advance(3_000);
      await new Promise((r) => setTimeout(r, 120));
    }
    // The robot's minutes pass only when the test moves the clock: on a loaded machine fewer messages went during the
    // steps, and the rest need more of its minutes than four (they waited for quota time that never came).
    const unfinished = async () => (await Promise.all(ids.map((id) => env.api.get(id)))).filter((n) => n.status !== 'completed').length;
    for (let i = 0; i < 4 || (i < 16 && (await unfinished()) > 0); i++) {
      await env.advance(62_500);
      await new Promise((r) => setTimeout(r, 800));
    }
    for (const id of ids) await env.api.waitFor(id, { timeoutMs: 20_000 });
    const calls = (await env.calls('/robot/send')).filter((c: Call) => c.robot === 'ops' && c.time >= start);
    console.log(JSON.stringify({ calls: calls.length, busiest: busiestMinute(calls) }));
    expect(calls.filter((c: Call) => c.errcode !== 0)).toEqual([]);
    expect(busiestMinute(calls)).toBeLessThanOrEqual(20);
    for (const id of ids) expect((await env.api.get(id)).deliveries![0]!.status).toBe('sent');
  }, 240_000);
});
