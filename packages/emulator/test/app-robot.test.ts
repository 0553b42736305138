import { describe, expect, it } from 'vitest';
import { advance, inbox, newApi, setSwitches, token, useEmulator } from './helpers.js';

const ROBOT = 'dingmainapp';
const md = { msgKey: 'sampleMarkdown', msgParam: JSON.stringify({ title: '日报', text: '## 完成 3 项' }) };

describe('app robots on the new API', () => {
  const ctx = useEmulator({ readAfterMs: 10_000, readPercent: 50 });

  it('one-to-one batch send delivers to each user; unknown users come back in invalidStaffIdList', async () => {
    const tok = await token(ctx.url);
    const res = await newApi(ctx.url, 'POST', '/v1.0/robot/oToMessages/batchSend', tok, { robotCode: ROBOT, userIds: ['alice', 'ghost'], ...md });
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ processQueryKey: expect.any(String), invalidStaffIdList: ['ghost'], flowControlledStaffIdList: [] });
    expect(await inbox(ctx.url, 'users', 'alice')).toEqual([expect.objectContaining({ channel: 'robot_oto', msgtype: 'sampleMarkdown' })]);
  });

  it('batch send refuses more than 20 users, an empty list, a foreign robotCode and bad messages', async () => {
    const tok = await token(ctx.url);
    const send = async (b: Record<string, unknown>) =>
      newApi(ctx.url, 'POST', '/v1.0/robot/oToMessages/batchSend', tok, { robotCode: ROBOT, userIds: ['alice'], ...md, ...b });
    const users = Array.from({ length: 21 }, (_, i) => `bulk${i}`);
    expect((await send({ userIds: users })).body.code).toBe('invalidParameter.userIds.overMax');
    expect((await send({ userIds: users.slice(0, 20) })).status).toBe(200);
    expect((await send({ userIds: [] })).body.code).toBe('invalidParameter.userIds.empty');
    expect((await send({ robotCode: 'dingsomeoneelse' })).body.code).toBe('invalidParameter.robotCode.notExsit');
    expect((await send({ msgKey: 'sampleNope' })).body.code).toBe('invalidParameter.msgKey.invalid');
    expect((await send({ msgParam: '{broken' })).body.code).toBe('invalidParameter.msgParam.invalid');
    expect((await send({ msgParam: { content: 'object, not string' } })).body.code).toBe('invalidParameter.msgParam.invalid');
    const missing = await send({ msgKey: 'sampleText', msgParam: JSON.stringify({}) });
    expect(missing).toMatchObject({ status: 400, body: { code: 'miss.param.contentOfText', requestid: expect.any(String) } });
    const tooLong = await send({ msgKey: 'sampleText', msgParam: JSON.stringify({ content: 'x'.repeat(15_001) }) });
    expect(tooLong.body.code).toBe('invalidParameter.msgParam.tooLong');
    const noToken = await newApi(ctx.url, 'POST', '/v1.0/robot/oToMessages/batchSend', 'bogus', { robotCode: ROBOT, userIds: ['alice'], ...md });
    expect(noToken).toMatchObject({ status: 400, body: { code: 'InvalidAuthentication' } });
  });

  it('read status moves from UNREAD to READ; recall marks RECALLED', async () => {
    const tok = await token(ctx.url);
    const users = Array.from({ length: 20 }, (_, i) => `bulk${i}`);
    const sent = await newApi(ctx.url, 'POST', '/v1.0/robot/oToMessages/batchSend', tok, { robotCode: ROBOT, userIds: users, ...md });
    const key = encodeURIComponent(sent.body.processQueryKey);
    const status = async () =>
      (await newApi(ctx.url, 'GET', `/v1.0/robot/oToMessages/readStatus?robotCode=${ROBOT}&processQueryKey=${key}`, tok)).body;
    const before = await status();
    expect(before.sendStatus).toBe('SUCCESS');
    expect(before.messageReadInfoList.every((r: { readStatus: string }) => r.readStatus === 'UNREAD')).toBe(true);
    await advance(ctx.url, 10_001);
    const after = (await status()).messageReadInfoList.map((r: { readStatus: string }) => r.readStatus);
    expect(after).toContain('READ');
    expect(after).toContain('UNREAD');
    const recall = await newApi(ctx.url, 'POST', '/v1.0/robot/otoMessages/batchRecall', tok, {
      robotCode: ROBOT,
      processQueryKeys: [sent.body.processQueryKey, 'unknown-key'],
    });
    expect(recall.body).toEqual({ successResult: [sent.body.processQueryKey], failedResult: { 'unknown-key': 'invalid.processQueryKey' } });
    expect((await status()).sendStatus).toBe('RECALLED');
    const over = await newApi(ctx.url, 'POST', '/v1.0/robot/otoMessages/batchRecall', tok, {
      robotCode: ROBOT,
      processQueryKeys: Array.from({ length: 21 }, (_, i) => `k${i}`),
    });
    expect(over.body.code).toBe('invalidParameter.processQueryKeys.overMax');
  });

  it('group send, read query with paging, and recall', async () => {
    const tok = await token(ctx.url);
    const sent = await newApi(ctx.url, 'POST', '/v1.0/robot/groupMessages/send', tok, {
      robotCode: ROBOT,
      openConversationId: 'cid1==',
      msgKey: 'sampleActionCard6',
      msgParam: JSON.stringify({ title: '发布', text: '上线?', buttonTitle1: '同意', buttonUrl1: 'https://a', buttonTitle2: '拒绝', buttonUrl2: 'https://b' }),
    });
    expect(sent.body).toEqual({ processQueryKey: expect.any(String) });
    expect(await inbox(ctx.url, 'chats', 'chat1')).toHaveLength(1);
    await setSwitches(ctx.url, { readPercent: 100 });
    await advance(ctx.url, 10_001);
    const page1 = await newApi(ctx.url, 'POST', '/v1.0/robot/groupMessages/query', tok, { processQueryKey: sent.body.processQueryKey, maxResults: 2 });
    expect(page1.body).toMatchObject({ sendStatus: 'SUCCESS', readUserIds: ['alice', 'bob'], hasMore: true, nextToken: '2' });
    const page2 = await newApi(ctx.url, 'POST', '/v1.0/robot/groupMessages/query', tok, { processQueryKey: sent.body.processQueryKey, maxResults: 2, nextToken: '2' });
    expect(page2.body).toMatchObject({ readUserIds: ['carol'], hasMore: false });
    expect((await newApi(ctx.url, 'POST', '/v1.0/robot/groupMessages/query', tok, { processQueryKey: sent.body.processQueryKey, maxResults: 201 })).body.code).toBe(
      'invalidParameter.pageSize.invalid',
    );
    const recall = await newApi(ctx.url, 'POST', '/v1.0/robot/groupMessages/recall', tok, {
      robotCode: ROBOT,
      openConversationId: 'cid1==',
      processQueryKeys: [sent.body.processQueryKey],
    });
    expect(recall.body.successResult).toEqual([sent.body.processQueryKey]);
    expect((await inbox(ctx.url, 'chats', 'chat1'))[0]!.status).toBe('recalled');
  });

  it('group send refuses an unknown conversation and a missing one', async () => {
    const tok = await token(ctx.url);
    const send = async (b: Record<string, unknown>) => (await newApi(ctx.url, 'POST', '/v1.0/robot/groupMessages/send', tok, { robotCode: ROBOT, ...md, ...b })).body.code;
    expect(await send({ openConversationId: 'cidnope' })).toBe('invalid.openConversationId');
    expect(await send({})).toBe('miss.openConversationId');
  });

  it('every msgKey of §7.2 is accepted with its fields', async () => {
    const tok = await token(ctx.url);
    const params: Record<string, Record<string, string>> = {
      sampleText: { content: 'c' },
      sampleImageMsg: { photoURL: 'https://p' },
      sampleLink: { text: 't', title: 't', picUrl: 'https://p', messageUrl: 'https://m' },
      sampleActionCard: { title: 't', text: 'x', singleTitle: 's', singleURL: 'https://u' },
      sampleActionCard3: { title: 't', text: 'x', actionTitle1: 'a', actionURL1: 'u', actionTitle2: 'b', actionURL2: 'u', actionTitle3: 'c', actionURL3: 'u' },
      sampleAudio: { mediaId: '@m', duration: '3000' },
      sampleFile: { mediaId: '@m', fileName: 'a.pdf', fileType: 'pdf' },
      sampleVideo: { duration: '10', videoMediaId: '@v', videoType: 'mp4', picMediaId: '@p' },
    };
    for (const [msgKey, p] of Object.entries(params)) {
      const res = await newApi(ctx.url, 'POST', '/v1.0/robot/oToMessages/batchSend', tok, { robotCode: ROBOT, userIds: ['bob'], msgKey, msgParam: JSON.stringify(p) });
      expect(res.status, msgKey).toBe(200);
    }
  });
});
