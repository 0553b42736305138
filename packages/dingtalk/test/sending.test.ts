import { Readable } from 'node:stream';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { DingTalkValidationError, RobotClient, robotSignature } from '../src/index.js';
import { advance, appClient, calls, inbox, inject, OPEN_ROBOT_TOKEN, ROBOT_SECRET, ROBOT_TOKEN, SEND, useEmulator } from './helpers.js';

describe('robot signature', () => {
  it('matches the known-answer vector of §6.2', () => {
    expect(robotSignature('SECtestsecret0123456789', 1700000000000)).toBe('zrLWzK97t62y5CpqN8Ok9UIdPvX+jL1PNoW8nKT5a9k=');
    expect(encodeURIComponent(robotSignature('SECtestsecret0123456789', '1700000000000'))).toBe('zrLWzK97t62y5CpqN8Ok9UIdPvX%2BjL1PNoW8nKT5a9k%3D');
  });
});

describe('sending with the client', () => {
  const ctx = useEmulator();

  it('directory: mobile → userid with hits and misses cached; legacy endpoint; user details; departments', async () => {
    const app = appClient(ctx.url);
    expect(await app.getUserIdByMobile('13700000007')).toBe('u7');
    expect(await app.getUserIdByMobile('13700000007')).toBe('u7');
    expect(await app.getUserIdByMobile('13999999999')).toBeNull();
    expect(await app.getUserIdByMobile('13999999999')).toBeNull();
    expect(await calls(ctx.url, '/topapi/v2/user/getbymobile')).toHaveLength(2);
    expect(await app.getUserIdByMobile('13700000008', { legacy: true })).toBe('u8');
    expect((await app.getUser('u9')).name).toBe('User 9');
    expect((await app.listSubDepartments()).map((d) => d.deptId)).toEqual([2, 3]);
    expect(await app.listDepartmentUserIds(3)).toHaveLength(150);
    await app.close();
  });

  it('work notifications: 250 userids go out in 3 calls; progress, result, recall, status bar', async () => {
    const app = appClient(ctx.url);
    const users = Array.from({ length: 250 }, (_, i) => `u${i}`);
    const { taskIds } = await app.sendWorkNotice({ userIds: users }, { type: 'markdown', title: '周报', text: '## 本周' });
    expect(taskIds).toHaveLength(3);
    expect(await calls(ctx.url, SEND)).toHaveLength(3);
    expect(await app.getSendProgress(taskIds[0]!)).toEqual({ percent: 100, status: 2 });
    await advance(ctx.url, 2000);
    const result = await app.getSendResult(taskIds[0]!);
    expect(result.readUserIds.length + result.unreadUserIds.length).toBe(100);
    expect(result.readUserIds.length).toBeGreaterThan(0);
    await app.recallWorkNotice(taskIds[2]!);
    expect((await inbox(ctx.url, 'users', 'u249'))[0].status).toBe('recalled');

    const oa = await app.sendWorkNoticeOnce({ userIds: ['u1'] }, {
      type: 'oa',
      messageUrl: 'https://example.com',
      head: { bgcolor: 'FFBBBBBB' },
      body: { title: '请假', form: [{ key: '天数', value: '2' }] },
      statusBar: { value: '待审批' },
    });
    await app.updateStatusBar(oa, '已同意', '0xFF78C06E');
    const [msg] = (await inbox(ctx.url, 'users', 'u1')).filter((m) => m.msgtype === 'oa');
    expect(msg.message.oa.status_bar).toEqual({ status_value: '已同意', status_bg: '0xFF78C06E' });
    await app.close();
  });

  it('work notifications split departments into calls of 20 and report filtering per user', async () => {
    const app = appClient(ctx.url);
    const { taskIds } = await app.sendWorkNotice({ userIds: ['u1'], deptIds: Array.from({ length: 21 }, () => 2) }, { type: 'text', content: 'dept' });
    expect(taskIds).toHaveLength(2);
    const again = await app.sendWorkNoticeOnce({ userIds: ['u1'] }, { type: 'text', content: 'dept' });
    expect((await app.getSendResult(again)).forbidden).toEqual([{ userid: 'u1', code: '143106', count: 1 }]);
    await expect(app.sendWorkNoticeOnce({ userIds: Array.from({ length: 101 }, (_, i) => `u${i}`) }, { type: 'text', content: 'x' })).rejects.toThrow(
      DingTalkValidationError,
    );
    await app.close();
  });

  it('custom robot: signed send with mentions filled and the @ text added', async () => {
    const robot = new RobotClient({ webhook: `${ctx.url}/robot/send?access_token=${ROBOT_TOKEN}`, secret: ROBOT_SECRET });
    await robot.send({ type: 'markdown', title: '告警', text: '**disk** full' }, { mentions: { mobiles: ['13700000001'], userIds: ['u2'] } });
    const [msg] = await inbox(ctx.url, 'robots', 'signed');
    expect(msg.message.markdown.text).toBe('**disk** full\n@13700000001 @u2');
    expect(msg.message.at).toEqual({ atMobiles: ['13700000001'], atUserIds: ['u2'] });
    expect(msg.mentions).toEqual({ notified: ['13700000001', 'u2'], notNotified: [], all: false });
    await robot.close();
  });

  it('custom robot: a lost answer is retried with the same msgUuid, and the group sees one message', async () => {
    const robot = new RobotClient({ webhook: `${ctx.url}/robot/send?access_token=${OPEN_ROBOT_TOKEN}`, retry: { baseDelayMs: 10 } });
    await inject(ctx.url, { path: '/robot/send', kind: 'latency', latencyMs: 0, count: 1 });
    await robot.send({ type: 'text', content: 'once' }, { msgUuid: 'fixed-uuid' });
    await robot.send({ type: 'text', content: 'once' }, { msgUuid: 'fixed-uuid' });
    expect(await inbox(ctx.url, 'robots', 'open')).toHaveLength(1);
    await robot.close();
  });

  it('custom robot: a 5xx answer is retried and delivered exactly once', async () => {
    const robot = new RobotClient({ webhook: `${ctx.url}/robot/send?access_token=${OPEN_ROBOT_TOKEN}`, retry: { baseDelayMs: 10 } });
    await inject(ctx.url, { path: '/robot/send', kind: 'http5xx', count: 1 });
    await robot.send({ type: 'link', title: 't', text: 'x', messageUrl: 'https://example.com' });
    expect(await inbox(ctx.url, 'robots', 'open')).toHaveLength(1);
    expect(await calls(ctx.url, '/robot/send')).toHaveLength(2);
    await robot.close();
  });

  it('custom robot: mentions on a type that cannot @ are refused before any call', async () => {
    const robot = new RobotClient({ webhook: `${ctx.url}/robot/send?access_token=${OPEN_ROBOT_TOKEN}` });
    await expect(robot.send({ type: 'link', title: 't', text: 'x', messageUrl: 'https://e' }, { mentions: { mobiles: ['1'] } })).rejects.toThrow('mentions');
    expect(await calls(ctx.url, '/robot/send')).toHaveLength(0);
    await robot.close();
  });

  it('app robot: one-to-one in calls of 20, read status, recall; group send, query and recall', async () => {
    const app = appClient(ctx.url);
    const users = Array.from({ length: 45 }, (_, i) => `u${i}`);
    const batches = await app.sendRobotOto(users, { type: 'action_card', title: '发布', markdown: '上线?', buttons: [{ title: '是', url: 'https://y' }, { title: '否', url: 'https://n' }], buttonOrientation: 'horizontal' });
    expect(batches.map((b) => b.userIds.length)).toEqual([20, 20, 5]);
    expect((await inbox(ctx.url, 'users', 'u0'))[0].msgtype).toBe('sampleActionCard6');
    await advance(ctx.url, 1500);
    const status = await app.getOtoReadStatus(batches[0]!.processQueryKey);
    expect(status.sendStatus).toBe('SUCCESS');
    expect(status.reads.some((r) => r.read)).toBe(true);
    expect(status.reads.some((r) => !r.read)).toBe(true);
    const recall = await app.recallOto(batches.map((b) => b.processQueryKey));
    expect(recall.recalled).toHaveLength(3);
    expect((await app.getOtoReadStatus(batches[0]!.processQueryKey)).sendStatus).toBe('RECALLED');

    const key = await app.sendRobotGroup('cidA==', { type: 'markdown', title: 't', text: '**x**' });
    const q = await app.queryGroupMessage(key, { maxResults: 10 });
    expect(q).toMatchObject({ sendStatus: 'SUCCESS', hasMore: false });
    expect((await app.recallGroup('cidA==', [key])).recalled).toEqual([key]);
    await app.close();
  });

  it('legacy chat/send', async () => {
    const app = appClient(ctx.url);
    expect(await app.sendChat('chatA', { type: 'text', content: 'hello' })).toMatch(/^msg/);
    expect(await inbox(ctx.url, 'chats', 'chatA')).toHaveLength(1);
    await app.close();
  });

  it('media upload from a Buffer, a stream and a path; the id works in a message', async () => {
    const app = appClient(ctx.url);
    const a = await app.uploadMedia('image', Buffer.from('png-bytes'), 'a.png');
    const b = await app.uploadMedia('file', Readable.from([Buffer.from('pdf'), Buffer.from('-bytes')]), 'b.pdf');
    const dir = mkdtempSync(join(tmpdir(), 'dingpush-media-'));
    writeFileSync(join(dir, 'c.amr'), 'amr-bytes');
    const c = await app.uploadMedia('voice', join(dir, 'c.amr'));
    expect([a.type, b.type, c.type]).toEqual(['image', 'file', 'voice']);
    expect(await app.sendWorkNoticeOnce({ userIds: ['u3'] }, { type: 'voice', mediaId: c.mediaId, durationSeconds: 12 })).toBeGreaterThan(0);
    // What DingTalk would refuse (40005 format, 40006 size, 44001 empty) is refused before the call, by the rules table.
    const calls = (await (await fetch(`${ctx.url}/_emulator/api/calls?path=/media/upload`)).json()).calls.length;
    await expect(app.uploadMedia('image', Buffer.from('x'), 'a.exe')).rejects.toMatchObject({ name: 'DingTalkValidationError', path: 'media', rule: expect.stringMatching(/image must be one of jpg/) });
    await expect(app.uploadMedia('voice', Buffer.alloc(3 * 1024 * 1024), 'big.mp3')).rejects.toMatchObject({ rule: expect.stringMatching(/at most 2 MB/) });
    expect((await (await fetch(`${ctx.url}/_emulator/api/calls?path=/media/upload`)).json()).calls.length).toBe(calls);
    await app.close();
  });
});
