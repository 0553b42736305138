
import { robotSignature } from '@dingpush/dingtalk';
import { describe, expect, it } from 'vitest';
import { ROBOT_SECRET, tokens, useGateway } from './helpers.js';

/** Review 3: hostile requests at the drop-in robot webhook. */
describe('POST /robot/send under attack', () => {
  const env = useGateway({
    switches: { deliveryMs: 20 },
    config: { delivery: { pollMs: 20 } },
    configure: (config) => {
      config.server = { host: '127.0.0.1', port: 0, bodyLimitBytes: 1024 * 1024 };
    },
  });

  const inbox = async (robot: string) => (await (await fetch(`${env.emu.url}/_emulator/api/inbox/robots/${robot}`)).json()).messages as any[];
  const accepted = async () => Number(/^dingpush_notifications_accepted_total (\d+)/m.exec(await (await fetch(`${env.gw.url}/metrics`)).text())?.[1] ?? 0);
  const raw = async (query: string, body: string | Buffer, contentType = 'application/json') => {
    const res = await fetch(`${env.gw.url}/robot/send?${query}`, { method: 'POST', headers: { 'content-type': contentType }, body: typeof body === 'string' ? body : new Uint8Array(body) });
    return { status: res.status, body: (await res.json()) as any };
  };

  it('a wrong sign without a timestamp is refused (310000), not accepted unsigned', async () => {
    const before = await accepted();
    const body = JSON.stringify({ msgtype: 'text', text: { content: 'forged: no timestamp, bad sign' } });
    const r = await raw(`access_token=${tokens.ops}&sign=${encodeURIComponent('AAAAthis-is-not-the-signature=')}`, body);
    expect(r.status).toBe(200);
    expect(r.body.errcode).toBe(310000);
    expect(await accepted()).toBe(before);
  });

  it('a robot with a secret (加签) refuses an unsigned request, as DingTalk does (310000)', async () => {
    const before = await accepted();
    const r = await raw(`access_token=${tokens.ops}`, JSON.stringify({ msgtype: 'text', text: { content: 'unsigned to a signing robot' } }));
    expect(r.status).toBe(200);
    expect(r.body.errcode).toBe(310000);
    expect(await accepted()).toBe(before);
  });

  it('sign given twice in the query: the first counts, answered in DingTalk shape, never a 500', async () => {
    const at = Date.now();
    const sign = encodeURIComponent(robotSignature(ROBOT_SECRET, at));
    const body = JSON.stringify({ msgtype: 'text', text: { content: 'x' } });
    const good = await raw(`access_token=${tokens.ops}&timestamp=${at}&sign=${sign}&sign=garbage`, body);
    expect(good).toEqual({ status: 200, body: { errcode: 0, errmsg: 'ok' } });
    const bad = await raw(`access_token=${tokens.ops}&timestamp=${at}&timestamp=${at}&sign=garbage&sign=${sign}`, body);
    expect(bad).toEqual({ status: 200, body: { errcode: 310000, errmsg: 'sign not match' } });
  });

  it('invalid UTF-8 bytes under 20000 bytes that grow past it once decoded: a final refusal, not -1 busy (retried forever)', async () => {
    // 19,000 bytes on the wire; 6,000 0xFF bytes decode to U+FFFD (3 bytes each): ~31 KB as JSON.
    const head = Buffer.from('{"msgtype":"text","text":{"content":"告警 ');
    const tail = Buffer.from('"}}');
    const filler = Buffer.alloc(6000, 0xff);
    const pad = Buffer.alloc(19_000 - head.length - tail.length - filler.length, 0x61);
    const body = Buffer.concat([head, filler, pad, tail]);
    expect(body.length).toBeLessThanOrEqual(20_000);
    const r = await raw(`access_token=${tokens.alerts}&x=1`, body);
    expect(r.status).toBe(200);
    // DingTalk: 460101 (too long) or 40035; never -1, which tells the sender to try again.
    expect(r.body.errcode).not.toBe(-1);
    expect([460101, 40035, 400402]).toContain(r.body.errcode);
  });

  it('an oversized body (over the server bodyLimit) is answered in DingTalk shape (HTTP 200, 460101)', async () => {
    const body = JSON.stringify({ msgtype: 'text', text: { content: `告警 ${'x'.repeat(1_100_000)}` } });
    const r = await raw(`access_token=${tokens.alerts}`, body);
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({ errcode: 460101 });
  });

  it('a deeply nested extra field is not answered as an unsafe link (430101)', async () => {
    let deep: unknown = 'leaf';
    for (let i = 0; i < 40; i++) deep = { d: deep };
    const r = await raw(`access_token=${tokens.alerts}`, JSON.stringify({ msgtype: 'text', text: { content: '告警 nested' }, extra: deep }));
    expect(r.status).toBe(200);
    // whatever the gateway decides, "含有不安全的外链" (unsafe link) is a false reason: there is no link
    expect(r.body.errmsg).not.toContain('不安全的外链');
  });

  it('two msgUuids that differ only after 200 characters are two messages, not one silently dropped', async () => {
    const base = 'u'.repeat(200);
    const a = await raw(`access_token=${tokens.alerts}`, JSON.stringify({ msgtype: 'text', text: { content: '告警 first long uuid' }, msgUuid: `${base}-a` }));
    const b = await raw(`access_token=${tokens.alerts}`, JSON.stringify({ msgtype: 'text', text: { content: '告警 second long uuid' }, msgUuid: `${base}-b` }));
    expect(a.body).toEqual({ errcode: 0, errmsg: 'ok' });
    expect(b.body).toEqual({ errcode: 0, errmsg: 'ok' });
    await expect
      .poll(async () => (await inbox('alerts')).filter((m) => /long uuid/.test(m.message.text?.content ?? '')).length, { timeout: 5_000 })
      .toBe(2);
  });
});
