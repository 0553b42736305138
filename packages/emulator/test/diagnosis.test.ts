import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseOrg, type RunningEmulator, startEmulator } from '../src/index.js';
import { APP, getJson, newApi, OTHER_APP, oapi, testOrg, token } from './helpers.js';

/**
 * What `dingpush doctor` diagnoses, as the org file models it (design.md "The emulator's inspector"): an app's IP
 * whitelist (60020), its permission groups (88 / sub_code 60011) and a DingTalk clock that runs off real time.
 */
describe('org file keys for diagnosis', () => {
  const HOUR = 3_600_000;
  let emu: RunningEmulator;
  beforeAll(async () => {
    const org = testOrg();
    org.apps = [
      { ...APP, scopes: ['workNotice'] },
      { ...OTHER_APP, ipWhitelist: ['203.0.113.0/24'] },
      { name: 'open', appKey: 'dingopenapp', appSecret: 'open-secret', agentId: 2003, ipWhitelist: ['127.0.0.1'] },
    ];
    org.clockOffsetMs = -2 * HOUR;
    emu = await startEmulator({ org: parseOrg(org), port: 0 });
  });
  afterAll(async () => emu?.close());

  it('an app whose whitelist lacks the caller answers 60020 naming the address, on gettoken and on the new API', async () => {
    const res = await getJson(`${emu.url}/gettoken?appkey=${OTHER_APP.appKey}&appsecret=${OTHER_APP.appSecret}`);
    expect(res.body.errcode).toBe(60020);
    expect(res.body.errmsg).toMatch(/^访问ip不在白名单之中,request ip=127\.0\.0\.1 /);
    const newStyle = await getJson(`${emu.url}/v1.0/oauth2/accessToken`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ appKey: OTHER_APP.appKey, appSecret: OTHER_APP.appSecret }),
    });
    expect(newStyle.status).toBe(403);
    expect(newStyle.body).toMatchObject({ code: 'Forbidden.AccessDenied.IpNotInWhiteList', message: expect.stringContaining('127.0.0.1') });
    // A whitelist that holds the caller lets it through.
    const allowed = await getJson(`${emu.url}/gettoken?appkey=dingopenapp&appsecret=open-secret`);
    expect(allowed.body.errcode).toBe(0);
  });

  it('a call outside the app\'s permission groups answers 88 with sub_code 60011; inside them it is served', async () => {
    const tok = await token(emu.url, APP);
    const contacts = await oapi(emu.url, '/topapi/v2/department/listsub', tok, { dept_id: 1 });
    expect(contacts.body).toMatchObject({ errcode: 88, sub_code: '60011', sub_msg: '没有调用该接口的权限' });
    const list = await oapi(emu.url, '/topapi/v2/user/list', tok, { dept_id: 1, cursor: 0, size: 100 });
    expect(list.body).toMatchObject({ errcode: 88, sub_code: '60011' });
    const legacy = await getJson(`${emu.url}/user/get_by_mobile?access_token=${tok}&mobile=13900000001`);
    expect(legacy.body.errcode).toBe(60011);
    const robot = await newApi(emu.url, 'GET', `/v1.0/robot/oToMessages/readStatus?robotCode=${APP.robotCode}&processQueryKey=x`, tok);
    expect(robot.status).toBe(403);
    expect(robot.body.code).toBe('Forbidden.AccessDenied.AccessTokenPermissionDenied');
    // workNotice is held: the call gets past the permission check to the task lookup.
    const progress = await oapi(emu.url, '/topapi/message/corpconversation/getsendprogress', tok, { agent_id: APP.agentId, task_id: 1 });
    expect(progress.body.errcode).toBe(40035);
  });

  it('the clock offset moves DingTalk\'s Date header and its signature window', async () => {
    const res = await fetch(`${emu.url}/gettoken?appkey=${APP.appKey}&appsecret=${APP.appSecret}`);
    const skew = Date.parse(res.headers.get('date') ?? '') - Date.now();
    expect(Math.abs(skew + 2 * HOUR)).toBeLessThan(5_000);
    const { now } = (await getJson(`${emu.url}/_emulator/api/clock`)).body;
    expect(Math.abs(now - (Date.now() - 2 * HOUR))).toBeLessThan(5_000);
    // A signature made with the real time is two hours ahead of this DingTalk: refused as expired (±1 h).
    const { robotSign } = await import('../src/signing.js');
    const ts = String(Date.now());
    const signed = await getJson(`${emu.url}/robot/send?access_token=${'sign'.padEnd(64, '0')}&timestamp=${ts}&sign=${encodeURIComponent(robotSign('SECtestsecret0123456789', ts))}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ msgtype: 'text', text: { content: 'hi' } }),
    });
    expect(signed.body).toMatchObject({ errcode: 310000, errmsg: expect.stringContaining('invalid timestamp') });
    // reset keeps the org file's offset.
    await fetch(`${emu.url}/_emulator/api/reset`, { method: 'POST' });
    const after = (await getJson(`${emu.url}/_emulator/api/clock`)).body.now;
    expect(Math.abs(after - (Date.now() - 2 * HOUR))).toBeLessThan(5_000);
  });
});
