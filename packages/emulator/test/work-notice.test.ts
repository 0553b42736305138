import { describe, expect, it } from 'vitest';
import { advance, getJson, inbox, oapi, SEND, setSwitches, text, token, useEmulator } from './helpers.js';

const BASE = '/topapi/message/corpconversation';

describe('work notifications', () => {
  const ctx = useEmulator({ dailyUserCap: 3, readPercent: 50 });
  const send = async (body: Record<string, unknown>) => oapi(ctx.url, SEND, await token(ctx.url), { agent_id: 2001, ...body });
  const result = async (taskId: number) =>
    (await oapi(ctx.url, `${BASE}/getsendresult`, await token(ctx.url), { agent_id: 2001, task_id: taskId })).body;

  it('accepts JSON and form-encoded bodies (msg as a JSON string, to_all_user as "false")', async () => {
    const json = await send({ userid_list: 'alice,bob', msg: text('json body') });
    expect(json.body).toMatchObject({ errcode: 0, task_id: expect.any(Number) });
    const tok = await token(ctx.url);
    const form = new URLSearchParams({ agent_id: '2001', userid_list: 'alice', to_all_user: 'false', msg: JSON.stringify(text('form body')) });
    const res = await getJson(`${ctx.url}${SEND}?access_token=${tok}`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: form.toString(),
    });
    expect(res.body.errcode).toBe(0);
    expect(res.body.task_id).toBe(json.body.task_id + 1);
  });

  it('delivers asynchronously: progress goes 0 → 1 → 2 and the inbox fills when done', async () => {
    const { body } = await send({ userid_list: 'alice', msg: text('async') });
    const progress = async () =>
      (await oapi(ctx.url, `${BASE}/getsendprogress`, await token(ctx.url), { agent_id: 2001, task_id: body.task_id })).body.progress;
    expect(await progress()).toEqual({ progress_in_percent: 0, status: 0 });
    expect(await inbox(ctx.url, 'users', 'alice')).toHaveLength(0);
    await advance(ctx.url, 500);
    expect((await progress()).status).toBe(1);
    await advance(ctx.url, 600);
    expect(await progress()).toEqual({ progress_in_percent: 100, status: 2 });
    const msgs = await inbox(ctx.url, 'users', 'alice');
    expect(msgs).toHaveLength(1);
    expect(msgs[0]).toMatchObject({ channel: 'work_notice', from: 'main', message: text('async'), taskId: body.task_id });
  });

  it('departments include sub-departments; unknown users and departments are reported, not fatal', async () => {
    const { body } = await send({ dept_id_list: '2,404', userid_list: 'ghost', msg: text('dept') });
    expect(body.errcode).toBe(0);
    await advance(ctx.url, 60_000 + 1000);
    const r = await result(body.task_id);
    expect(r.send_result.invalid_user_id_list).toEqual(['ghost']);
    expect(r.send_result.invalid_dept_id_list).toEqual([404]);
    expect([...r.send_result.read_user_id_list, ...r.send_result.unread_user_id_list].sort()).toEqual(['alice', 'bob', 'dave']);
  });

  it('a member of a department (or of the org, to all users) who is not active is reported invalid, not delivered', async () => {
    // (reset before each test restores the org) An org small enough for getsendresult, with one person who left.
    const org = ctx.emu.state.org;
    org.users = org.users.filter((u) => !u.userid.startsWith('bulk'));
    org.users.push({ userid: 'gone', name: 'Gone', deptIds: [3], active: false, deliveryFails: false });
    for (const body of [{ dept_id_list: '2' }, { to_all_user: true }]) {
      const sent = await send({ ...body, msg: text(`left ${JSON.stringify(body)}`) });
      await advance(ctx.url, 2000);
      const r = (await result(sent.body.task_id)).send_result;
      expect(r.invalid_user_id_list).toEqual(['gone']);
      expect([...r.read_user_id_list, ...r.unread_user_id_list]).not.toContain('gone');
    }
    expect(await inbox(ctx.url, 'users', 'gone')).toHaveLength(0);
  });

  it('recipients read after a while, so read and unread both occur; failed deliveries are listed', async () => {
    const users = Array.from({ length: 40 }, (_, i) => `bulk${i}`);
    const { body } = await send({ userid_list: [...users, 'erin'].join(','), msg: text('who reads') });
    await advance(ctx.url, 1000);
    const early = (await result(body.task_id)).send_result;
    expect(early.read_user_id_list).toEqual([]);
    expect(early.unread_user_id_list).toHaveLength(40);
    expect(early.failed_user_id_list).toEqual(['erin']);
    await advance(ctx.url, 60_000);
    const later = (await result(body.task_id)).send_result;
    expect(later.read_user_id_list.length).toBeGreaterThan(0);
    expect(later.unread_user_id_list.length).toBeGreaterThan(0);
    expect(later.read_user_id_list.length + later.unread_user_id_list.length).toBe(40);
  });

  it('the same content to the same user is filtered once a day (143106), and passes again the next day', async () => {
    const first = await send({ userid_list: 'alice', msg: text('dup') });
    const again = await send({ userid_list: 'alice', msg: { text: { content: 'dup' }, msgtype: 'text' } });
    expect(again.body.errcode).toBe(0);
    await advance(ctx.url, 2000);
    expect((await result(first.body.task_id)).send_result.forbidden_user_id_list).toEqual([]);
    expect((await result(again.body.task_id)).send_result).toMatchObject({
      forbidden_user_id_list: ['alice'],
      forbidden_list: [{ code: '143106', count: 1, userid: 'alice' }],
    });
    await advance(ctx.url, 86_400_000);
    const tomorrow = await send({ userid_list: 'alice', msg: text('dup') });
    await advance(ctx.url, 2000);
    expect((await result(tomorrow.body.task_id)).send_result.forbidden_user_id_list).toEqual([]);
  });

  it('caps messages per user per day (143105, switch set to 3 here; 500 by default)', async () => {
    const ids: number[] = [];
    for (let i = 0; i < 4; i++) ids.push((await send({ userid_list: 'bob', msg: text(`n${i}`) })).body.task_id);
    await advance(ctx.url, 2000);
    expect((await result(ids[2]!)).send_result.forbidden_user_id_list).toEqual([]);
    expect((await result(ids[3]!)).send_result.forbidden_list).toEqual([{ code: '143105', count: 3, userid: 'bob' }]);
    expect(await inbox(ctx.url, 'users', 'bob')).toHaveLength(3);
  });

  it('to_all_user works three times a day, then 41045 until the next day', async () => {
    for (let i = 0; i < 3; i++) expect((await send({ to_all_user: true, msg: text(`all ${i}`) })).body.errcode).toBe(0);
    expect((await send({ to_all_user: true, msg: text('all 4') })).body.errcode).toBe(41045);
    await advance(ctx.url, 86_400_000);
    expect((await send({ to_all_user: true, msg: text('all 5') })).body.errcode).toBe(0);
  });

  it('enforces the list sizes: 100 userids, 20 departments, at least one recipient selector', async () => {
    const users = Array.from({ length: 101 }, (_, i) => `bulk${i}`);
    const over = await send({ userid_list: users.join(','), msg: text('x') });
    expect(over.body).toMatchObject({ errcode: 40035, errmsg: expect.stringContaining('userid_list') });
    expect((await send({ userid_list: users.slice(0, 100).join(','), msg: text('x') })).body.errcode).toBe(0);
    const depts = Array.from({ length: 21 }, () => '2').join(',');
    expect((await send({ dept_id_list: depts, msg: text('x') })).body).toMatchObject({ errcode: 40035, errmsg: expect.stringContaining('dept_id_list') });
    expect((await send({ msg: text('x') })).body.errcode).toBe(40035);
    expect((await send({ userid_list: 'alice' })).body).toMatchObject({ errcode: 40035, errmsg: expect.stringContaining('msg') });
  });

  it('getsendresult is refused for tasks of more than 100 recipients', async () => {
    const { body } = await send({ dept_id_list: '9', msg: text('bulk') });
    expect((await result(body.task_id)).errcode).toBe(41052);
  });

  it('filters recipients over the per-minute quota with 143103', async () => {
    await setSwitches(ctx.url, { recipientsPerMinute: 2 });
    const { body } = await send({ userid_list: 'alice,bob,carol', msg: text('rpm') });
    await advance(ctx.url, 1000);
    expect((await result(body.task_id)).send_result.forbidden_list).toEqual([{ code: '143103', count: 2, userid: 'carol' }]);
    await advance(ctx.url, 60_000);
    const later = await send({ userid_list: 'carol', msg: text('rpm') });
    await advance(ctx.url, 1000);
    expect((await result(later.body.task_id)).send_result.forbidden_list).toEqual([]);
  });

  it('recall marks the message recalled in the inbox; unknown or day-old tasks are 400002', async () => {
    const { body } = await send({ userid_list: 'carol', msg: text('oops') });
    await advance(ctx.url, 1500);
    const tok = await token(ctx.url);
    expect((await oapi(ctx.url, `${BASE}/recall`, tok, { agent_id: 2001, msg_task_id: body.task_id })).body.errcode).toBe(0);
    expect((await inbox(ctx.url, 'users', 'carol'))[0]!.status).toBe('recalled');
    expect((await oapi(ctx.url, `${BASE}/recall`, tok, { agent_id: 2001, msg_task_id: 42 })).body.errcode).toBe(400002);
    const old = await send({ userid_list: 'carol', msg: text('old') });
    await advance(ctx.url, 86_400_000 + 1000);
    const tok2 = await token(ctx.url);
    expect((await oapi(ctx.url, `${BASE}/recall`, tok2, { agent_id: 2001, msg_task_id: old.body.task_id })).body.errcode).toBe(400002);
  });

  it('status_bar/update changes an OA message; OA with status_bar allows at most 5 userids and no departments', async () => {
    const oa = {
      msgtype: 'oa',
      oa: { message_url: 'https://example.com', head: { bgcolor: 'FFBBBBBB', text: 'x' }, body: { title: '审批' }, status_bar: { status_value: '待审批' } },
    };
    expect((await send({ dept_id_list: '2', msg: oa })).body.errcode).toBe(40035);
    expect((await send({ userid_list: 'bulk0,bulk1,bulk2,bulk3,bulk4,bulk5', msg: oa })).body.errcode).toBe(40035);
    const { body } = await send({ userid_list: 'alice', msg: oa });
    const tok = await token(ctx.url);
    const upd = await oapi(ctx.url, `${BASE}/status_bar/update`, tok, { agent_id: 2001, task_id: body.task_id, status_value: '已同意', status_bg: '0xFF78C06E' });
    expect(upd.body.errcode).toBe(0);
    await advance(ctx.url, 1500);
    expect((await inbox(ctx.url, 'users', 'alice'))[0]!.message.oa.status_bar).toEqual({ status_value: '已同意', status_bg: '0xFF78C06E' });
    const notOa = await send({ userid_list: 'alice', msg: text('plain') });
    expect((await oapi(ctx.url, `${BASE}/status_bar/update`, tok, { agent_id: 2001, task_id: notOa.body.task_id, status_value: 'x' })).body.errcode).toBe(40035);
  });
});

