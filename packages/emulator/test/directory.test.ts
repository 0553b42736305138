import { describe, expect, it } from 'vitest';
import { getJson, oapi, token, useEmulator } from './helpers.js';

describe('directory', () => {
  const ctx = useEmulator();

  it('getbymobile resolves an active user, 60121 for an unknown mobile, 40104 for a malformed one', async () => {
    const tok = await token(ctx.url);
    expect((await oapi(ctx.url, '/topapi/v2/user/getbymobile', tok, { mobile: '13900000002' })).body).toMatchObject({
      errcode: 0,
      result: { userid: 'bob' },
      request_id: expect.stringMatching(/^[a-z0-9]{12,13}$/),
    });
    expect((await oapi(ctx.url, '/topapi/v2/user/getbymobile', tok, { mobile: '13999999999' })).body.errcode).toBe(60121);
    expect((await oapi(ctx.url, '/topapi/v2/user/getbymobile', tok, { mobile: 'not-a-phone' })).body.errcode).toBe(40104);
    expect((await oapi(ctx.url, '/topapi/v2/user/getbymobile', tok, { mobile: '1'.repeat(16) })).body.errcode).toBe(40104);
  });

  it('getbymobile accepts a form-encoded body', async () => {
    const tok = await token(ctx.url);
    const res = await getJson(`${ctx.url}/topapi/v2/user/getbymobile?access_token=${tok}`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: 'mobile=13900000003',
    });
    expect(res.body.result.userid).toBe('carol');
  });

  it('legacy user/get_by_mobile answers the userid at the top level', async () => {
    const tok = await token(ctx.url);
    expect((await getJson(`${ctx.url}/user/get_by_mobile?access_token=${tok}&mobile=13900000001`)).body).toMatchObject({
      errcode: 0,
      userid: 'alice',
    });
    expect((await getJson(`${ctx.url}/user/get_by_mobile?access_token=${tok}&mobile=13911111111`)).body.errcode).toBe(60121);
  });

  it('user/get gives details, 33012 for an unknown userid', async () => {
    const tok = await token(ctx.url);
    const res = await oapi(ctx.url, '/topapi/v2/user/get', tok, { userid: 'bob' });
    expect(res.body.result).toMatchObject({ userid: 'bob', name: 'Bob', dept_id_list: [3], mobile: '13900000002' });
    expect((await oapi(ctx.url, '/topapi/v2/user/get', tok, { userid: 'ghost' })).body.errcode).toBe(33012);
  });

  it('departments list one level at a time; listid lists direct members; unknown department 60003', async () => {
    const tok = await token(ctx.url);
    const root = await oapi(ctx.url, '/topapi/v2/department/listsub', tok, {});
    expect(root.body.result.map((d: { dept_id: number }) => d.dept_id).sort()).toEqual([2, 9]);
    const ops = await oapi(ctx.url, '/topapi/v2/department/listsub', tok, { dept_id: 2 });
    expect(ops.body.result).toEqual([expect.objectContaining({ dept_id: 3, name: 'SRE', parent_id: 2 })]);
    expect((await oapi(ctx.url, '/topapi/v2/department/listsubid', tok, { dept_id: 1 })).body.result.dept_id_list.sort()).toEqual([2, 9]);
    expect((await oapi(ctx.url, '/topapi/user/listid', tok, { dept_id: 3 })).body.result.userid_list).toEqual(['bob', 'dave']);
    expect((await oapi(ctx.url, '/topapi/user/listid', tok, { dept_id: 77 })).body.errcode).toBe(60003);
    expect((await oapi(ctx.url, '/topapi/v2/department/listsub', tok, { dept_id: 77 })).body.errcode).toBe(60003);
  });

  it('user/list pages a department\'s direct members (≤100 a page, cursor/next_cursor/has_more); every call is logged', async () => {
    const tok = await token(ctx.url);
    const seen: string[] = [];
    let cursor = 0;
    const pages: { has_more: boolean; next_cursor?: number; list: { userid: string }[] }[] = [];
    for (;;) {
      const res = await oapi(ctx.url, '/topapi/v2/user/list', tok, { dept_id: 9, cursor, size: 50 });
      expect(res.body).toMatchObject({ errcode: 0, request_id: expect.stringMatching(/^[a-z0-9]{12,13}$/) });
      pages.push(res.body.result);
      seen.push(...res.body.result.list.map((u: { userid: string }) => u.userid));
      if (!res.body.result.has_more) break;
      cursor = res.body.result.next_cursor;
    }
    // 120 bulk users: 50 + 50 + 20, the last page without next_cursor.
    expect(pages.map((p) => p.list.length)).toEqual([50, 50, 20]);
    expect(pages.map((p) => p.next_cursor)).toEqual([50, 100, undefined]);
    expect(new Set(seen).size).toBe(120);
    const calls = (await getJson(`${ctx.url}/_emulator/api/calls?path=${encodeURIComponent('/topapi/v2/user/list')}`)).body.calls;
    expect(calls).toHaveLength(3);
    expect(calls[0]).toMatchObject({ app: 'main', errcode: 0 });
  });

  it('user/list gives details with the mobile, direct members only; 60003 unknown department; size over 100 refused', async () => {
    const tok = await token(ctx.url);
    // Department 2 (Ops) holds alice directly; bob and dave are in its sub-department 3.
    const ops = await oapi(ctx.url, '/topapi/v2/user/list', tok, { dept_id: 2, cursor: 0, size: 100 });
    expect(ops.body.result).toEqual({
      has_more: false,
      list: [expect.objectContaining({ userid: 'alice', name: 'Alice', mobile: '13900000001', dept_id_list: [2], active: true })],
    });
    const root = await oapi(ctx.url, '/topapi/v2/user/list', tok, { dept_id: 1, cursor: 0, size: 100 });
    expect(root.body.result.list.map((u: { userid: string }) => u.userid)).toEqual(['carol', 'erin']);
    // A bulk user has no mobile: the field is absent, as DingTalk leaves it.
    const bulk = await oapi(ctx.url, '/topapi/v2/user/list', tok, { dept_id: 9, cursor: 0, size: 1 });
    expect(bulk.body.result.list[0]).not.toHaveProperty('mobile');
    expect((await oapi(ctx.url, '/topapi/v2/user/list', tok, { dept_id: 77, cursor: 0, size: 10 })).body.errcode).toBe(60003);
    expect((await oapi(ctx.url, '/topapi/v2/user/list', tok, { dept_id: 1, cursor: 0, size: 101 })).body).toMatchObject({ errcode: 400002, errmsg: expect.stringContaining('size') });
    expect((await oapi(ctx.url, '/topapi/v2/user/list', tok, { dept_id: 1, size: 10 })).body).toMatchObject({ errcode: 400002, errmsg: expect.stringContaining('cursor') });
  });

  it('an unknown topapi method gets errcode 22 naming the ApiName', async () => {
    const tok = await token(ctx.url);
    const res = await oapi(ctx.url, '/topapi/no/such/thing', tok, {});
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ errcode: 22, sub_msg: expect.stringContaining('dingtalk.oapi.no.such.thing') });
  });
});
