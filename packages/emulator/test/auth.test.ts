import { describe, expect, it } from 'vitest';
import { APP, advance, getJson, newApi, oapi, token, useEmulator } from './helpers.js';

describe('access tokens', () => {
  const ctx = useEmulator();

  it('gettoken issues a token valid 7200 s and returns the same one while it is valid', async () => {
    const first = (await getJson(`${ctx.url}/gettoken?appkey=${APP.appKey}&appsecret=${APP.appSecret}`)).body;
    expect(first).toMatchObject({ errcode: 0, errmsg: 'ok', expires_in: 7200 });
    expect(first.access_token).toMatch(/^[0-9a-f]{32}$/);
    await advance(ctx.url, 3_600_000);
    expect(await token(ctx.url)).toBe(first.access_token);
  });

  it('gettoken refuses a wrong secret and missing parameters with their codes', async () => {
    expect((await getJson(`${ctx.url}/gettoken?appkey=${APP.appKey}&appsecret=nope`)).body.errcode).toBe(40089);
    expect((await getJson(`${ctx.url}/gettoken?appkey=nobody&appsecret=x`)).body.errcode).toBe(40089);
    expect((await getJson(`${ctx.url}/gettoken?appsecret=x`)).body.errcode).toBe(41002);
    expect((await getJson(`${ctx.url}/gettoken?appkey=${APP.appKey}`)).body.errcode).toBe(41004);
  });

  it('the new-API token is the same token and works on oapi, with HTTP 200 and no errcode', async () => {
    const res = await getJson(`${ctx.url}/v1.0/oauth2/accessToken`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ appKey: APP.appKey, appSecret: APP.appSecret }),
    });
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ accessToken: expect.any(String), expireIn: 7200 });
    expect(await token(ctx.url)).toBe(res.body.accessToken);
    const lookup = await oapi(ctx.url, '/topapi/v2/user/getbymobile', res.body.accessToken, { mobile: '13900000001' });
    expect(lookup.body).toMatchObject({ errcode: 0, result: { userid: 'alice' } });
  });

  it('the new-API token endpoint refuses form bodies and bad credentials in its own error shape', async () => {
    const form = await getJson(`${ctx.url}/v1.0/oauth2/accessToken`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: `appKey=${APP.appKey}&appSecret=${APP.appSecret}`,
    });
    expect(form.status).toBe(400);
    expect(form.body).toMatchObject({ code: 'Missingbody', requestid: expect.stringMatching(/^[0-9A-F-]{36}$/) });
    const bad = await getJson(`${ctx.url}/v1.0/oauth2/accessToken`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ appKey: APP.appKey, appSecret: 'wrong' }),
    });
    expect(bad.status).toBe(400);
    expect(bad.body.code).toBe('invalidClientIdOrSecret');
  });

  it('a token expires after 7200 s on the emulator clock: 42001 (88 style on topapi, 400 on the new API)', async () => {
    const tok = await token(ctx.url);
    await advance(ctx.url, 7_201_000);
    const top = await oapi(ctx.url, '/topapi/v2/user/getbymobile', tok, { mobile: '13900000001' });
    expect(top.status).toBe(200);
    expect(top.body).toMatchObject({ errcode: 88, sub_code: '42001' });
    const legacy = await getJson(`${ctx.url}/user/get_by_mobile?access_token=${tok}&mobile=13900000001`);
    expect(legacy.body.errcode).toBe(42001);
    const api = await newApi(ctx.url, 'GET', '/v1.0/robot/oToMessages/readStatus?robotCode=x&processQueryKey=y', tok);
    expect(api.status).toBe(400);
    expect(api.body.code).toBe('InvalidAuthentication');
    const fresh = await token(ctx.url);
    expect(fresh).not.toBe(tok);
  });

  it('an unknown token is 88/40014 on topapi, 40014 on legacy paths, 41001 when missing', async () => {
    const top = await oapi(ctx.url, '/topapi/v2/user/get', 'bogus', { userid: 'alice' });
    expect(top.body).toMatchObject({ errcode: 88, sub_code: '40014', errmsg: 'ding talk error[subcode=40014,submsg=不合法的access_token]' });
    expect((await getJson(`${ctx.url}/chat/get?access_token=bogus&chatid=chat1`)).body.errcode).toBe(40014);
    expect((await getJson(`${ctx.url}/chat/get?chatid=chat1`)).body.errcode).toBe(41001);
  });

  it('tokens are per app: one app cannot use another app\'s agent', async () => {
    const tok = await token(ctx.url);
    const res = await oapi(ctx.url, '/topapi/message/corpconversation/asyncsend_v2', tok, {
      agent_id: 2002,
      userid_list: 'alice',
      msg: { msgtype: 'text', text: { content: 'x' } },
    });
    expect(res.body.errcode).toBe(40056);
  });
});
