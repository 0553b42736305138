import { describe, expect, it } from 'vitest';
import { SEND, text, useGateway } from './helpers.js';

const RECALL = '/topapi/message/corpconversation/recall';
const contents = (messages: { message: { text?: { content: string } } ; status: string }[], content: string) =>
  messages.filter((m) => m.message.text?.content === content).map((m) => m.status);

describe('recall is exact, and wins against a send, a lookup or the tracker in flight', () => {
  const env = useGateway({ switches: { dailyUserCap: 5 }, config: { delivery: { backoffBaseMs: 50, backoffMaxMs: 300, pollMs: 20 } } });

  it('a recall while the send is in flight is carried out as soon as DingTalk answers the send', async () => {
    await env.fault({ path: SEND, kind: 'latency', latencyMs: 1_200, count: 1 });
    const { id } = await env.api.send({ to: { userIds: ['u80'] }, message: text('recall me mid-send') });
    await expect.poll(async () => (await env.api.get(id)).deliveries![0]!.status, { timeout: 3_000, interval: 20 }).toBe('sending');
    const r = await env.api.recall(id);
    expect(r).toMatchObject({ recalled: 1, pending: [], notRecalled: [] });
    await expect.poll(async () => contents(await env.inbox('users', 'u80'), 'recall me mid-send'), { timeout: 2_000 }).toEqual(['recalled']);
    // The tracker comes later and must not bring it back.
    await new Promise((res) => setTimeout(res, 800));
    expect((await env.api.get(id)).deliveries![0]).toMatchObject({ status: 'recalled' });
    expect((await env.api.get(id)).status).toBe('recalled');
  });

  it('a recall while mobiles are being looked up: nothing is sent', async () => {
    await env.fault({ path: '/topapi/v2/user/getbymobile', kind: 'latency', latencyMs: 500, count: 3 });
    const sendsBefore = (await env.calls(SEND)).length;
    const { id } = await env.api.send({ to: { mobiles: ['13600000081', '13600000082', '13600000083'] }, message: text('recall me mid-lookup') });
    await expect.poll(async () => (await env.calls('/topapi/v2/user/getbymobile')).length, { timeout: 3_000, interval: 20 }).toBeGreaterThan(0);
    const r = await env.api.recall(id);
    expect(r.recalled).toBe(3);
    await new Promise((res) => setTimeout(res, 2_000));
    const n = await env.api.get(id);
    expect(n.deliveries!.map((d) => d.status)).toEqual(['recalled', 'recalled', 'recalled']);
    expect((await env.calls(SEND)).length).toBe(sendsBefore);
    for (const u of ['u81', 'u82', 'u83']) expect(contents(await env.inbox('users', u), 'recall me mid-lookup')).toEqual([]);
  });

  it('a recall while the tracker waits on getsendresult: it stays recalled when the tracker returns', async () => {
    const { id } = await env.api.send({ to: { userIds: ['u84'] }, message: text('recall me mid-track') });
    await expect.poll(async () => (await env.api.get(id)).deliveries![0]!.status, { timeout: 3_000, interval: 20 }).toBe('sent');
    await env.fault({ path: '/topapi/message/corpconversation/getsendresult', kind: 'latency', latencyMs: 1_000, count: 1 });
    await expect.poll(async () => (await env.calls('/topapi/message/corpconversation/getsendresult')).length, { timeout: 3_000, interval: 20 }).toBeGreaterThan(0);
    expect((await env.api.recall(id)).recalled).toBe(1);
    await new Promise((res) => setTimeout(res, 1_500));
    expect((await env.api.get(id)).deliveries![0]).toMatchObject({ status: 'recalled', reason: 'recalled' });
    expect(contents(await env.inbox('users', 'u84'), 'recall me mid-track')).toEqual(['recalled']);
  });

  it('a recipient DingTalk held back for its daily cap (143105) and then recalled is not sent the next day', async () => {
    await env.switches({ dailyUserCap: 1 });
    await env.api.waitFor((await env.api.send({ to: { userIds: ['u85'] }, message: text('first today') })).id);
    const { id } = await env.api.send({ to: { userIds: ['u85'] }, message: text('second today') });
    await env.api.waitFor(id, { until: (n) => (n.deliveries![0]!.reason ?? '').includes('143105') });
    expect((await env.api.recall(id)).recalled).toBe(1);
    await env.advance(86_400_000 + 120_000);
    await new Promise((res) => setTimeout(res, 1_000));
    expect((await env.api.get(id)).deliveries![0]!.status).toBe('recalled');
    expect(contents(await env.inbox('users', 'u85'), 'second today')).toEqual([]);
    await env.switches({ dailyUserCap: 5 });
  });

  it('asking twice recalls once', async () => {
    const { id } = await env.api.send({ to: { userIds: ['u86'] }, message: text('recall twice') });
    await env.api.waitFor(id);
    const before = (await env.calls(RECALL)).length;
    expect((await env.api.recall(id)).recalled).toBe(1);
    expect((await env.api.recall(id)).recalled).toBe(1);
    expect((await env.calls(RECALL)).length - before).toBe(1);
  });

  it('identical content of two notifications goes in two DingTalk tasks: recalling one leaves the other delivered', async () => {
    const at = new Date(Date.now() + 300).toISOString();
    const [a, b] = await Promise.all(['u87', 'u88'].map((u) => env.api.send({ to: { userIds: [u] }, message: text('same words'), sendAt: at })));
    const [na, nb] = [await env.api.waitFor(a!.id), await env.api.waitFor(b!.id)];
    expect(na.deliveries![0]!.taskId).not.toBe(nb.deliveries![0]!.taskId);
    expect(await env.api.recall(a!.id)).toMatchObject({ recalled: 1, alsoRecalled: [] });
    expect(contents(await env.inbox('users', 'u87'), 'same words')).toEqual(['recalled']);
    expect(contents(await env.inbox('users', 'u88'), 'same words')).not.toContain('recalled');
    expect(['read', 'unread']).toContain((await env.api.get(b!.id)).deliveries![0]!.status);
  });
});

describe('with delivery.mergeAcrossNotifications: one shared task, and a recall that says whom it took back', () => {
  const env = useGateway({ config: { delivery: { mergeAcrossNotifications: true, backoffBaseMs: 50, backoffMaxMs: 300, pollMs: 20 } } });

  it('identical content shares one call; recalling one notification recalls, marks and reports the others in it', async () => {
    const at = new Date(Date.now() + 300).toISOString();
    const sent = await Promise.all(['u90', 'u91', 'u92'].map((u) => env.api.send({ to: { userIds: [u] }, message: text('merged words'), sendAt: at })));
    const views = [];
    for (const { id } of sent) views.push(await env.api.waitFor(id));
    expect(new Set(views.map((n) => n.deliveries![0]!.taskId)).size).toBe(1);
    const r = await env.api.recall(sent[0]!.id);
    expect(r).toMatchObject({ recalled: 1, alsoRecalled: [sent[1]!.id, sent[2]!.id].sort() });
    for (const [i, u] of ['u90', 'u91', 'u92'].entries()) {
      expect(contents(await env.inbox('users', u), 'merged words')).toEqual(['recalled']);
      const d = (await env.api.get(sent[i]!.id)).deliveries![0]!;
      expect(d.status).toBe('recalled');
      if (i > 0) expect(d.reason).toBe(`recalled with notification ${sent[0]!.id}: they went out in one DingTalk message`);
    }
  });
});
