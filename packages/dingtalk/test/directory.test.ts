import { parseOrg, type RunningEmulator, startEmulator } from '@dingpush/emulator';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DingTalkError, DingTalkValidationError } from '../src/index.js';
import { APP, appClient } from './helpers.js';

/**
 * The org walk against the emulator: nested departments (a tree three levels deep), 320 people, one of them in two
 * departments, one without a mobile, one who left (inactive: DingTalk no longer lists them).
 */
describe('directory: department users and the org walk', () => {
  let emu: RunningEmulator;
  const departments = [
    { id: 1, name: 'Root' },
    { id: 2, name: 'Eng', parentId: 1 },
    { id: 3, name: 'Sales', parentId: 1 },
    { id: 4, name: 'Backend', parentId: 2 },
    { id: 5, name: 'Frontend', parentId: 2 },
    { id: 6, name: 'DB', parentId: 4 },
  ];
  beforeAll(async () => {
    // 320 people spread over the 6 departments (Backend gets 150: two pages), plus the special cases.
    const users = Array.from({ length: 320 }, (_, i) => ({
      userid: `p${i}`,
      name: `Person ${i}`,
      mobile: `1380000${String(i).padStart(4, '0')}`,
      deptIds: [i < 150 ? 4 : ([1, 2, 3, 5, 6][i % 5] as number)],
    }));
    users[0]!.deptIds = [4, 3];
    users.push({ userid: 'nomobile', name: 'No Mobile', deptIds: [6] } as (typeof users)[number]);
    users.push({ userid: 'gone', name: 'Gone', mobile: '13899999999', deptIds: [2], active: false } as never);
    emu = await startEmulator({ port: 0, org: parseOrg({ apps: [APP, { ...APP, name: 'nocontacts', appKey: 'dingnocontacts', scopes: ['workNotice'] }], departments, users }) });
  });
  afterAll(async () => emu?.close());

  it('listDepartmentUsers reads one page and says where the next one starts', async () => {
    const client = appClient(emu.url);
    const first = await client.listDepartmentUsers(4, 0, 100);
    expect(first.users).toHaveLength(100);
    expect(first).toMatchObject({ hasMore: true, nextCursor: 100 });
    expect(first.users[0]).toEqual({ userid: 'p0', name: 'Person 0', mobile: '13800000000', deptIds: [4, 3] });
    const second = await client.listDepartmentUsers(4, 100, 100);
    expect(second).toMatchObject({ hasMore: false, nextCursor: null });
    expect(second.users).toHaveLength(50);
    const db = await client.listDepartmentUsers(6);
    expect(db.users.find((u) => u.userid === 'nomobile')).toMatchObject({ mobile: null });
    await expect(client.listDepartmentUsers(4, 0, 101)).rejects.toBeInstanceOf(DingTalkValidationError);
    await expect(client.listDepartmentUsers(77)).rejects.toMatchObject({ code: 60003 });
    await client.close();
  });

  it('walkOrg visits every department breadth-first and every page: each active person once, every call paced', async () => {
    const paced: string[] = [];
    const client = appClient(emu.url, {
      beforeCall: async (api) => {
        paced.push(api);
      },
    });
    const before = (await (await fetch(`${emu.url}/_emulator/api/calls`)).json()).calls.length;
    const walk = await client.walkOrg();
    expect(walk.departments).toEqual([1, 2, 3, 4, 5, 6]);
    expect(walk.users).toHaveLength(321);
    expect(walk.users.some((u) => u.userid === 'gone')).toBe(false);
    expect(walk.users.find((u) => u.userid === 'p0')!.deptIds.sort()).toEqual([3, 4]);
    expect(new Set(walk.users.map((u) => u.userid)).size).toBe(321);
    // 6 listings + one page for each department, two for Backend's 150.
    expect(walk.calls).toBe(6 + 7);
    const calls = (await (await fetch(`${emu.url}/_emulator/api/calls`)).json()).calls.slice(before) as { path: string; errcode: number }[];
    const walked = calls.filter((c) => c.path !== '/v1.0/oauth2/accessToken');
    expect(walked).toHaveLength(13);
    expect(walked.every((c) => c.errcode === 0)).toBe(true);
    // Every request went through the pacing hook, the token fetch included.
    expect(paced.filter((p) => p !== '/v1.0/oauth2/accessToken')).toHaveLength(13);
    expect(paced).toContain('/topapi/v2/user/list');
    expect(paced).toContain('/topapi/v2/department/listsubid');
    await client.close();
  });

  it('an app without the contacts permission fails the walk with DingTalk\'s 88 / 60011, not retried', async () => {
    const client = appClient(emu.url, {}, { ...APP, appKey: 'dingnocontacts' });
    const err = await client.walkOrg().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DingTalkError);
    expect(err).toMatchObject({ retryable: false });
    expect(String((err as DingTalkError).message)).toContain('60011');
    await client.close();
  });
});
