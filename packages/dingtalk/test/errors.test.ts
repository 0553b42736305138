import { describe, expect, it } from 'vitest';
import {
  classify,
  DEFAULT_TODO,
  DingTalkError,
  egressIpOf,
  NEW_API_ERRORS,
  OAPI_ERRORS,
  RobotClient,
  robotSecurityAdvice,
  whatToDo,
} from '../src/index.js';
import { appClient, calls, inject, OPEN_ROBOT_TOKEN, ROBOT_TOKEN, SEND, useEmulator } from './helpers.js';

describe('error table', () => {
  it('classifies every code once, with waits for rate limits', () => {
    expect(classify({ errcode: -1 }).class).toBe('retry');
    expect(classify({ errcode: 90018 })).toMatchObject({ class: 'rate_limited', waitMs: 1000 });
    expect(classify({ errcode: 130101 })).toMatchObject({ class: 'rate_limited', waitMs: 600_000 });
    expect(classify({ errcode: 410100 })).toMatchObject({ class: 'rate_limited', waitMs: 600_000 });
    expect(classify({ errcode: 42001 }).class).toBe('refresh_token');
    expect(classify({ errcode: 88, subCode: '40014' }).class).toBe('refresh_token');
    expect(classify({ errcode: 88, subCode: '60011' }).class).toBe('permanent');
    expect(classify({ errcode: 310000 }).class).toBe('permanent');
    expect(classify({ code: 'InvalidAuthentication' }).class).toBe('refresh_token');
    expect(classify({ code: 'Forbidden.AccessDenied.QpsLimitForAppkeyAndApi' })).toMatchObject({ class: 'rate_limited', waitMs: 1000 });
    expect(classify({ code: 'miss.param.contentOfText' }).class).toBe('permanent');
    expect(classify({ httpStatus: 502 }).class).toBe('retry');
    expect(classify({ errcode: 123456789 }).class).toBe('permanent');
    for (const info of [...Object.values(OAPI_ERRORS), ...Object.values(NEW_API_ERRORS)]) {
      if (info.class === 'rate_limited') expect(info.waitMs).toBeGreaterThan(0);
    }
  });
});

