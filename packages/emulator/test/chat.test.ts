import { describe, expect, it } from 'vitest';
import { getJson, inbox, oapi, text, token, useEmulator } from './helpers.js';

describe('legacy chat/*', () => {
  const ctx = useEmulator();

  it('chat/send delivers a §4 message to the group (nested and flat bodies)', async () => {
    const tok = await token(ctx.url);
    const nested = await oapi(ctx.url, '/chat/send', tok, { chatid: 'chat1', msg: text('hello group') });
    expect(nested.body).toMatchObject({ errcode: 0, messageId: expect.stringMatching(/^msg/) });
    const flat = await oapi(ctx.url, '/chat/send', tok, { chatid: 'chat1', msgtype: 'markdown', markdown: { title: 't', text: '**b**' } });
    expect(flat.body.errcode).toBe(0);
    const msgs = await inbox(ctx.url, 'chats', 'chat1');
    expect(msgs.map((m) => m.msgtype)).toEqual(['text', 'markdown']);
  });

  it('chat/send refuses an unknown chat (34001), a missing chatid (49000), a bad message and a form body', async () => {
    const tok = await token(ctx.url);
    expect((await oapi(ctx.url, '/chat/send', tok, { chatid: 'nochat', msg: text('x') })).body.errcode).toBe(34001);
    expect((await oapi(ctx.url, '/chat/send', tok, { msg: text('x') })).body.errcode).toBe(49000);
    expect((await oapi(ctx.url, '/chat/send', tok, { chatid: 'chat1', msg: text('') })).body.errcode).toBe(44004);
    const form = await getJson(`${ctx.url}/chat/send?access_token=${tok}`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: 'chatid=chat1',
    });
    expect(form.body.errcode).toBe(43009);
  });

  it('chat/create makes a group that chat/get and chat/send then know', async () => {
    const tok = await token(ctx.url);
    const created = await oapi(ctx.url, '/chat/create', tok, { name: 'War room', owner: 'alice', useridlist: ['alice', 'bob'] });
    expect(created.body).toMatchObject({ errcode: 0, chatid: expect.stringMatching(/^chat/), openConversationId: expect.stringMatching(/^cid/), conversationTag: 2 });
    const got = await getJson(`${ctx.url}/chat/get?access_token=${tok}&chatid=${created.body.chatid}`);
    expect(got.body.chat_info).toMatchObject({ name: 'War room', owner: 'alice', useridlist: ['alice', 'bob'], status: 1 });
    expect((await oapi(ctx.url, '/chat/send', tok, { chatid: created.body.chatid, msg: text('hi') })).body.errcode).toBe(0);
    expect((await getJson(`${ctx.url}/chat/get?access_token=${tok}&chatid=nochat`)).body.errcode).toBe(40016);
  });

  it('chat/create validates name, owner and members', async () => {
    const tok = await token(ctx.url);
    const create = async (b: unknown) => (await oapi(ctx.url, '/chat/create', tok, b)).body.errcode;
    expect(await create({ owner: 'alice', useridlist: ['alice'] })).toBe(40035);
    expect(await create({ name: 'x'.repeat(21), owner: 'alice', useridlist: ['alice'] })).toBe(400002);
    expect(await create({ name: 'g', useridlist: ['alice'] })).toBe(49013);
    expect(await create({ name: 'g', owner: 'alice', useridlist: [] })).toBe(49010);
    expect(await create({ name: 'g', owner: 'alice', useridlist: ['alice', 'ghost'] })).toBe(40031);
    expect(await create({ name: 'g', owner: 'alice', useridlist: Array.from({ length: 41 }, (_, i) => `bulk${i}`) })).toBe(49011);
  });
});
