import { afterAll, beforeAll, beforeEach } from 'vitest';
import { parseOrg, type RunningEmulator, startEmulator } from '@dingpush/emulator';
import { type ClientOptions, DingTalkApp } from '../src/index.js';

export const APP = { name: 'main', appKey: 'dingmainapp', appSecret: 'main-secret-value-7f3a', agentId: 3001, robotCode: 'dingmainapp' };
export const ROBOT_SECRET = 'SECrobotsecret00000000000000000000000000000000000000000000000000000';
export const ROBOT_TOKEN = 'c'.repeat(64);
export const OPEN_ROBOT_TOKEN = 'd'.repeat(64);

export function useEmulator(switches: Record<string, unknown> = {}) {
  const ctx = { url: '', emu: undefined as unknown as RunningEmulator };
  beforeAll(async () => {
    const users = Array.from({ length: 300 }, (_, i) => ({ userid: `u${i}`, name: `User ${i}`, mobile: `1370000${String(i).padStart(4, '0')}`, deptIds: [i < 150 ? 2 : 3] }));
    ctx.emu = await startEmulator({
      port: 0,
      org: parseOrg({
        apps: [APP],
        departments: [{ id: 1, name: 'Root' }, { id: 2, name: 'A', parentId: 1 }, { id: 3, name: 'B', parentId: 1 }],
        users,
        robots: [
          { name: 'signed', accessToken: ROBOT_TOKEN, secret: ROBOT_SECRET },
          { name: 'open', accessToken: OPEN_ROBOT_TOKEN },
        ],
        chats: [{ chatid: 'chatA', openConversationId: 'cidA==', name: 'A', owner: 'u0', members: ['u0', 'u1'] }],
        switches: { deliveryMs: 0, readAfterMs: 1000, readPercent: 50, ...switches },
      }),
    });
    ctx.url = ctx.emu.url;
  });
  afterAll(async () => ctx.emu?.close());
  beforeEach(async () => {
    await fetch(`${ctx.url}/_emulator/api/reset`, { method: 'POST' });
  });
  return ctx;
}

export function appClient(url: string, opts: ClientOptions = {}, creds = APP): DingTalkApp {
  return new DingTalkApp(creds, { oapiBaseUrl: url, apiBaseUrl: url, retry: { baseDelayMs: 10, maxDelayMs: 50 }, ...opts });
}

export async function calls(url: string, path?: string): Promise<{ path: string; errcode?: number | string }[]> {
  const q = path ? `?path=${encodeURIComponent(path)}` : '';
  return (await (await fetch(`${url}/_emulator/api/calls${q}`)).json()).calls;
}

export async function inject(url: string, fault: Record<string, unknown>): Promise<void> {
  await fetch(`${url}/_emulator/api/faults`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(fault) });
}

export async function advance(url: string, ms: number): Promise<void> {
  await fetch(`${url}/_emulator/api/clock`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ advanceMs: ms }) });
}

export async function inbox(url: string, kind: 'users' | 'robots' | 'chats', id: string): Promise<any[]> {
  return (await (await fetch(`${url}/_emulator/api/inbox/${kind}/${id}`)).json()).messages;
}

export const SEND = '/topapi/message/corpconversation/asyncsend_v2';
