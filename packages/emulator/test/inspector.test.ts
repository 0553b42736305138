import { describe, expect, it } from 'vitest';
import { fault, getJson, inbox, oapi, SEND, text, token, useEmulator } from './helpers.js';

describe('inspector', () => {
  const ctx = useEmulator({ deliveryMs: 0 });
  const send = async (tok: string, content = 'x') => oapi(ctx.url, SEND, tok, { agent_id: 2001, userid_list: 'alice', msg: text(content) });

  it('logs every API call with method, path, app or robot and errcode', async () => {
    const tok = await token(ctx.url);
    await send(tok);
    await oapi(ctx.url, '/topapi/v2/user/get', tok, { userid: 'ghost' });
    await fetch(`${ctx.url}/robot/send?access_token=${'open'.padEnd(64, '0')}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(text('hi')) });
    const { calls } = (await getJson(`${ctx.url}/_emulator/api/calls`)).body;
    expect(calls.map((c: { path: string }) => c.path)).toEqual(['/gettoken', SEND, '/topapi/v2/user/get', '/robot/send']);
    expect(calls[1]).toMatchObject({ method: 'POST', app: 'main', status: 200, errcode: 0 });
    expect(calls[2]).toMatchObject({ errcode: 33012 });
    expect(calls[3]).toMatchObject({ robot: 'open', errcode: 0 });
    const filtered = (await getJson(`${ctx.url}/_emulator/api/calls?path=${encodeURIComponent(SEND)}`)).body.calls;
    expect(filtered).toHaveLength(1);
  });

  it('fault "busy" answers -1 for the given count, then the path works again', async () => {
    const tok = await token(ctx.url);
    await fault(ctx.url, { path: SEND, kind: 'busy', count: 2 });
    expect((await send(tok, 'a')).body).toMatchObject({ errcode: -1, errmsg: '系统繁忙' });
    expect((await send(tok, 'b')).body.errcode).toBe(-1);
    expect((await send(tok, 'c')).body.errcode).toBe(0);
  });

  it('fault "http5xx" answers an HTML error page with the status', async () => {
    const tok = await token(ctx.url);
    await fault(ctx.url, { path: SEND, kind: 'http5xx', status: 503, count: 1 });
    const res = await send(tok);
    expect(res.status).toBe(503);
    expect(res.body.text).toContain('<html>');
  });

  it('fault "drop" closes the connection without an answer', async () => {
    const tok = await token(ctx.url);
    await fault(ctx.url, { path: SEND, kind: 'drop', count: 1 });
    await expect(send(tok)).rejects.toThrow();
    expect((await send(tok)).body.errcode).toBe(0);
  });

  it('fault "latency" delays the answer', async () => {
    const tok = await token(ctx.url);
    await fault(ctx.url, { path: SEND, kind: 'latency', latencyMs: 300, count: 1 });
    const started = performance.now();
    expect((await send(tok)).body.errcode).toBe(0);
    expect(performance.now() - started).toBeGreaterThanOrEqual(290);
  });

  it('fault "revokeToken" invalidates the token mid-flight; a new gettoken issues a different, working one', async () => {
    const tok = await token(ctx.url);
    await fault(ctx.url, { path: SEND, kind: 'revokeToken', count: 1 });
    expect((await send(tok)).body).toMatchObject({ errcode: 88, sub_code: '40014' });
    const fresh = await token(ctx.url);
    expect(fresh).not.toBe(tok);
    expect((await send(fresh)).body.errcode).toBe(0);
  });

  it('a fault by rate applies to a share of calls; wrong fault bodies are 400 naming the field', async () => {
    const tok = await token(ctx.url);
    await fault(ctx.url, { path: '*', kind: 'busy', rate: 1 });
    expect((await send(tok)).body.errcode).toBe(-1);
    await fetch(`${ctx.url}/_emulator/api/faults`, { method: 'DELETE' });
    expect((await send(tok, 'y')).body.errcode).toBe(0);
    const bad = await getJson(`${ctx.url}/_emulator/api/faults`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ path: SEND, kind: 'explode', count: 1 }) });
    expect(bad.status).toBe(400);
    expect(bad.body.error.path).toBe('kind');
  });

  it('reset empties inboxes, the call log and tokens; org shows what was loaded', async () => {
    const tok = await token(ctx.url);
    await send(tok);
    expect(await inbox(ctx.url, 'users', 'alice')).toHaveLength(1);
    await fetch(`${ctx.url}/_emulator/api/reset`, { method: 'POST' });
    expect(await inbox(ctx.url, 'users', 'alice')).toHaveLength(0);
    expect((await getJson(`${ctx.url}/_emulator/api/calls`)).body.calls).toHaveLength(0);
    expect((await send(tok)).body.sub_code).toBe('40014');
    const org = (await getJson(`${ctx.url}/_emulator/api/org`)).body;
    expect(org.apps.map((a: { name: string }) => a.name)).toEqual(['main', 'other']);
    expect(org.switches.robotRateLimitCode).toBe(130101);
  });
});

describe('inspector: lost answers', () => {
  const ctx = useEmulator({ deliveryMs: 0 });

  it('fault "dropAfter" handles the call, then drops the connection before the answer', async () => {
    const tok = await token(ctx.url);
    await fault(ctx.url, { path: SEND, kind: 'dropAfter', count: 1 });
    await expect(oapi(ctx.url, SEND, tok, { agent_id: 2001, userid_list: 'alice', msg: text('processed') })).rejects.toThrow();
    expect(await inbox(ctx.url, 'users', 'alice')).toHaveLength(1);
    const { calls } = (await getJson(`${ctx.url}/_emulator/api/calls?path=${encodeURIComponent(SEND)}`)).body;
    expect(calls.map((c: { errcode: unknown }) => c.errcode)).toEqual(['answer dropped']);
  });
});
