import { describe, expect, it } from 'vitest';
import { memberId } from '../src/domain/members.js';
import type { NotificationView } from '../src/server.js';
import { type Env, PG_URL, text, useGateway, usePostgresSchema } from './helpers.js';

/**
 * Department and all-users work notifications are tracked per person (issue 9): one row per person DingTalk's
 * getsendresult names, read later, recalled with the message, counted once.
 */

// A small org (getsendresult answers only for tasks of ≤ 100 recipients): Ops (2) ⊃ SRE (5) ⊃ DBA (6), and Rest (3).
// "left" is still listed in DBA but no longer active: DingTalk reports such a person invalid.
const ORG = {
  departments: [
    { id: 1, name: 'Root' },
    { id: 2, name: 'Ops', parentId: 1 },
    { id: 5, name: 'SRE', parentId: 2 },
    { id: 6, name: 'DBA', parentId: 5 },
    { id: 3, name: 'Rest', parentId: 1 },
  ],
  users: [
    { userid: 'ops0', name: 'Ops 0', deptIds: [2] },
    { userid: 'ops1', name: 'Ops 1', deptIds: [2] },
    { userid: 'sre0', name: 'SRE 0', deptIds: [5] },
    { userid: 'sre1', name: 'SRE 1', deptIds: [5] },
    { userid: 'dba0', name: 'DBA 0', deptIds: [6] },
    { userid: 'left', name: 'Left', deptIds: [6], active: false },
    { userid: 'u0', name: 'User 0', mobile: '13600000000', deptIds: [3] },
    { userid: 'u1', name: 'User 1', mobile: '13600000001', deptIds: [3] },
    { userid: 'u2', name: 'User 2', deptIds: [3] },
    { userid: 'boss', name: 'Boss', deptIds: [1] },
  ],
};
const OPS_TREE = ['dba0', 'ops0', 'ops1', 'sre0', 'sre1'];
const EVERYONE = [...OPS_TREE, 'boss', 'u0', 'u1', 'u2'].sort();

const members = (n: NotificationView) => n.deliveries!.filter((d) => d.recipientKind === 'member');
const statusOf = (n: NotificationView) => Object.fromEntries(members(n).map((d) => [d.recipient, d.status]));
const allRead = (n: NotificationView) => members(n).every((d) => d.status === 'read' || d.status === 'invalid') && members(n).length > 0;