describe('what to do', () => {
  const CJK = /\p{Script=Han}/u;
  const entries = [...Object.entries(OAPI_ERRORS), ...Object.entries(NEW_API_ERRORS)];

  it('gives every code a line in English and in Chinese; a permanent one names its own fix', () => {
    expect(entries.length).toBeGreaterThan(90);
    for (const [code, info] of entries) {
      expect(info.todo.en.trim(), code).not.toBe('');
      expect(info.todo.zh.trim(), code).not.toBe('');
      expect(info.todo.zh, code).toMatch(CJK);
      if (info.class === 'permanent') {
        expect(info.todo.en, code).not.toBe(DEFAULT_TODO.permanent.en);
        expect(info.todo.zh, code).not.toBe(DEFAULT_TODO.permanent.zh);
      }
    }
    for (const cls of ['retry', 'refresh_token', 'rate_limited', 'permanent'] as const) expect(DEFAULT_TODO[cls].zh).toMatch(CJK);
  });

  it('points first-hour configuration mistakes at the place in the console', () => {
    for (const facts of [{ errcode: 40089 }, { code: 'invalidClientIdOrSecret' }]) expect(whatToDo(facts).en).toContain('凭证与基础信息');
    expect(whatToDo({ errcode: 40056 }).en).toContain('apps[].agentId');
    expect(whatToDo({ errcode: 60020 }).en).toContain('服务器出口IP');
    expect(whatToDo({ code: 'Forbidden.AccessDenied.IpNotInWhiteList' })).toEqual(whatToDo({ errcode: 60020 }));
    expect(whatToDo({ code: 'Forbidden.AccessDenied.AccessTokenPermissionDenied' })).toEqual(whatToDo({ errcode: 60011 }));
    expect(whatToDo({ errcode: 300001 }).en).toContain('群设置 → 机器人');
    expect(whatToDo({ errcode: 310000 }).en).toMatch(/keyword.*secret.*clock.*IP/);
    expect(whatToDo({ errcode: 42001 })).toEqual(DEFAULT_TODO.refresh_token);
    expect(whatToDo({ errcode: -1 })).toEqual(DEFAULT_TODO.retry);
    expect(whatToDo({ errcode: 123456789 })).toEqual(DEFAULT_TODO.permanent);
    expect(whatToDo({ httpStatus: 429 })).toEqual(DEFAULT_TODO.rate_limited);
  });

  it('reads errcode 88 by its sub_code', () => {
    const permission = whatToDo({ errcode: 88, subCode: '60011' });
    expect(permission).toEqual(OAPI_ERRORS[60011]!.todo);
    expect(permission.en).toContain('权限管理');
    expect(permission.en).toContain('qyapi_get_member_by_mobile');
    expect(permission.en).toContain('qyapi_robot_sendmsg');
    expect(permission.zh).toContain('权限管理');
    expect(whatToDo({ errcode: 88, subCode: '60020' })).toEqual(OAPI_ERRORS[60020]!.todo);
    expect(classify({ errcode: 88, subCode: '40014' })).toMatchObject({ class: 'refresh_token', todo: DEFAULT_TODO.refresh_token });
    const other = classify({ errcode: 88, subCode: '50002' });
    expect(other.class).toBe('permanent');
    expect(other.todo.en).toContain('sub_code 50002');
    expect(other.todo.zh).toMatch(CJK);
  });

  it('tells which robot security setting refused a message, in every errmsg form', () => {
    const cases: [string, string][] = [
      ['keywords not in content', 'keyword'],
      ['description:关键词不匹配;solution:请联系群管理员查看此机器人的关键词，并在发送的信息中包含此关键词;', 'keyword'],
      ['错误描述:关键词不匹配;解决方案:请联系群管理员查看此机器人的关键词', 'keyword'],
      ['sign not match', 'signature'],
      ['sign not match, more: [https://ding-doc.dingtalk.com/doc#/serverapi2/qf2nxq]', 'signature'],
      [
        'description:机器人发送签名不匹配;solution:请确认签名和生成签名的时间戳必须都放在调用的网址中，请确认机器人的密钥加密和填写正确;link:https://open.dingtalk.com/document/;',
        'signature',
      ],
      ['invalid timestamp', 'timestamp'],
      ['invalid timestamp, more: [https://ding-doc.dingtalk.com/doc#/serverapi2/qf2nxq]', 'timestamp'],
      ['description:机器人发送签名过期;solution:签名生成时间和发送时间请保持在 timestampms 以内;', 'timestamp'],
      ['ip 1.2.3.4 not in whitelist', 'ip'],
      ['something else entirely', 'unknown'],
    ];
    for (const [errmsg, cause] of cases) {
      const advice = robotSecurityAdvice(errmsg);
      expect(advice.cause, errmsg).toBe(cause);
      expect(advice.todo.en, errmsg).not.toBe('');
      expect(advice.todo.zh, errmsg).toMatch(CJK);
    }
    expect(robotSecurityAdvice('keywords not in content').todo.en).toContain('自定义关键词');
    expect(robotSecurityAdvice('sign not match').todo.en).toContain('robots[].secret');
    expect(robotSecurityAdvice('invalid timestamp').todo.en).toContain('clock');
    expect(robotSecurityAdvice('ip 1.2.3.4 not in whitelist')).toMatchObject({ cause: 'ip', ip: '1.2.3.4' });
    expect(robotSecurityAdvice('ip 1.2.3.4 not in whitelist').todo.en).toContain('(1.2.3.4)');
    expect(robotSecurityAdvice('something else entirely').todo).toEqual(OAPI_ERRORS[310000]!.todo);
  });

  it('finds the egress IP an IP-whitelist answer names', () => {
    expect(egressIpOf('访问ip不在白名单之中,request ip=203.0.113.7 appKey(dingxxx)')).toBe('203.0.113.7');
    expect(egressIpOf('ip 203.0.113.7 not in whitelist')).toBe('203.0.113.7');
    expect(egressIpOf('ip not in white list, ip: 203.0.113.7')).toBe('203.0.113.7');
    expect(egressIpOf('ip not in white list, ip: 203.0.113.7.')).toBe('203.0.113.7');
    expect(egressIpOf('ip 2001:db8::7 not in whitelist')).toBe('2001:db8::7');
    expect(egressIpOf('ip not in white list, ip: ::ffff:198.51.100.4')).toBe('198.51.100.4');
    expect(egressIpOf('访问ip不在白名单之中')).toBeUndefined();
    expect(egressIpOf('ip 999.1.2.3 not in whitelist, at 12:30:45')).toBeUndefined();
  });
});

