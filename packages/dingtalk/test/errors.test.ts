import { describe, expect, it } from 'vitest';
import { classify, DingTalkError, NEW_API_ERRORS, OAPI_ERRORS, RobotClient } from '../src/index.js';
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
});
