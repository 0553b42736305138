import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SIGNATURE_HEADER, signCallback } from '../src/server.js';
import { API_KEY, text, useGateway } from './helpers.js';

describe('recall, sendAt and status callbacks', () => {
  const env = useGateway();

  it('recalls work notifications at DingTalk and says what cannot be recalled', async () => {
    const { id } = await env.api.send({ to: { userIds: ['u60', 'u61'], robots: ['ops'] }, message: text('oops') });
    await env.api.waitFor(id);
    const r = await env.api.recall(id);
    expect(r.recalled).toBe(2);
    expect(r.notRecalled).toEqual([{ recipient: 'ops', channel: 'robot', reason: 'DingTalk cannot recall custom-robot messages' }]);
    const n = await env.api.get(id);
    expect(n.deliveries!.filter((d) => d.status === 'recalled').map((d) => d.recipient)).toEqual(['u60', 'u61']);
    expect(n.recalledAt).toBeTruthy();
    expect((await env.inbox('users', 'u60')).find((m) => m.message.text.content === 'oops').status).toBe('recalled');
  });

  it('recalls app-robot messages too, and cancels what has not been sent', async () => {
    const oto = await env.api.send({ to: { userIds: ['u62'] }, via: 'app_robot', message: text('oto recall') });
    await env.api.waitFor(oto.id);
    expect((await env.api.recall(oto.id)).recalled).toBe(1);
    const later = await env.api.send({ to: { userIds: ['u63'] }, message: text('later'), sendAt: new Date(Date.now() + 3_600_000).toISOString() });
    const r = await env.api.recall(later.id);
    expect(r.recalled).toBe(1);
    expect((await env.api.get(later.id)).deliveries![0]).toMatchObject({ status: 'recalled', reason: 'recalled before it was sent' });
  });

  it('sendAt holds a notification until its time', async () => {
    const at = new Date(Date.now() + 3_600_000).toISOString();
    const { id } = await env.api.send({ to: { userIds: ['u64'] }, message: text('scheduled'), sendAt: at });
    await new Promise((r) => setTimeout(r, 500));
    const waiting = await env.api.get(id);
    expect(waiting).toMatchObject({ status: 'queued', sendAt: at });
    expect((await env.inbox('users', 'u64')).length).toBe(0);
    await env.advance(3_600_000);
    const n = await env.api.waitFor(id, { timeoutMs: 10_000 });
    expect(['read', 'unread']).toContain(n.deliveries![0]!.status);
  });

  describe('callbacks', () => {
    const received: { body: string; signature: string }[] = [];
    let failuresLeft = 1;
    const server = createServer((req: IncomingMessage, res) => {
      let body = '';
      req.on('data', (c) => {
        body += c;
      });
      req.on('end', () => {
        if (failuresLeft-- > 0) {
          res.statusCode = 500;
          return res.end();
        }
        received.push({ body, signature: String(req.headers[SIGNATURE_HEADER]) });
        res.end('ok');
      });
    });
    let url = '';
    beforeAll(async () => {
      await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
      url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`;
    });
    afterAll(() => new Promise<void>((r) => server.close(() => r())));

    it('posts the final per-recipient outcome once, signed with the sender\'s key, retrying a failed receiver', async () => {
      const { id } = await env.api.send({ to: { userIds: ['u65'], mobiles: ['13999999998'] }, message: text('call me back'), callbackUrl: url });
      await expect.poll(() => received.length, { timeout: 10_000 }).toBe(1);
      const { body, signature } = received[0]!;
      const t = Number(/t=(\d+)/.exec(signature)![1]);
      expect(signature).toBe(signCallback(API_KEY, t, body));
      const payload = JSON.parse(body);
      expect(payload.event).toBe('notification.completed');
      expect(payload.notification).toMatchObject({ id, status: 'completed' });
      expect(payload.notification.deliveries.map((d: { status: string }) => d.status).sort()).toEqual(expect.arrayContaining(['invalid']));
      await expect.poll(async () => (await env.api.get(id)).callback?.state, { timeout: 5000 }).toBe('delivered');
      await new Promise((r) => setTimeout(r, 500));
      expect(received).toHaveLength(1);
    });
  });
});
