import { afterAll, beforeAll, beforeEach } from 'vitest';
import { type OrgInput, parseOrg, type RunningEmulator, startEmulator } from '../src/index.js';

export const APP = { name: 'main', appKey: 'dingmainapp', appSecret: 'main-secret', agentId: 2001, robotCode: 'dingmainapp' };
export const OTHER_APP = { name: 'other', appKey: 'dingotherapp', appSecret: 'other-secret', agentId: 2002 };
export const SIGN_SECRET = 'SECtestsecret0123456789';

/** A small org: 3 departments (3 under 2), 5 named users plus 120 "bulk" users in department 9. */
export function testOrg(switches: OrgInput['switches'] = {}): OrgInput {
  const bulk = Array.from({ length: 120 }, (_, i) => ({ userid: `bulk${i}`, name: `Bulk ${i}`, deptIds: [9] }));
  return {
    apps: [APP, OTHER_APP],
    departments: [
      { id: 1, name: 'Root' },
      { id: 2, name: 'Ops', parentId: 1 },
      { id: 3, name: 'SRE', parentId: 2 },
      { id: 9, name: 'Bulk', parentId: 1 },
    ],
    users: [
      { userid: 'alice', name: 'Alice', mobile: '13900000001', deptIds: [2] },
      { userid: 'bob', name: 'Bob', mobile: '13900000002', deptIds: [3] },
      { userid: 'carol', name: 'Carol', mobile: '13900000003', deptIds: [1] },
      { userid: 'dave', name: 'Dave', mobile: '13900000004', deptIds: [3] },
      { userid: 'erin', name: 'Erin', mobile: '13900000005', deptIds: [1], deliveryFails: true },
      ...bulk,
    ],
    robots: [
      { name: 'open', accessToken: 'open'.padEnd(64, '0') },
      { name: 'signed', accessToken: 'sign'.padEnd(64, '0'), secret: SIGN_SECRET },
      { name: 'kw', accessToken: 'kwkw'.padEnd(64, '0'), keywords: ['告警', 'alert'] },
      { name: 'ipblocked', accessToken: 'ipno'.padEnd(64, '0'), ipWhitelist: ['10.0.0.0/8'] },
      { name: 'ipok', accessToken: 'ipok'.padEnd(64, '0'), ipWhitelist: ['127.0.0.0/24'] },
    ],
    chats: [{ chatid: 'chat1', openConversationId: 'cid1==', name: 'Ops group', owner: 'alice', members: ['alice', 'bob', 'carol'] }],
    switches: { deliveryMs: 1000, ...switches },
  };
}

/** Starts one emulator for the file and resets it before each test. */
export function useEmulator(switches: OrgInput['switches'] = {}) {
  const ctx = { url: '', emu: undefined as unknown as RunningEmulator };
  beforeAll(async () => {
    ctx.emu = await startEmulator({ org: parseOrg(testOrg(switches)), port: 0 });
    ctx.url = ctx.emu.url;
  });
  afterAll(async () => ctx.emu?.close());
  beforeEach(async () => {
    await fetch(`${ctx.url}/_emulator/api/reset`, { method: 'POST' });
  });
  return ctx;
}

export type Json = Record<string, any>;

export async function getJson(url: string, init?: RequestInit): Promise<{ status: number; body: Json }> {
  const res = await fetch(url, init);
  const text = await res.text();
  let body: Json;
  try {
    body = JSON.parse(text);
  } catch {
    body = { text };
  }
  return { status: res.status, body };
}

export async function token(base: string, app = APP): Promise<string> {
  const { body } = await getJson(`${base}/gettoken?appkey=${app.appKey}&appsecret=${app.appSecret}`);
  if (body.errcode !== 0) throw new Error(`gettoken failed: ${JSON.stringify(body)}`);
  return body.access_token;
}

/** POST JSON to an oapi path with ?access_token=. */
export async function oapi(base: string, path: string, tok: string, body: unknown) {
  const sep = path.includes('?') ? '&' : '?';
  return getJson(`${base}${path}${sep}access_token=${tok}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
}

export async function newApi(base: string, method: string, path: string, tok: string, body?: unknown) {
  return getJson(`${base}${path}`, {
    method,
    headers: { 'x-acs-dingtalk-access-token': tok, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  });
}

export async function advance(base: string, ms: number): Promise<void> {
  await fetch(`${base}/_emulator/api/clock`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ advanceMs: ms }),
  });
}

export async function inbox(base: string, kind: 'users' | 'robots' | 'chats', id: string): Promise<Json[]> {
  return (await getJson(`${base}/_emulator/api/inbox/${kind}/${id}`)).body.messages;
}

export async function fault(base: string, f: Json): Promise<void> {
  await fetch(`${base}/_emulator/api/faults`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(f),
  });
}

export const SEND = '/topapi/message/corpconversation/asyncsend_v2';
export const text = (content: string) => ({ msgtype: 'text', text: { content } });

export async function setSwitches(base: string, switches: Json): Promise<void> {
  const res = await fetch(`${base}/_emulator/api/switches`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(switches),
  });
  if (!res.ok) throw new Error(`switches: ${await res.text()}`);
}
