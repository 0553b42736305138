import { describe, expect, it } from 'vitest';
import { DingTalkError, TokenManager } from '../src/index.js';
import { APP, advance, appClient, calls, inject, SEND, useEmulator } from './helpers.js';

describe('access tokens', () => {
  const ctx = useEmulator();

  it('1 000 concurrent calls on a cold client cause exactly one token request', async () => {
    const app = appClient(ctx.url);
    const tokens = await Promise.all(Array.from({ length: 1000 }, () => app.accessToken()));
    expect(new Set(tokens).size).toBe(1);
    expect(await calls(ctx.url, '/v1.0/oauth2/accessToken')).toHaveLength(1);
    expect(app.tokens.fetches).toBe(1);
    await app.close();
  });

  it('many concurrent API calls on a cold client share one token request', async () => {
    const app = appClient(ctx.url);
    await Promise.all(Array.from({ length: 15 }, (_, i) => app.getUserIdByMobile(`1370000${String(i).padStart(4, '0')}`)));
    expect(await calls(ctx.url, '/v1.0/oauth2/accessToken')).toHaveLength(1);
    await app.close();
  });

  it('the legacy /gettoken endpoint can be used instead, and its token works on the new API', async () => {
    const app = appClient(ctx.url, { tokenEndpoint: 'gettoken' });
    const [batch] = await app.sendRobotOto(['u1'], { type: 'text', content: 'hi' });
    expect(batch!.processQueryKey).toBeTruthy();
    expect(await calls(ctx.url, '/gettoken')).toHaveLength(1);
    await app.close();
  });

  it('a token revoked mid-flight is dropped, fetched again, and the call succeeds after one refresh', async () => {
    const app = appClient(ctx.url);
    await app.accessToken();
    await inject(ctx.url, { path: SEND, kind: 'revokeToken', count: 1 });
    const taskId = await app.sendWorkNoticeOnce({ userIds: ['u1'] }, { type: 'text', content: 'after revoke' });
    expect(taskId).toBeGreaterThan(0);
    const sends = await calls(ctx.url, SEND);
    expect(sends.map((c) => c.errcode)).toEqual([88, 0]);
    expect(await calls(ctx.url, '/v1.0/oauth2/accessToken')).toHaveLength(2);
    await app.close();
  });

  it('an expired token (emulator clock past 7200 s) is refreshed transparently', async () => {
    const app = appClient(ctx.url);
    const first = await app.accessToken();
    await advance(ctx.url, 7_300_000);
    expect(await app.getUserIdByMobile('13700000001')).toBe('u1');
    expect(await app.accessToken()).not.toBe(first);
    await app.close();
  });

  it('a wrong secret is a permanent, typed error that never shows the secret', async () => {
    const app = appClient(ctx.url, {}, { ...APP, appSecret: 'definitely-wrong-secret' });
    const err = await app.accessToken().catch((e) => e);
    expect(err).toBeInstanceOf(DingTalkError);
    expect(err).toMatchObject({ code: 'invalidClientIdOrSecret', errorClass: 'permanent', requestId: expect.any(String) });
    expect(err.message).not.toContain('definitely-wrong-secret');
    expect(await calls(ctx.url, '/v1.0/oauth2/accessToken')).toHaveLength(1);
    await app.close();
  });

  it('refreshes ahead of expiry and forgets only the token that was rejected', async () => {
    let now = 0;
    let n = 0;
    const manager = new TokenManager({ key: 'k', refreshAheadMs: 300_000, now: () => now, fetch: async () => ({ token: `t${++n}`, expiresInSec: 7200 }) });
    expect(await manager.get()).toBe('t1');
    now = 6_800_000;
    expect(await manager.get()).toBe('t1');
    now = 6_900_001;
    expect(await manager.get()).toBe('t2');
    await manager.invalidate('t1');
    expect(await manager.get()).toBe('t2');
    await manager.invalidate('t2');
    expect(await manager.get()).toBe('t3');
  });
});
