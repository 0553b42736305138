import { describe, expect, it } from 'vitest';
import { getJson, token, useEmulator } from './helpers.js';

describe('media/upload', () => {
  const ctx = useEmulator();
  const upload = async (type: string | undefined, name: string, bytes: number, part = 'media') => {
    const form = new FormData();
    if (type) form.set('type', type);
    form.set(part, new Blob([Buffer.alloc(bytes, 1)]), name);
    return (await getJson(`${ctx.url}/media/upload?access_token=${await token(ctx.url)}`, { method: 'POST', body: form })).body;
  };

  it('stores a file and answers a media id; work notifications can reference it', async () => {
    const res = await upload('image', 'chart.png', 1024);
    expect(res).toMatchObject({ errcode: 0, type: 'image', media_id: expect.stringMatching(/^[@$]/), created_at: expect.any(Number) });
    const sent = await getJson(`${ctx.url}/topapi/message/corpconversation/asyncsend_v2?access_token=${await token(ctx.url)}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ agent_id: 2001, userid_list: 'alice', msg: { msgtype: 'image', image: { media_id: res.media_id } } }),
    });
    expect(sent.body.errcode).toBe(0);
  });

  it('a media id the inspector made it forget is refused with 40007, as DingTalk refuses one it does not know', async () => {
    const res = await upload('image', 'gone.png', 512);
    const send = async () =>
      (
        await getJson(`${ctx.url}/topapi/message/corpconversation/asyncsend_v2?access_token=${await token(ctx.url)}`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ agent_id: 2001, userid_list: 'alice', msg: { msgtype: 'image', image: { media_id: res.media_id } } }),
        })
      ).body;
    expect((await send()).errcode).toBe(0);
    const forget = () => fetch(`${ctx.url}/_emulator/api/media/${encodeURIComponent(res.media_id)}`, { method: 'DELETE' });
    expect((await forget()).status).toBe(200);
    expect(await send()).toMatchObject({ errcode: 40007, errmsg: expect.stringContaining('不合法的媒体文件id') });
    expect((await fetch(`${ctx.url}/_emulator/api/media/${encodeURIComponent(res.media_id)}`)).status).toBe(404);
    expect((await forget()).status).toBe(404);
  });

  it('the type may come in the query string instead of the form', async () => {
    const form = new FormData();
    form.set('media', new Blob([Buffer.from('pdf')]), 'report.pdf');
    const res = await getJson(`${ctx.url}/media/upload?type=file&access_token=${await token(ctx.url)}`, { method: 'POST', body: form });
    expect(res.body).toMatchObject({ errcode: 0, type: 'file' });
  });

  it('refuses a bad type (40004), extension (40005), size (40006), empty file (44001), missing part (41005)', async () => {
    expect((await upload('sticker', 'a.png', 10)).errcode).toBe(40004);
    expect((await upload(undefined, 'a.png', 10)).errcode).toBe(40004);
    expect((await upload('image', 'a.exe', 10)).errcode).toBe(40005);
    expect((await upload('voice', 'a.amr', 2 * 1024 * 1024 + 1)).errcode).toBe(40006);
    expect((await upload('voice', 'a.amr', 2 * 1024 * 1024)).errcode).toBe(0);
    expect((await upload('file', 'a.pdf', 0)).errcode).toBe(44001);
    expect((await upload('file', 'a.pdf', 10, 'file')).errcode).toBe(41005);
  });

  it('a body that is not multipart is 43008', async () => {
    const res = await getJson(`${ctx.url}/media/upload?access_token=${await token(ctx.url)}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{"type":"image"}',
    });
    expect(res.body.errcode).toBe(43008);
  });
});
