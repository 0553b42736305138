import * as OpenApi from '@alicloud/openapi-client';
import * as Util from '@alicloud/tea-util';
import { createRequire } from 'node:module';
import ChatBot from 'dingtalk-robot-sender';
import { describe, expect, it } from 'vitest';
import { APP, inbox, SIGN_SECRET, useEmulator } from './helpers.js';

// The product modules are loaded directly: the package root loads every product (about 140 MB).
const require = createRequire(import.meta.url);
const $OAuth2 = require('@alicloud/dingtalk/dist/oauth2_1_0/client.js') as typeof import('@alicloud/dingtalk/dist/oauth2_1_0/client.js');
const $Robot = require('@alicloud/dingtalk/dist/robot_1_0/client.js') as typeof import('@alicloud/dingtalk/dist/robot_1_0/client.js');
const OAuth2 = $OAuth2.default;
const Robot = $Robot.default;

/** Third-party SDKs, unchanged but for the endpoint, work against the emulator. */
describe('third-party SDK compatibility', () => {
  const ctx = useEmulator();
  const config = () => {
    const c = new OpenApi.Config({});
    c.protocol = 'http';
    c.regionId = 'central';
    c.endpoint = ctx.url.replace('http://', '');
    return c;
  };

  it('@alicloud/dingtalk oauth2_1_0 gets a token and robot_1_0 sends, reads and recalls with it', async () => {
    const oauth = new OAuth2(config());
    const tokenRes = await oauth.getAccessTokenWithOptions(
      new $OAuth2.GetAccessTokenRequest({ appKey: APP.appKey, appSecret: APP.appSecret }),
      {},
      new Util.RuntimeOptions({}),
    );
    const accessToken = tokenRes.body!.accessToken!;
    expect(tokenRes.body!.expireIn).toBe(7200);

    const robot = new Robot(config());
    const headers = new $Robot.BatchSendOTOHeaders({ xAcsDingtalkAccessToken: accessToken });
    const sent = await robot.batchSendOTOWithOptions(
      new $Robot.BatchSendOTORequest({ robotCode: APP.robotCode, userIds: ['alice', 'nobody'], msgKey: 'sampleText', msgParam: JSON.stringify({ content: 'from the official SDK' }) }),
      headers,
      new Util.RuntimeOptions({}),
    );
    expect(sent.body!.processQueryKey).toBeTruthy();
    expect(sent.body!.invalidStaffIdList).toEqual(['nobody']);

    const status = await robot.batchOTOQueryWithOptions(
      new $Robot.BatchOTOQueryRequest({ robotCode: APP.robotCode, processQueryKey: sent.body!.processQueryKey! }),
      new $Robot.BatchOTOQueryHeaders({ xAcsDingtalkAccessToken: accessToken }),
      new Util.RuntimeOptions({}),
    );
    expect(status.body!.sendStatus).toBe('SUCCESS');
    expect(status.body!.messageReadInfoList![0]!.userId).toBe('alice');

    const group = await robot.orgGroupSendWithOptions(
      new $Robot.OrgGroupSendRequest({ robotCode: APP.robotCode, openConversationId: 'cid1==', msgKey: 'sampleMarkdown', msgParam: JSON.stringify({ title: 't', text: '**hi**' }) }),
      new $Robot.OrgGroupSendHeaders({ xAcsDingtalkAccessToken: accessToken }),
      new Util.RuntimeOptions({}),
    );
    expect(group.body!.processQueryKey).toBeTruthy();

    const recall = await robot.batchRecallOTOWithOptions(
      new $Robot.BatchRecallOTORequest({ robotCode: APP.robotCode, processQueryKeys: [sent.body!.processQueryKey!] }),
      new $Robot.BatchRecallOTOHeaders({ xAcsDingtalkAccessToken: accessToken }),
      new Util.RuntimeOptions({}),
    );
    expect(recall.body!.successResult).toEqual([sent.body!.processQueryKey]);
  });

  it('@alicloud/dingtalk surfaces the emulator\'s error code for a bad secret', async () => {
    const oauth = new OAuth2(config());
    await expect(
      oauth.getAccessTokenWithOptions(new $OAuth2.GetAccessTokenRequest({ appKey: APP.appKey, appSecret: 'wrong' }), {}, new Util.RuntimeOptions({})),
    ).rejects.toMatchObject({ code: 'invalidClientIdOrSecret' });
  });

  it('dingtalk-robot-sender sends signed text, markdown and action cards', async () => {
    const bot = new ChatBot({ baseUrl: `${ctx.url}/robot/send`, accessToken: 'sign'.padEnd(64, '0'), secret: SIGN_SECRET });
    const res = await bot.text('来自 dingtalk-robot-sender', { atMobiles: ['13900000001'] });
    expect(res.data).toEqual({ errcode: 0, errmsg: 'ok' });
    expect((await bot.markdown('标题', '## 正文')).data.errcode).toBe(0);
    expect((await bot.actionCard({ title: 't', text: 'x', btns: [{ title: '看', actionURL: 'https://example.com' }] })).data.errcode).toBe(0);
    expect((await inbox(ctx.url, 'robots', 'signed')).map((m) => m.msgtype)).toEqual(['text', 'markdown', 'actionCard']);
  });

  it('dingtalk-robot-sender with a wrong secret gets 310000', async () => {
    const bot = new ChatBot({ baseUrl: `${ctx.url}/robot/send`, accessToken: 'sign'.padEnd(64, '0'), secret: 'SECwrong' });
    expect((await bot.text('x')).data.errcode).toBe(310000);
  });
});
