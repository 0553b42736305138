import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { advance, getJson, inbox, SIGN_SECRET, setSwitches, useEmulator } from './helpers.js';

const OPEN = 'open'.padEnd(64, '0');
const SIGNED = 'sign'.padEnd(64, '0');
const KW = 'kwkw'.padEnd(64, '0');
const sign = (ts: string, secret = SIGN_SECRET) => createHmac('sha256', secret).update(`${ts}\n${secret}`).digest('base64');

describe('custom robot webhook', () => {
  const ctx = useEmulator();
  const post = async (query: string, body: unknown, contentType = 'application/json') =>
    getJson(`${ctx.url}/robot/send?${query}`, {
      method: 'POST',
      headers: { 'content-type': contentType },
      body: typeof body === 'string' ? body : JSON.stringify(body),
    });
  const now = async () => (await getJson(`${ctx.url}/_emulator/api/clock`)).body.now as number;
  const signedQuery = async (encode: (s: string) => string = encodeURIComponent, tsOffset = 0) => {
    const ts = String((await now()) + tsOffset);
    return `access_token=${SIGNED}&timestamp=${ts}&sign=${encode(sign(ts))}`;
  };
  const textMsg = (content: string, at?: unknown) => ({ msgtype: 'text', text: { content }, ...(at ? { at } : {}) });

  it('the signature matches the known-answer vector of §6.2', () => {
    expect(sign('1700000000000')).toBe('zrLWzK97t62y5CpqN8Ok9UIdPvX+jL1PNoW8nKT5a9k=');
  });

  it('a robot with no security setting accepts a message and it lands in its inbox', async () => {
    const res = await post(`access_token=${OPEN}`, textMsg('hello'));
    expect(res).toEqual({ status: 200, body: { errcode: 0, errmsg: 'ok' } });
    expect(await inbox(ctx.url, 'robots', 'open')).toEqual([expect.objectContaining({ channel: 'robot', msgtype: 'text', message: textMsg('hello') })]);
  });

  it('unknown token 300001; wrong content type 43004; body not JSON 40035', async () => {
    expect((await post('access_token=nope', textMsg('x'))).body.errcode).toBe(300001);
    expect((await post(`access_token=${OPEN}`, 'x', 'text/plain')).body.errcode).toBe(43004);
    expect((await post(`access_token=${OPEN}`, '{not json')).body).toMatchObject({ errcode: 40035, errmsg: expect.stringContaining('缺少参数 json') });
  });

  it('signing: a good signature passes, once or twice URL-encoded; a wrong one or a stale timestamp is 310000', async () => {
    expect((await post(await signedQuery(), textMsg('ok'))).body.errcode).toBe(0);
    expect((await post(await signedQuery((s) => encodeURIComponent(encodeURIComponent(s))), textMsg('ok2'))).body.errcode).toBe(0);
    const wrong = await post(`access_token=${SIGNED}&timestamp=${await now()}&sign=${encodeURIComponent(sign('1', 'SECother'))}`, textMsg('x'));
    expect(wrong.body).toMatchObject({ errcode: 310000, errmsg: 'sign not match' });
    expect((await post(`access_token=${SIGNED}`, textMsg('x'))).body.errcode).toBe(310000);
    expect((await post(await signedQuery(encodeURIComponent, -3_500_000), textMsg('skew ok'))).body.errcode).toBe(0);
    const stale = await post(await signedQuery(encodeURIComponent, -3_700_000), textMsg('x'));
    expect(stale.body).toMatchObject({ errcode: 310000, errmsg: 'invalid timestamp' });
    const future = await post(await signedQuery(encodeURIComponent, 3_700_000), textMsg('x'));
    expect(future.body.errmsg).toBe('invalid timestamp');
  });

  it('keywords: a message must contain one of them', async () => {
    expect((await post(`access_token=${KW}`, textMsg('nothing here'))).body).toMatchObject({ errcode: 310000, errmsg: 'keywords not in content' });
    expect((await post(`access_token=${KW}`, textMsg('CPU 告警'))).body.errcode).toBe(0);
    const md = { msgtype: 'markdown', markdown: { title: 'alert: disk', text: 'full' } };
    expect((await post(`access_token=${KW}`, md)).body.errcode).toBe(0);
  });

  it('IP whitelist: 127.0.0.1 is refused outside it, accepted inside it (CIDR)', async () => {
    const no = await post(`access_token=${'ipno'.padEnd(64, '0')}`, textMsg('x'));
    expect(no.body).toMatchObject({ errcode: 310000, errmsg: 'ip 127.0.0.1 not in whitelist' });
    expect((await post(`access_token=${'ipok'.padEnd(64, '0')}`, textMsg('x'))).body.errcode).toBe(0);
  });

  const types: [string, unknown, number][] = [
    ['text', { msgtype: 'text', text: { content: 'c' } }, 0],
    ['text without content', { msgtype: 'text', text: {} }, 400402],
    ['markdown', { msgtype: 'markdown', markdown: { title: 't', text: '# x' } }, 0],
    ['markdown without title', { msgtype: 'markdown', markdown: { text: '# x' } }, 400402],
    ['link', { msgtype: 'link', link: { title: 't', text: 'x', messageUrl: 'https://a' } }, 0],
    ['link without messageUrl', { msgtype: 'link', link: { title: 't', text: 'x' } }, 400402],
    ['actionCard single', { msgtype: 'actionCard', actionCard: { title: 't', text: 'x', singleTitle: 's', singleURL: 'https://a' } }, 0],
    ['actionCard single without URL', { msgtype: 'actionCard', actionCard: { title: 't', text: 'x', singleTitle: 's' } }, 400402],
    ['actionCard buttons', { msgtype: 'actionCard', actionCard: { title: 't', text: 'x', btns: [{ title: 'a', actionURL: 'https://a' }] } }, 0],
    ['actionCard button without actionURL', { msgtype: 'actionCard', actionCard: { title: 't', text: 'x', btns: [{ title: 'a' }] } }, 400402],
    ['feedCard', { msgtype: 'feedCard', feedCard: { links: [{ title: 't', messageURL: 'https://a', picURL: 'https://p' }] } }, 0],
    ['feedCard link without picURL', { msgtype: 'feedCard', feedCard: { links: [{ title: 't', messageURL: 'https://a' }] } }, 400402],
    ['image is not a webhook type', { msgtype: 'image', image: { picURL: 'x' } }, 400105],
  ];
  it.each(types)('%s → %i', async (_n, body, code) => {
    expect((await post(`access_token=${OPEN}`, body)).body.errcode).toBe(code);
  });

  it('the missing-field error names the field the way DingTalk does', async () => {
    const res = await post(`access_token=${OPEN}`, { msgtype: 'markdown', markdown: { text: 'x' } });
    expect(res.body.errmsg).toContain('参数 markdown --》 title 缺失');
  });

  it('a mention notifies only when @mobile / @userid also appears in the text', async () => {
    await post(`access_token=${OPEN}`, textMsg('disk full @13900000001', { atMobiles: ['13900000001', '13900000002'], atUserIds: ['carol'] }));
    const [msg] = await inbox(ctx.url, 'robots', 'open');
    expect(msg!.mentions).toEqual({ notified: ['13900000001'], notNotified: ['13900000002', 'carol'], all: false });
  });

  it('bodies over 20 000 bytes are refused with 460101', async () => {
    const base = JSON.stringify(textMsg('')).length;
    expect((await post(`access_token=${OPEN}`, textMsg('x'.repeat(20_000 - base)))).body.errcode).toBe(0);
    const res = await post(`access_token=${OPEN}`, textMsg('x'.repeat(20_001 - base)));
    expect(res.body).toMatchObject({ errcode: 460101, errmsg: 'message too long, exceed 20000 bytes' });
  });

  it('20 in a sliding minute, then 130101 and a 10-minute block', async () => {
    for (let i = 0; i < 20; i++) expect((await post(`access_token=${OPEN}`, textMsg(`m${i}`))).body.errcode).toBe(0);
    expect((await post(`access_token=${OPEN}`, textMsg('21st'))).body).toEqual({
      errcode: 130101,
      errmsg: 'send too fast, exceed 20 times per minute',
      request_id: expect.any(String),
    });
    await advance(ctx.url, 61_000);
    expect((await post(`access_token=${OPEN}`, textMsg('still blocked'))).body.errcode).toBe(130101);
    await advance(ctx.url, 540_000);
    expect((await post(`access_token=${OPEN}`, textMsg('free again'))).body.errcode).toBe(0);
    expect(await inbox(ctx.url, 'robots', 'open')).toHaveLength(21);
  });

  it('the window slides: 20 spread over the minute allow another once the oldest is 60 s old', async () => {
    for (let i = 0; i < 20; i++) {
      expect((await post(`access_token=${OPEN}`, textMsg(`m${i}`))).body.errcode).toBe(0);
      await advance(ctx.url, 2_000);
    }
    await advance(ctx.url, 21_000);
    expect((await post(`access_token=${OPEN}`, textMsg('slid'))).body.errcode).toBe(0);
  });

  it('the rate-limit code can be switched to 410100', async () => {
    await setSwitches(ctx.url, { robotRateLimitCode: 410100 });
    for (let i = 0; i < 20; i++) await post(`access_token=${OPEN}`, textMsg(`m${i}`));
    expect((await post(`access_token=${OPEN}`, textMsg('x'))).body.errcode).toBe(410100);
  });

  it('msgUuid makes a retried send idempotent', async () => {
    const body = { ...textMsg('once'), msgUuid: 'uuid-1' };
    expect((await post(`access_token=${OPEN}`, body)).body.errcode).toBe(0);
    expect((await post(`access_token=${OPEN}`, body)).body.errcode).toBe(0);
    expect(await inbox(ctx.url, 'robots', 'open')).toHaveLength(1);
  });
});