describe('work-notification message types (§4)', () => {
  const ctx = useEmulator();
  const send = async (msg: unknown) => (await oapi(ctx.url, SEND, await token(ctx.url), { agent_id: 2001, userid_list: 'alice', msg })).body;
  const long = (n: number) => 'x'.repeat(n);

  const cases: [string, unknown, number][] = [
    ['text ok', text('hi'), 0],
    ['text empty', text(''), 44004],
    ['text over 5000', text(long(5001)), 34016],
    ['text 5000 multi-byte chars', text('钉'.repeat(5000)), 0],
    ['unknown msgtype', { msgtype: 'video', video: {} }, 40008],
    ['body key missing', { msgtype: 'text', markdown: { title: 'x', text: 'y' } }, 34014],
    ['markdown ok', { msgtype: 'markdown', markdown: { title: 't', text: '# hi' } }, 0],
    ['markdown title over 64', { msgtype: 'markdown', markdown: { title: long(65), text: 'x' } }, 34016],
    ['markdown no text', { msgtype: 'markdown', markdown: { title: 't' } }, 40035],
    ['link ok', { msgtype: 'link', link: { messageUrl: 'https://a', picUrl: '@x', title: 't', text: 'x' } }, 0],
    ['link no url', { msgtype: 'link', link: { picUrl: '@x', title: 't', text: 'x' } }, 34009],
    ['image unknown media', { msgtype: 'image', image: { media_id: '@nope' } }, 40007],
    ['image no media', { msgtype: 'image', image: {} }, 34008],
    ['file no media', { msgtype: 'file', file: {} }, 34010],
    ['voice no media', { msgtype: 'voice', voice: { duration: '10' } }, 34011],
    ['action_card single ok', { msgtype: 'action_card', action_card: { title: 't', markdown: 'm', single_title: '看', single_url: 'https://a' } }, 0],
    ['action_card single_title over 20', { msgtype: 'action_card', action_card: { title: 't', markdown: 'm', single_title: long(21), single_url: 'https://a' } }, 34016],
    ['action_card single without url', { msgtype: 'action_card', action_card: { title: 't', markdown: 'm', single_title: 'x' } }, 40035],
    ['action_card buttons ok', { msgtype: 'action_card', action_card: { title: 't', markdown: 'm', btn_orientation: '1', btn_json_list: [{ title: 'a', action_url: 'https://a' }] } }, 0],
    ['action_card buttons over 1000 chars', { msgtype: 'action_card', action_card: { title: 't', markdown: 'm', btn_orientation: '1', btn_json_list: Array.from({ length: 3 }, () => ({ title: 'a', action_url: `https://${long(400)}` })) } }, 34016],
    ['action_card no style', { msgtype: 'action_card', action_card: { title: 't', markdown: 'm' } }, 40035],
    ['action_card no markdown', { msgtype: 'action_card', action_card: { title: 't', single_title: 'x', single_url: 'https://a' } }, 40035],
    ['oa ok', { msgtype: 'oa', oa: { message_url: 'https://a', head: { bgcolor: 'FFBBBBBB' }, body: { title: 't', form: [{ key: 'k', value: 'v' }] } } }, 0],
    ['oa bad bgcolor', { msgtype: 'oa', oa: { message_url: 'https://a', head: { bgcolor: 'blue' }, body: {} } }, 40035],
    ['oa no message_url', { msgtype: 'oa', oa: { head: { bgcolor: 'FFBBBBBB' }, body: {} } }, 40035],
    ['msg not an object', 'hello', 34014],
  ];
  it.each(cases)('%s → errcode %i', async (_name, msg, code) => {
    expect((await send(msg)).errcode).toBe(code);
  });

  it('voice needs a duration under 60 seconds; media ids from media/upload are accepted', async () => {
    const tok = await token(ctx.url);
    const form = new FormData();
    form.set('type', 'voice');
    form.set('media', new Blob([Buffer.from('#!AMR\n....')]), 'hello.amr');
    const up = (await getJson(`${ctx.url}/media/upload?access_token=${tok}`, { method: 'POST', body: form })).body;
    expect(up.errcode).toBe(0);
    expect((await send({ msgtype: 'voice', voice: { media_id: up.media_id, duration: '60' } })).errcode).toBe(40035);
    expect((await send({ msgtype: 'voice', voice: { media_id: up.media_id, duration: '59' } })).errcode).toBe(0);
  });

  it('the 2048-byte whole-msg cap is a switch (off by default)', async () => {
    const big = text('钉'.repeat(1000));
    expect((await send(big)).errcode).toBe(0);
    await setSwitches(ctx.url, { strictMsgBytes: true });
    expect((await send(text('钉'.repeat(1001)))).errcode).toBe(34016);
  });
});
