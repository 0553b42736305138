import { createRequire } from 'node:module';
import { robotSignature } from '@dingpush/dingtalk';
import { describe, expect, it } from 'vitest';
import { ROBOT_SECRET, tokens, useGateway } from './helpers.js';

// dingtalk-robot-sender: a widely used Node.js robot client (CommonJS), pointed at the gateway instead of DingTalk.
const ChatBot = createRequire(import.meta.url)('dingtalk-robot-sender') as new (o: { webhook: string; secret?: string }) => {
  send(body: unknown): Promise<{ data: { errcode: number; errmsg: string } }>;
  text(content: string, at?: { atMobiles?: string[]; isAtAll?: boolean }): Promise<{ data: { errcode: number; errmsg: string } }>;
  markdown(title: string, text: string, at?: { atMobiles?: string[] }): Promise<{ data: { errcode: number; errmsg: string } }>;
};

const INGEST_TOKEN = 'ingest-token-for-ops-0123456789';

/**
 * The drop-in robot webhook: a tool configured with a robot's webhook switches to the gateway by changing the host.
 * The gateway checks what DingTalk checks, answers as DingTalk answers (only once stored), and signs again to send.
 */
describe('POST /robot/send: DingTalk robot bodies and answers', () => {
  const env = useGateway({
    switches: { deliveryMs: 20 },
    config: { delivery: { pollMs: 20 } },
    configure: (config) => {
      config.robots = config.robots!.map((r) => (r.name === 'ops' ? { ...r, ingestToken: INGEST_TOKEN } : r));
    },
  });

  const inbox = async (robot: string) => (await (await fetch(`${env.emu.url}/_emulator/api/inbox/robots/${robot}`)).json()).messages as any[];
  const accepted = async () => Number(/^dingpush_notifications_accepted_total (\d+)/m.exec(await (await fetch(`${env.gw.url}/metrics`)).text())?.[1] ?? 0);
  const post = async (query: string, body: unknown, contentType = 'application/json') => {
    const res = await fetch(`${env.gw.url}/robot/send?${query}`, {
      method: 'POST',
      headers: { 'content-type': contentType },
      body: typeof body === 'string' ? body : JSON.stringify(body),
    });
    expect(res.status).toBe(200);
    return (await res.json()) as { errcode: number; errmsg: string };
  };
  const signed = (token: string, at = Date.now(), secret = ROBOT_SECRET) => `access_token=${token}&timestamp=${at}&sign=${encodeURIComponent(robotSignature(secret, at))}`;

  it('dingtalk-robot-sender, signed, with a mention: ok, and the message reaches the group signed by the gateway', async () => {
    const bot = new ChatBot({ webhook: `${env.gw.url}/robot/send?access_token=${tokens.ops}`, secret: ROBOT_SECRET });
    const res = await bot.text('部署完成 @13600000001', { atMobiles: ['13600000001'] });
    expect(res.data).toEqual({ errcode: 0, errmsg: 'ok' });
    const md = await bot.markdown('构建结果', '#### 构建成功\n> 用时 42 s');
    expect(md.data).toEqual({ errcode: 0, errmsg: 'ok' });
    await expect.poll(async () => (await inbox('ops')).map((m) => m.message.text?.content ?? m.message.markdown?.title), { timeout: 5_000 }).toEqual(
      expect.arrayContaining(['部署完成 @13600000001', '构建结果']),
    );
    const mention = (await inbox('ops')).find((m) => m.message.text?.content === '部署完成 @13600000001');
    expect(mention.message.at.atMobiles).toEqual(['13600000001']);
  });

  it('every robot body type as DingTalk documents it, and an ingest token in place of the real one', async () => {
    const bodies = [
      { msgtype: 'link', link: { title: 'L', text: 'link body', messageUrl: 'https://example.com/a' } },
      { msgtype: 'actionCard', actionCard: { title: 'A1', text: 'one button', singleTitle: '看看', singleURL: 'https://example.com/b' } },
      { msgtype: 'actionCard', actionCard: { title: 'A2', text: 'two buttons', btns: [{ title: 'x', actionURL: 'https://example.com/x' }, { title: 'y', actionURL: 'dingtalk://dingtalkclient/page/link?url=https%3A%2F%2Fexample.com%2Fy' }] } },
      { msgtype: 'feedCard', feedCard: { links: [{ title: 'F', messageURL: 'https://example.com/f', picURL: 'https://example.com/f.png' }] } },
    ];
    for (const b of bodies) expect(await post(`access_token=${INGEST_TOKEN}`, b)).toEqual({ errcode: 0, errmsg: 'ok' });
    await expect.poll(async () => (await inbox('ops')).filter((m) => ['link', 'actionCard', 'feedCard'].includes(m.msgtype)).length, { timeout: 5_000 }).toBe(4);
  });

  it("refusals in DingTalk's words, nothing stored", async () => {
    const before = await accepted();
    const text = { msgtype: 'text', text: { content: '告警: disk full' } };
    expect(await post('access_token=nope', text)).toEqual({ errcode: 300001, errmsg: 'token is not exist' });
    expect(await post('', text)).toEqual({ errcode: 300001, errmsg: 'token is not exist' });
    expect(await post(signed(tokens.ops, Date.now(), 'SECnotthesecret'), text)).toEqual({ errcode: 310000, errmsg: 'sign not match' });
    expect(await post(signed(tokens.ops, Date.now() - 2 * 3_600_000), text)).toEqual({ errcode: 310000, errmsg: 'invalid timestamp' });
    expect(await post(`access_token=${tokens.alerts}`, { msgtype: 'text', text: { content: 'disk full' } })).toEqual({ errcode: 310000, errmsg: 'keywords not in content' });
    expect(await post(`access_token=${tokens.alerts}`, '{"msgtype":')).toEqual({ errcode: 40035, errmsg: '缺少参数 json' });
    expect(await post(`access_token=${tokens.alerts}`, 'content=告警', 'application/x-www-form-urlencoded')).toMatchObject({ errcode: 43004 });
    expect(await post(`access_token=${tokens.alerts}`, { msgtype: 'image', image: { picURL: 'https://x' } })).toMatchObject({ errcode: 400105 });
    expect(await post(`access_token=${tokens.alerts}`, { msgtype: 'markdown', markdown: { text: '告警' } })).toMatchObject({ errcode: 400402, errmsg: expect.stringContaining('markdown --》 title') });
    expect(await post(`access_token=${tokens.alerts}`, { msgtype: 'actionCard', actionCard: { title: '告警', text: 'x' } })).toMatchObject({ errcode: 400402 });
    expect(await post(`access_token=${tokens.alerts}`, { msgtype: 'text', text: { content: `告警 ${'x'.repeat(20_001)}` } })).toMatchObject({ errcode: 460101 });
    expect(await post(`access_token=${tokens.alerts}`, { msgtype: 'link', link: { title: '告警', text: 'x', messageUrl: 'javascript:alert(1)' } })).toMatchObject({ errcode: 430101 });
    expect(await accepted()).toBe(before);
    // The real token alone is still a robot's credential, as at DingTalk.
    expect(await post(`access_token=${tokens.alerts}`, text)).toEqual({ errcode: 0, errmsg: 'ok' });
    expect(await accepted()).toBe(before + 1);
  });

  it("a repeated msgUuid is DingTalk's duplicate: ok twice, one message", async () => {
    const body = { msgtype: 'text', text: { content: 'once by msgUuid' }, msgUuid: 'tool-retry-7' };
    expect(await post(signed(tokens.ops), body)).toEqual({ errcode: 0, errmsg: 'ok' });
    expect(await post(signed(tokens.ops), body)).toEqual({ errcode: 0, errmsg: 'ok' });
    await expect.poll(async () => (await inbox('ops')).filter((m) => m.message.text?.content === 'once by msgUuid').length, { timeout: 5_000 }).toBe(1);
    await new Promise((r) => setTimeout(r, 300));
    expect((await inbox('ops')).filter((m) => m.message.text?.content === 'once by msgUuid')).toHaveLength(1);
  });

  it('no secret or token in any answer', async () => {
    const answers = JSON.stringify([
      await post(signed(tokens.ops, Date.now(), 'SECnotthesecret'), { msgtype: 'text', text: { content: 'x' } }),
      await post(`access_token=${tokens.ops}`, '{'),
    ]);
    for (const s of [ROBOT_SECRET, tokens.ops, INGEST_TOKEN]) expect(answers).not.toContain(s);
  });
});
