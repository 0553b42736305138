import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type OrgInput, parseOrg, type RunningEmulator, startEmulator } from '@dingpush/emulator';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ConfigInput, type DingpushApiError, DingpushClient, parseConfig, type RunningGateway, startGateway } from '../src/server.js';
import { run } from './process.js';
import { API_KEY, APP, gatewayConfig, LIMITED_KEY, PG_URL, SEND, text, usePostgresSchema } from './helpers.js';

const NO_CONTACTS = { name: 'nocontacts', appKey: 'dingnocontactsgw', appSecret: 'nocontacts-secret-0123456789', agentId: 4002 };
const LOOKUPS = ['/topapi/v2/user/getbymobile', '/user/get_by_mobile'];

/** 330 people in a tree of departments three levels deep (Backend has 150: two pages of members). */
function nestedOrg(): OrgInput {
  const depts = [1, 2, 3, 5, 6];
  return {
    apps: [APP, { ...NO_CONTACTS, scopes: ['workNotice'] }],
    departments: [
      { id: 1, name: 'Root' },
      { id: 2, name: 'Eng', parentId: 1 },
      { id: 3, name: 'Sales', parentId: 1 },
      { id: 4, name: 'Backend', parentId: 2 },
      { id: 5, name: 'Frontend', parentId: 2 },
      { id: 6, name: 'DB', parentId: 4 },
    ],
    users: Array.from({ length: 330 }, (_, i) => ({
      userid: `d${i}`,
      name: `Person ${i}`,
      mobile: `1371111${String(i).padStart(4, '0')}`,
      deptIds: [i < 150 ? 4 : depts[i % 5]!],
    })),
    switches: { deliveryMs: 100, readAfterMs: 500, readPercent: 50 },
  };
}

const mobileOf = (i: number) => `1371111${String(i).padStart(4, '0')}`;

interface DirEnv {
  emu: RunningEmulator;
  gw: RunningGateway;
  api: DingpushClient;
  calls(path?: string): Promise<{ path: string; errcode?: number | string; app?: string }[]>;
}

function useDirectoryGateway(store?: () => ConfigInput['store'], overrides: Partial<ConfigInput> = {}): DirEnv {
  const env = {} as DirEnv;
  beforeAll(async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'dingpush-dir-'));
    env.emu = await startEmulator({ org: parseOrg(nestedOrg()), port: 0 });
    const input = gatewayConfig(env.emu.url, dataDir, { apps: [APP, NO_CONTACTS], ...overrides });
    if (store) input.store = store();
    env.gw = await startGateway(parseConfig(input));
    env.api = new DingpushClient({ url: env.gw.url, apiKey: API_KEY });
    env.calls = async (path) => (await (await fetch(`${env.emu.url}/_emulator/api/calls${path ? `?path=${encodeURIComponent(path)}` : ''}`)).json()).calls;
  });
  afterAll(async () => {
    await env.gw?.close();
    await env.emu?.close();
  });
  return env;
}

const lookups = async (env: DirEnv) => (await env.calls()).filter((c) => LOOKUPS.includes(c.path)).length;