describe('failures against the emulator', () => {
  const ctx = useEmulator();
  const text = { type: 'text' as const, content: 'x' };

  it('-1 busy is retried with backoff and the call succeeds', async () => {
    const app = appClient(ctx.url);
    await inject(ctx.url, { path: SEND, kind: 'busy', count: 2 });
    expect(await app.sendWorkNoticeOnce({ userIds: ['u1'] }, text)).toBeGreaterThan(0);
    expect((await calls(ctx.url, SEND)).map((c) => c.errcode)).toEqual([-1, -1, 0]);
    await app.close();
  });

  it('90018 (20 calls/s per API) is waited out and retried', async () => {
    const app = appClient(ctx.url);
    const ids = await Promise.all(Array.from({ length: 25 }, (_, i) => app.sendWorkNoticeOnce({ userIds: [`u${i}`] }, { type: 'text', content: `q${i}` })));
    expect(new Set(ids).size).toBe(25);
    const codes = (await calls(ctx.url, SEND)).map((c) => c.errcode);
    expect(codes.filter((c) => c === 90018).length).toBeGreaterThan(0);
    expect(codes.filter((c) => c === 0)).toHaveLength(25);
    await app.close();
  });

  it('an HTTP 5xx page is a retryable error; retried and then fine', async () => {
    const app = appClient(ctx.url);
    await inject(ctx.url, { path: '/topapi/v2/user/getbymobile', kind: 'http5xx', status: 502, count: 1 });
    expect(await app.getUserIdByMobile('13700000002')).toBe('u2');
    await app.close();
  });

  it('a dropped connection on a send is not repeated blindly: the error says it may have gone through', async () => {
    const app = appClient(ctx.url);
    await app.accessToken();
    await inject(ctx.url, { path: SEND, kind: 'drop', count: 1 });
    const err = await app.sendWorkNoticeOnce({ userIds: ['u1'] }, text).catch((e) => e);
    expect(err).toBeInstanceOf(DingTalkError);
    expect(err).toMatchObject({ errorClass: 'retry', mayHaveSucceeded: true });
    expect(await calls(ctx.url, SEND)).toHaveLength(1);
    await app.close();
  });

  it('a dropped connection on a read is retried (reads are idempotent)', async () => {
    const app = appClient(ctx.url);
    await inject(ctx.url, { path: '/topapi/v2/user/get', kind: 'drop', count: 1 });
    expect((await app.getUser('u3')).name).toBe('User 3');
    await app.close();
  });

  it('310000 (wrong robot secret) is permanent, not retried, with a clear message', async () => {
    const robot = new RobotClient({ webhook: `${ctx.url}/robot/send?access_token=${ROBOT_TOKEN}`, secret: 'SECwrong', retry: { baseDelayMs: 10 } });
    const err = await robot.send({ type: 'text', content: 'x' }).catch((e) => e);
    expect(err).toMatchObject({ code: 310000, errorClass: 'permanent', dingMessage: 'sign not match' });
    expect(err.message).toContain('robot security check failed');
    expect(err.todo).toEqual(OAPI_ERRORS[310000]!.todo);
    expect(robotSecurityAdvice(err.dingMessage).cause).toBe('signature');
    expect(err.message).not.toContain(ROBOT_TOKEN);
    expect(err.message).not.toContain('SECwrong');
    expect(await calls(ctx.url, '/robot/send')).toHaveLength(1);
    await robot.close();
  });

  it('130101 is classified as rate-limited with a 10-minute wait and not retried', async () => {
    const robot = new RobotClient({ webhook: `${ctx.url}/robot/send?access_token=${OPEN_ROBOT_TOKEN}` });
    for (let i = 0; i < 20; i++) await robot.send({ type: 'text', content: `m${i}` });
    const err = await robot.send({ type: 'text', content: '21st' }).catch((e) => e);
    expect(err).toMatchObject({ code: 130101, errorClass: 'rate_limited', waitMs: 600_000, retryable: true });
    expect(await calls(ctx.url, '/robot/send')).toHaveLength(21);
    await robot.close();
  });

  it('reports each call to onCall without tokens or secrets', async () => {
    const seen: string[] = [];
    const app = appClient(ctx.url, { onCall: (info) => seen.push(JSON.stringify(info)) });
    const token = await app.accessToken();
    await app.getUserIdByMobile('13700000009');
    expect(seen.map((s) => JSON.parse(s).api)).toEqual(['/v1.0/oauth2/accessToken', '/topapi/v2/user/getbymobile']);
    expect(JSON.parse(seen[1]!)).toMatchObject({ method: 'POST', httpStatus: 200, code: 0, durationMs: expect.any(Number) });
    for (const s of seen) {
      expect(s).not.toContain(token);
      expect(s).not.toContain('main-secret-value-7f3a');
    }
    await app.close();
  });

  it('the codes of one setup problem say which (what doctor diagnoses), whatever their family or envelope', () => {
    const setupOf = (facts: Parameters<typeof classify>[0]) => classify(facts).setup;
    expect([setupOf({ errcode: 40089 }), setupOf({ errcode: 40001 }), setupOf({ code: 'invalidClientIdOrSecret' })]).toEqual(['credentials', 'credentials', 'credentials']);
    expect([setupOf({ errcode: 60011 }), setupOf({ errcode: 88, subCode: '60011' }), setupOf({ code: 'Forbidden.AccessDenied.AccessTokenPermissionDenied' })]).toEqual(['permission', 'permission', 'permission']);
    expect([setupOf({ errcode: 60020 }), setupOf({ errcode: 88, subCode: '60020' }), setupOf({ code: 'Forbidden.AccessDenied.IpNotInWhiteList' })]).toEqual(['ipWhitelist', 'ipWhitelist', 'ipWhitelist']);
    expect([300001, 300005, 400101, 400106].map((errcode) => setupOf({ errcode }))).toEqual(['robotToken', 'robotToken', 'robotToken', 'robotToken']);
    expect([setupOf({ errcode: -1 }), setupOf({ errcode: 40014 }), setupOf({ errcode: 130101 }), setupOf({ errcode: 88, subCode: '40014' })]).toEqual([undefined, undefined, undefined, undefined]);
  });
});
