import { describe, expect, it } from 'vitest';
import { DingpushClient } from '../src/server.js';
import { API_KEY, PG_URL, shownIn, showsOnce, text, useGateway, usePostgresSchema , alertGroup, fillRobotMinute, quietRobots , busiestMinute, type EmulatorCall } from './helpers.js';

type Call = EmulatorCall;


describe('storm digests: what waits behind a robot quota goes out together in the next free slot', () => {
  const env = useGateway({
    config: { delivery: { pollMs: 20, backoffBaseMs: 50, backoffMaxMs: 300, leaseMs: 2_000 } },
    configure: (c) => {
      c.targets = [
        { name: 'storm', to: { robots: ['ops'] } },
        { name: 'separate', to: { robots: ['alerts'] }, digest: false },
      ];
    },
  });

  const push = async (target: string, body: string, headers: Record<string, string> = {}) => {
    const res = await fetch(`${env.gw.url}/v1/push/${target}`, { method: 'POST', headers: { authorization: `Bearer ${API_KEY}`, 'content-type': 'text/plain', ...headers }, body });
    expect(res.status).toBe(202);
    return (await res.json()) as { id: string };
  };

  /** What earlier tests left waiting goes out, and the robot's minute is empty again. */
  const quiet = () => quietRobots(env);

  const fillMinute = (robot: string, prefix: string) => fillRobotMinute(env, robot, prefix);

  const alertNow = (name: string, status: 'firing' | 'resolved', severity = 'warning') => alertGroup(name, status, severity, env.now());
  const postAlert = async (body: unknown) => {
    const res = await fetch(`${env.gw.url}/dingtalk/storm/send`, { method: 'POST', headers: { authorization: `Bearer ${API_KEY}`, 'content-type': 'application/json' }, body: JSON.stringify(body) });
    expect(res.status).toBe(200);
    return ((await res.json()) as { id: string }).id;
  };
  const allText = (inbox: any[]) => inbox.map((m) => JSON.stringify(m.message)).join('\n');

  it('a storm: 300 distinct alerts to one robot within 10 s are all in the group within 2 minutes, never over 20 calls a minute, none refused, all sent', async () => {
    const start = env.now();
    const before = (await env.inbox('robots', 'ops')).length;
    const ids: string[] = [];
    for (let second = 0; second < 10; second++) {
      ids.push(...(await Promise.all(Array.from({ length: 30 }, (_, k) => postAlert(alertNow(`Storm${String(second * 30 + k).padStart(3, '0')}`, 'firing'))))));
      await env.advance(1_000);
    }
    const missing = async () => {
      const text = allText((await env.inbox('robots', 'ops')).slice(before));
      return ids.map((_, i) => `Storm${String(i).padStart(3, '0')}`).filter((name) => !text.includes(name));
    };
    while (env.now() - start < 120_000 && (await missing()).length > 0) {
      await env.advance(5_000);
      await new Promise((r) => setTimeout(r, 300));
    }
    expect(await missing()).toEqual([]);
    expect(env.now() - start).toBeLessThanOrEqual(120_000);
    for (const id of ids) expect((await env.api.waitFor(id, { timeoutMs: 10_000 })).deliveries![0]!.status).toBe('sent');
    const calls = (await env.calls('/robot/send')).filter((c: Call) => c.robot === 'ops' && c.time >= start);
    expect(calls.filter((c: Call) => c.errcode !== 0)).toEqual([]);
    expect(busiestMinute(calls)).toBeLessThanOrEqual(20);
    // 300 alerts in far fewer messages: the minute's singles, then a few digests.
    expect(calls.length).toBeLessThan(30);
  }, 120_000);

  it('behind a storm, a resolution goes out at once in the reserve, showing its waiting firing once, as fired and resolved; a critical alert too', async () => {
    await fillMinute('ops', 'fill-r');
    const before = (await env.inbox('robots', 'ops')).length;
    const firing = await postAlert(alertNow('FlapX', 'firing'));
    await expect.poll(async () => (await env.api.get(firing)).deliveries![0]!.reason ?? '', { timeout: 5_000 }).toContain('20-a-minute');
    const resolved = await postAlert(alertNow('FlapX', 'resolved'));
    // No clock advance: it goes in one of the two calls kept in reserve.
    await expect.poll(async () => (await env.inbox('robots', 'ops')).length - before, { timeout: 5_000 }).toBe(1);
    const [flap] = (await env.inbox('robots', 'ops')).slice(before);
    const lines = (flap.message.markdown.text as string).split('\n').filter((l: string) => l.includes('FlapX'));
    expect(lines).toHaveLength(1);
    expect(lines[0]).toContain('🔥→✅');
    const [a, b] = await Promise.all([env.api.waitFor(firing), env.api.waitFor(resolved)]);
    expect(a.deliveries![0]).toMatchObject({ status: 'sent', digest: b.deliveries![0]!.digest });
    const critical = await postAlert(alertNow('DiskFull', 'firing', 'critical'));
    await expect.poll(async () => (await env.inbox('robots', 'ops')).length - before, { timeout: 5_000 }).toBe(2);
    expect((await env.api.waitFor(critical)).deliveries![0]!.status).toBe('sent');
    // A warning is not urgent: it waits for the minute.
    const warning = await postAlert(alertNow('Slow', 'firing'));
    await expect.poll(async () => (await env.api.get(warning)).deliveries![0]!.reason ?? '', { timeout: 5_000 }).toContain('20-a-minute');
    expect((await env.inbox('robots', 'ops')).length - before).toBe(2);
    const calls = (await env.calls('/robot/send')).filter((c: Call) => c.robot === 'ops');
    expect(busiestMinute(calls)).toBeLessThanOrEqual(20);
  });

  it('a recall of a waiting message takes it out of the digest: recalled means it never shows', async () => {
    await fillMinute('ops', 'fill-a');
    const waiting: string[] = [];
    for (let i = 0; i < 5; i++) waiting.push((await env.api.send({ to: { robots: ['ops'] }, message: text(`waiting ${i}`) })).id);
    await expect.poll(async () => (await env.api.get(waiting[4]!)).deliveries![0]!.reason ?? '', { timeout: 5_000 }).toContain('20-a-minute');
    const recall = await env.api.recall(waiting[2]!);
    expect(recall).toMatchObject({ id: waiting[2] });
    expect((await env.api.get(waiting[2]!)).deliveries![0]!.status).toBe('recalled');
    await env.advance(62_500);
    for (const id of waiting.filter((_, i) => i !== 2)) await env.api.waitFor(id, { timeoutMs: 10_000 });
    const lines = shownIn(await env.inbox('robots', 'ops'));
    for (const i of [0, 1, 3, 4]) expect(lines.some((l) => l.endsWith(`**waiting ${i}**`)), `waiting ${i}`).toBe(true);
    expect(lines.some((l) => l.includes('waiting 2'))).toBe(false);
    const digests = new Set((await Promise.all(waiting.map((id) => env.api.get(id)))).map((n) => n.deliveries![0]!.digest).filter(Boolean));
    expect(digests.size).toBe(1);
    expect((await env.api.get(waiting[2]!)).deliveries![0]).toMatchObject({ status: 'recalled' });
  });

  it('a digest whose answer was lost is sent again with the same msgUuid: the group sees it once, every message sent once', async () => {
    await fillMinute('ops', 'fill-b');
    const waiting: string[] = [];
    for (let i = 0; i < 4; i++) waiting.push((await env.api.send({ to: { robots: ['ops'] }, message: text(`lost ${i}`) })).id);
    await expect.poll(async () => (await env.api.get(waiting[3]!)).deliveries![0]!.reason ?? '', { timeout: 5_000 }).toContain('20-a-minute');
    await env.fault({ path: '/robot/send', kind: 'dropAfter', count: 1 });
    await env.advance(62_500);
    for (const id of waiting) await env.api.waitFor(id, { timeoutMs: 15_000 });
    const lines = shownIn(await env.inbox('robots', 'ops'));
    for (let i = 0; i < 4; i++) expect(lines.filter((l) => l.endsWith(`**lost ${i}**`)), `lost ${i}`).toHaveLength(1);
    for (const id of waiting) expect((await env.api.get(id)).deliveries![0]).toMatchObject({ status: 'sent', attempts: 2 });
  });

  it('a message parked behind a head that went away without unparking it (a crash between two writes) is found and sent', async () => {
    await quiet();
    const { id } = await env.api.send({ to: { robots: ['ops'] }, message: text('orphan'), sendAt: new Date(env.now() + 3_600_000).toISOString() });
    // The state a crash leaves: the job parked, and no head left to unpark it.
    const [job] = await env.gw.store.jobs({ notificationId: id });
    await env.gw.store.transact(null, env.now(), (tx) => tx.park([job!.id]));
    expect((await env.gw.store.jobs({ notificationId: id }))[0]!.state).toBe('parked');
    const n = await env.api.waitFor(id, { timeoutMs: 20_000 });
    expect(n.deliveries![0]!.status).toBe('sent');
    expect(shownIn(await env.inbox('robots', 'ops'))).toContain('orphan');
  }, 30_000);

  it('digest: false on a target keeps its messages separate: each waits for a slot of its own, in order', async () => {
    await quiet();
    const ids: string[] = [];
    for (let i = 0; i < 21; i++) ids.push((await push('separate', `告警 separate ${i}`)).id);
    await expect.poll(async () => (await env.inbox('robots', 'alerts')).length, { timeout: 10_000 }).toBe(18);
    for (let window = 0; window < 2 && (await env.inbox('robots', 'alerts')).length < 21; window++) await env.advance(62_500);
    for (const id of ids) await env.api.waitFor(id, { timeoutMs: 10_000 });
    const got = (await env.inbox('robots', 'alerts')).map((m) => m.message.text.content as string);
    expect(got).toEqual(ids.map((_, i) => `告警 separate ${i}`));
    for (const id of ids) expect((await env.api.get(id)).deliveries![0]!.digest).toBeUndefined();
    const calls = (await env.calls('/robot/send')).filter((c: Call) => c.robot === 'alerts');
    expect(busiestMinute(calls)).toBeLessThanOrEqual(20);
  });
});