function directoryTests(label: string, store?: () => ConfigInput['store']) {
  describe(`directory sync (${label})`, () => {
    const env = useDirectoryGateway(store);

    it('a sync lists the nested org in a handful of calls; 300 cold mobiles then resolve with no per-mobile lookup', async () => {
      const sync = await env.api.syncDirectory();
      // 6 department listings + 7 pages of members (Backend's 150 take two).
      expect(sync).toMatchObject({ app: APP.name, users: 330, departments: 6, calls: 13 });
      const listed = (await env.calls('/topapi/v2/user/list')).length;
      expect(listed).toBe(7);

      // Mobiles as senders write them: bare, with +86, with dashes.
      const mobiles = Array.from({ length: 300 }, (_, i) => {
        const m = mobileOf(i);
        return i % 3 === 0 ? m : i % 3 === 1 ? `+86${m}` : `${m.slice(0, 3)}-${m.slice(3, 7)}-${m.slice(7)}`;
      });
      const sendsBefore = (await env.calls(SEND)).length;
      const { id } = await env.api.send({ to: { mobiles }, message: text('目录同步后的通知') });
      const n = await env.api.waitFor(id, { timeoutMs: 30_000 });
      expect(await lookups(env)).toBe(0);
      expect(n.deliveries).toHaveLength(300);
      expect(n.deliveries!.every((d) => d.status === 'read' || d.status === 'unread')).toBe(true);
      expect(n.deliveries!.find((d) => d.recipient === `+86${mobileOf(1)}`)).toMatchObject({ userid: 'd1' });
      // Three full batches of 100, each one call.
      expect((await env.calls(SEND)).length - sendsBefore).toBe(3);
      for (let i = 0; i < 300; i++) {
        const inbox = (await (await fetch(`${env.emu.url}/_emulator/api/inbox/users/d${i}`)).json()).messages as { message: { text?: { content: string } } }[];
        expect(inbox.some((m) => m.message.text?.content === '目录同步后的通知')).toBe(true);
      }
    });

    it('a mobile the directory does not know still resolves by one lookup; an unknown one is invalid', async () => {
      env.emu.state.org.users.push({ userid: 'newcomer', name: 'Newcomer', mobile: '13722220000', deptIds: [3], active: true, deliveryFails: false });
      try {
        const before = await lookups(env);
        const { id } = await env.api.send({ to: { mobiles: ['13722220000', mobileOf(5), '13799999999'] }, message: text('新同事') });
        const n = await env.api.waitFor(id, { timeoutMs: 20_000 });
        const by = Object.fromEntries(n.deliveries!.map((d) => [d.recipient, d]));
        expect(by['13722220000']).toMatchObject({ userid: 'newcomer' });
        expect(['read', 'unread']).toContain(by['13722220000']!.status);
        expect(by[mobileOf(5)]).toMatchObject({ userid: 'd5' });
        expect(by['13799999999']).toMatchObject({ status: 'invalid' });
        // Only the two mobiles the directory lacks were looked up.
        expect((await lookups(env)) - before).toBe(2);
      } finally {
        env.emu.state.org.users.pop();
      }
    });

    it('GET /v1/directory/users finds by mobile in any spelling, by userid, and pages by userid', async () => {
      const byMobile = await env.api.directoryUsers({ mobile: `+86-${mobileOf(242)}` });
      expect(byMobile.items).toEqual([{ userid: 'd242', name: 'Person 242', mobile: mobileOf(242), deptIds: [3], syncedAt: expect.any(String) }]);
      expect(byMobile.sync).toMatchObject({ users: 330, departments: 6, error: null, running: false, finishedAt: expect.any(String) });
      expect((await env.api.directoryUsers({ userid: 'd0' })).items[0]).toMatchObject({ mobile: mobileOf(0), deptIds: [4] });
      const seen = new Set<string>();
      let cursor: string | undefined;
      for (;;) {
        const page = await env.api.directoryUsers({ limit: 200, ...(cursor ? { cursor } : {}) });
        for (const u of page.items) seen.add(u.userid);
        if (!page.nextCursor) break;
        cursor = page.nextCursor;
      }
      expect(seen.size).toBe(330);
    });

    it('a sync replaces the directory as a whole: someone gone from the org is gone from it', async () => {
      const users = env.emu.state.org.users;
      const leaver = users.findIndex((u) => u.userid === 'd7');
      const [gone] = users.splice(leaver, 1);
      try {
        expect(await env.api.syncDirectory()).toMatchObject({ users: 329 });
        expect((await env.api.directoryUsers({ userid: 'd7' })).items).toEqual([]);
        expect((await env.api.directoryUsers({ mobile: mobileOf(7) })).items).toEqual([]);
      } finally {
        users.splice(leaver, 0, gone!);
      }
      expect(await env.api.syncDirectory()).toMatchObject({ users: 330 });
    });

    it('a second sync of the app while one runs is 409; the first completes', async () => {
      const [a, b] = await Promise.allSettled([env.api.syncDirectory(), env.api.syncDirectory()]);
      const outcomes = [a, b].map((r) => (r.status === 'fulfilled' ? 200 : (r.reason as DingpushApiError).status)).sort();
      expect(outcomes).toEqual([200, 409]);
      const refused = [a, b].find((r) => r.status === 'rejected') as PromiseRejectedResult;
      expect(refused.reason).toMatchObject({ code: 'sync_running' });
      expect((await env.api.directoryUsers({ limit: 1 })).sync).toMatchObject({ running: false, users: 330 });
    });

    it("an app without the contacts permission: 502 with DingTalk's code and message, the error recorded, its directory untouched", async () => {
      const res = await fetch(`${env.gw.url}/v1/directory/sync`, {
        method: 'POST',
        headers: { authorization: `Bearer ${API_KEY}`, 'content-type': 'application/json' },
        body: JSON.stringify({ app: NO_CONTACTS.name }),
      });
      expect(res.status).toBe(502);
      const body = await res.json();
      expect(body.error).toMatchObject({ code: 'dingtalk_refused', dingtalk: { code: '88/60011', message: '没有调用该接口的权限' } });
      expect(JSON.stringify(body)).not.toContain(NO_CONTACTS.appSecret);
      const page = await env.api.directoryUsers({ app: NO_CONTACTS.name });
      expect(page).toMatchObject({ items: [], sync: { error: expect.stringContaining('60011'), running: false, finishedAt: null } });
      // The main app's directory is its own.
      expect((await env.api.directoryUsers({ limit: 1 })).items).toHaveLength(1);
    });

    it('bad input is a 400 naming the field and the rule; a key limited to other apps is 403', async () => {
      const post = (body: unknown, key = API_KEY) =>
        fetch(`${env.gw.url}/v1/directory/sync`, { method: 'POST', headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' }, body: JSON.stringify(body) });
      const unknown = await post({ app: 'nope' });
      expect(unknown.status).toBe(400);
      expect((await unknown.json()).error).toMatchObject({ code: 'invalid_request', path: 'app', message: 'no app named "nope"' });
      const extra = await post({ app: APP.name, force: true });
      expect(extra.status).toBe(400);
      expect((await extra.json()).error).toMatchObject({ code: 'invalid_request' });
      expect((await post({}, LIMITED_KEY)).status).toBe(403);
      const badMobile = await fetch(`${env.gw.url}/v1/directory/users?mobile=abc`, { headers: { authorization: `Bearer ${API_KEY}` } });
      expect(badMobile.status).toBe(400);
      expect((await badMobile.json()).error).toMatchObject({ path: 'mobile', message: expect.stringContaining('phone number') });
      const badLimit = await fetch(`${env.gw.url}/v1/directory/users?limit=0`, { headers: { authorization: `Bearer ${API_KEY}` } });
      expect((await badLimit.json()).error).toMatchObject({ path: 'limit' });
      expect((await fetch(`${env.gw.url}/v1/directory/users`)).status).toBe(401);
      await expect(env.api.directoryUsers({ app: 'nope' })).rejects.toMatchObject({ status: 400, path: 'app' });
    });
  });
}

directoryTests('SQLite');

describe('dingpush directory (CLI)', () => {
  const env = useDirectoryGateway();
  const gw = () => ['--url', env.gw.url, '--key', API_KEY];

  it('directory sync, then directory users --mobile; errors are one line and a non-zero exit', async () => {
    const sync = await run(['directory', 'sync', ...gw()]);
    expect(sync.code).toBe(0);
    expect(sync.stdout.trim()).toMatch(/^main: 330 users in 6 departments \(13 DingTalk calls, \d+ ms\)$/);
    const user = await run(['directory', 'users', ...gw(), '--mobile', `+86-${mobileOf(9)}`]);
    expect(user.code).toBe(0);
    expect(user.stdout).toMatch(new RegExp(`^d9 +${mobileOf(9)} +Person 9  \\[4\\]`));
    const json = await run(['directory', 'users', ...gw(), '--userid', 'd9', '--json']);
    expect(JSON.parse(json.stdout).items[0]).toMatchObject({ userid: 'd9', mobile: mobileOf(9) });
    const unknown = await run(['directory', 'sync', ...gw(), '--app', 'nope']);
    expect(unknown.code).not.toBe(0);
    expect(unknown.stderr.trim()).toBe('dingpush: app: no app named "nope"');
    const refused = await run(['directory', 'sync', ...gw(), '--app', NO_CONTACTS.name]);
    expect(refused.code).not.toBe(0);
    expect(refused.stderr.trim().split('\n')).toHaveLength(1);
    expect(refused.stderr).toContain('88/60011');
  });
});
directoryTests('PostgreSQL', () => ({ postgres: PG_URL, schema: usePostgresSchema('directory') }));

describe('scheduled directory sync', () => {
  const env = useDirectoryGateway(undefined, { directory: { syncEveryMs: 1_000, apps: [APP.name] } });

  it('fills the directory without being asked, for the configured apps only', async () => {
    await expect.poll(async () => (await env.api.directoryUsers({ limit: 1 })).sync?.users, { timeout: 10_000 }).toBe(330);
    expect((await env.api.directoryUsers({ app: NO_CONTACTS.name })).sync).toBeNull();
  });

  it('directory.apps naming an unknown app is refused at start, naming the key', () => {
    expect(() => parseConfig(gatewayConfig('http://127.0.0.1:1', '/tmp', { directory: { apps: ['ghost'] } }))).toThrow(/directory\.apps\[0\]: no app named ghost/);
    expect(() => parseConfig(gatewayConfig('http://127.0.0.1:1', '/tmp', { directory: { syncEveryMs: 10 } }))).toThrow(/directory\.syncEveryMs/);
  });
});
