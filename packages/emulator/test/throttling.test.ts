import { describe, expect, it } from 'vitest';
import { advance, newApi, oapi, SEND, setSwitches, text, token, useEmulator } from './helpers.js';

describe('throttling', () => {
  const ctx = useEmulator();

  it('20 calls a second per app per API; the 21st in the same second is 90018; other APIs are counted apart', async () => {
    const tok = await token(ctx.url);
    const calls = await Promise.all(
      Array.from({ length: 21 }, (_, i) => oapi(ctx.url, SEND, tok, { agent_id: 2001, userid_list: 'alice', msg: text(`q${i}`) })),
    );
    const codes = calls.map((c) => c.body.errcode);
    expect(codes.filter((c) => c === 0)).toHaveLength(20);
    expect(codes.filter((c) => c === 90018)).toHaveLength(1);
    expect((await oapi(ctx.url, '/topapi/v2/user/get', tok, { userid: 'alice' })).body.errcode).toBe(0);
    await advance(ctx.url, 1001);
    expect((await oapi(ctx.url, SEND, tok, { agent_id: 2001, userid_list: 'alice', msg: text('later') })).body.errcode).toBe(0);
  });

  it('the new API answers the same limit with HTTP 403 QpsLimitForAppkeyAndApi', async () => {
    const tok = await token(ctx.url);
    const body = { robotCode: 'dingmainapp', userIds: ['alice'], msgKey: 'sampleText', msgParam: '{"content":"x"}' };
    const res = await Promise.all(Array.from({ length: 21 }, () => newApi(ctx.url, 'POST', '/v1.0/robot/oToMessages/batchSend', tok, body)));
    const limited = res.filter((r) => r.status === 403);
    expect(limited).toHaveLength(1);
    expect(limited[0]!.body.code).toBe('Forbidden.AccessDenied.QpsLimitForAppkeyAndApi');
  });

  it('the monthly quota is a switch: off by default, 90020 when exhausted, directory calls exempt', async () => {
    await setSwitches(ctx.url, { monthlyQuota: 2 });
    const tok = await token(ctx.url);
    for (let i = 0; i < 2; i++) expect((await oapi(ctx.url, SEND, tok, { agent_id: 2001, userid_list: 'alice', msg: text(`m${i}`) })).body.errcode).toBe(0);
    expect((await oapi(ctx.url, SEND, tok, { agent_id: 2001, userid_list: 'alice', msg: text('m3') })).body.errcode).toBe(90020);
    expect((await oapi(ctx.url, '/topapi/v2/user/get', tok, { userid: 'alice' })).body.errcode).toBe(0);
    const api = await newApi(ctx.url, 'POST', '/v1.0/robot/oToMessages/batchSend', tok, { robotCode: 'dingmainapp', userIds: ['alice'], msgKey: 'sampleText', msgParam: '{"content":"x"}' });
    expect(api).toMatchObject({ status: 403, body: { code: 'Forbidden.AccessDenied.ApiCountLimitForOrg' } });
  });
});