/**
 * Two gateways on one PostgreSQL store, a slow robot (each call 400 ms, longer than the 300 ms lease), messages
 * accepted by both: whoever parks, heads or folds, every message shows exactly once and the robot's minute holds.
 */
describe('storm digests across two gateways on PostgreSQL, with a robot slower than the lease', () => {
  const schema = usePostgresSchema('digest2');
  const env = useGateway({
    instances: 2,
    config: { store: { postgres: PG_URL, schema }, delivery: { leaseMs: 300, pollMs: 20, backoffBaseMs: 50, backoffMaxMs: 300 } },
  });

  it('60 messages through both: each shows once, never more than 20 calls in a minute, none refused, all sent', async () => {
    await env.fault({ path: '/robot/send', kind: 'latency', latencyMs: 400, rate: 1 });
    const second = new DingpushClient({ url: env.gw2!.url, apiKey: API_KEY });
    const ids = await Promise.all(
      Array.from({ length: 60 }, (_, i) => (i % 2 ? second : env.api).send({ to: { robots: ['ops'] }, message: text(`pg ${i}`) }).then((r) => r.id)),
    );
    // Some go one by one while the minute has room, a digest carries what waited; the rest waits for the next minute.
    // (The lease is shorter than each call: under load, renewals late by a few hundred milliseconds put jobs back
    // again and again before one goes, so this waits long enough for a loaded machine.)
    await expect.poll(async () => (await env.inbox('robots', 'ops')).length, { timeout: 45_000 }).toBeGreaterThanOrEqual(2);
    await new Promise((r) => setTimeout(r, 5_000));
    await env.advance(62_500);
    for (const id of ids) await env.api.waitFor(id, { timeoutMs: 20_000 });
    const lines = shownIn(await env.inbox('robots', 'ops'));
    for (let i = 0; i < 60; i++) expect(showsOnce(lines, `pg ${i}`), `pg ${i}`).toBe(true);
    const calls = (await env.calls('/robot/send')).filter((c: Call) => c.robot === 'ops');
    expect(calls.filter((c: Call) => c.errcode !== 0)).toEqual([]);
    expect(busiestMinute(calls)).toBeLessThanOrEqual(20);
    for (const id of ids) expect((await env.api.get(id)).deliveries![0]!.status).toBe('sent');
  }, 120_000);
});