function suite(env: Env) {
  /** A department's (or everyone's) first send takes the whole minute of recipients: each test starts a minute on. */
  const nextMinute = () => env.advance(61_000);

  it('a department with nested sub-departments: one row per person, unread then read, counted once; polls add no row twice', async () => {
    await env.switches({ readPercent: 100, readAfterMs: 1200 });
    await nextMinute();
    const { id } = await env.api.send({ to: { deptIds: [2] }, message: text('ops tree') });
    const first = await env.api.waitFor(id, { timeoutMs: 15_000 });
    expect(first.deliveries!.filter((d) => d.recipientKind === 'dept')).toEqual([expect.objectContaining({ recipient: '2', taskId: expect.any(String) })]);
    const taskId = first.deliveries![0]!.taskId;
    expect(statusOf(first)).toEqual({ ...Object.fromEntries(OPS_TREE.map((u) => [u, 'unread'])), left: 'invalid' });
    for (const m of members(first)) expect(m).toMatchObject({ channel: 'work_notice', userid: m.recipient, taskId });
    expect(members(first).find((m) => m.recipient === 'left')).toMatchObject({ reason: 'not an active user of this organisation' });
    expect(first.counts).toEqual({ unread: 5, invalid: 1 });

    const later = await env.api.waitFor(id, { until: allRead, timeoutMs: 10_000 });
    expect(statusOf(later)).toEqual({ ...Object.fromEntries(OPS_TREE.map((u) => [u, 'read'])), left: 'invalid' });
    expect(later.counts).toEqual({ read: 5, invalid: 1 });
    // The department's row is what was sent: its summary follows its people.
    expect(later.deliveries!.find((d) => d.recipientKind === 'dept')).toMatchObject({ status: 'read', reason: expect.stringMatching(/^delivered: 5 read, 0 unread/) });
    expect(later.status).toBe('completed');

    // Several polls later, still one row per person; inserting a person again (a poll repeated after a crash) adds nothing.
    const rows = await env.gw.store.deliveries({ notificationId: id });
    expect(rows).toHaveLength(7);
    expect(new Set(rows.map((d) => d.userid ?? d.recipient)).size).toBe(7);
    const dept = rows.find((d) => d.recipientKind === 'dept')!;
    const again = await env.gw.store.transact(null, env.now(), (tx) => tx.addMembers([{ id: memberId(dept, 'ops0'), userid: 'ops0', of: dept, ambiguous: false }]));
    expect(again).toEqual([]);
    expect(await env.gw.store.deliveries({ notificationId: id })).toHaveLength(7);
    for (const u of OPS_TREE) expect((await env.inbox('users', u)).some((m) => m.message.text.content === 'ops tree')).toBe(true);
  });

  it('a recall marks every person the department reached recalled (an invalid one stays invalid)', async () => {
    await env.switches({ readPercent: 50, readAfterMs: 500 });
    await nextMinute();
    const { id } = await env.api.send({ to: { deptIds: [5] }, message: text('sre tree, recalled') });
    const sent = await env.api.waitFor(id, { timeoutMs: 15_000 });
    expect(Object.keys(statusOf(sent)).sort()).toEqual(['dba0', 'left', 'sre0', 'sre1']);
    const answer = await env.api.recall(id);
    // Counted as `counts` counts: the department's row is represented by its people (sre0, sre1, dba0).
    expect(answer).toMatchObject({ recalled: 3, notRecalled: [] });
    const n = await env.api.get(id);
    expect(statusOf(n)).toEqual({ sre0: 'recalled', sre1: 'recalled', dba0: 'recalled', left: 'invalid' });
    expect(n.deliveries!.find((d) => d.recipientKind === 'dept')!.status).toBe('recalled');
    expect(n.status).toBe('recalled');
    expect(n.counts).toEqual({ recalled: 3, invalid: 1 });
    for (const u of ['sre0', 'sre1', 'dba0'])
      expect((await env.inbox('users', u)).filter((m) => m.message.text.content === 'sre tree, recalled').map((m) => m.status)).toEqual(['recalled']);
  });
}

describe('department and all-users sends, tracked per person (SQLite)', () => {
  const env = useGateway({ editOrg: (org) => Object.assign(org, ORG) });
  suite(env);

  it('all users: one row per active person of the org, the one who left invalid', async () => {
    await env.switches({ readPercent: 0 });
    await env.advance(61_000);
    const { id } = await env.api.send({ to: { allUsers: true }, message: text('everyone') });
    const n = await env.api.waitFor(id, { timeoutMs: 15_000 });
    expect(n.deliveries!.filter((d) => d.recipientKind === 'all')).toHaveLength(1);
    expect(statusOf(n)).toEqual({ ...Object.fromEntries(EVERYONE.map((u) => [u, 'unread'])), left: 'invalid' });
    expect(n.counts).toEqual({ unread: 9, invalid: 1 });
  });

  it('a person the notification also names by userid is tracked by that row alone', async () => {
    await env.advance(61_000);
    const { id } = await env.api.send({ to: { userIds: ['ops0'], deptIds: [2] }, message: text('named and in the department') });
    await env.advance(61_000);
    const n = await env.api.waitFor(id, { timeoutMs: 15_000 });
    expect(members(n).map((d) => d.recipient).sort()).toEqual(['left', 'ops1', 'sre0', 'sre1', 'dba0'].sort());
    expect(n.deliveries!.filter((d) => d.userid === 'ops0' || d.recipient === 'ops0')).toHaveLength(1);
    expect(Object.values(n.counts).reduce((a, b) => a + b, 0)).toBe(6);
  });
});

describe('department sends tracked per person (PostgreSQL)', () => {
  const schema = usePostgresSchema('members');
  const env = useGateway({ editOrg: (org) => Object.assign(org, ORG), config: { store: { postgres: PG_URL, schema } } });
  suite(env);
});
