import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type OrgInput, parseOrg, type RunningEmulator, startEmulator } from '@dingpush/emulator';
import pg from 'pg';
import { afterAll, beforeAll, expect } from 'vitest';
import { type ConfigInput, DingpushClient, parseConfig, type RunningGateway, startGateway } from '../src/server.js';

export const API_KEY = 'test-key-0123456789abcdef';
export const LIMITED_KEY = 'limited-key-0123456789abcdef';
export const ROBOT_SECRET = 'SECgatewaytest000000000000000000000000000000000000000000000000000';
export const APP = { name: 'main', appKey: 'dinggwapp', appSecret: 'gw-app-secret-1f2e3d', agentId: 4001, robotCode: 'dinggwapp' };
export const tokens = { ops: 'e'.repeat(64), alerts: 'f'.repeat(64), bad: '9'.repeat(64) };

export function org(switches: OrgInput['switches'] = {}): OrgInput {
  const users = Array.from({ length: 300 }, (_, i) => ({ userid: `u${i}`, name: `User ${i}`, mobile: `1360000${String(i).padStart(4, '0')}`, deptIds: [i < 10 ? 2 : 3] }));
  return {
    apps: [APP],
    departments: [{ id: 1, name: 'Root' }, { id: 2, name: 'Ops', parentId: 1 }, { id: 3, name: 'Rest', parentId: 1 }],
    users,
    robots: [
      { name: 'ops', accessToken: tokens.ops, secret: ROBOT_SECRET },
      { name: 'alerts', accessToken: tokens.alerts, keywords: ['告警'] },
      { name: 'bad', accessToken: tokens.bad, secret: ROBOT_SECRET },
    ],
    chats: [{ chatid: 'chat1', openConversationId: 'cid1==', name: 'Ops', owner: 'u0', members: ['u0', 'u1'] }],
    switches: { deliveryMs: 100, readAfterMs: 500, readPercent: 50, ...switches },
  };
}

export function gatewayConfig(emulatorUrl: string, dataDir: string, overrides: Partial<ConfigInput> = {}): ConfigInput {
  return {
    server: { host: '127.0.0.1', port: 0, bodyLimitBytes: 64 * 1024 },
    apiKeys: [
      { name: 'tests', key: API_KEY },
      { name: 'limited', key: LIMITED_KEY, robots: ['alerts'], apps: [] },
    ],
    store: { sqlite: join(dataDir, 'dingpush.db') },
    dingtalk: { oapiBaseUrl: emulatorUrl, apiBaseUrl: emulatorUrl, timeoutMs: 3000 },
    apps: [APP],
    robots: [
      { name: 'ops', webhook: `${emulatorUrl}/robot/send?access_token=${tokens.ops}`, secret: ROBOT_SECRET },
      { name: 'alerts', webhook: `${emulatorUrl}/robot/send?access_token=${tokens.alerts}`, keywords: ['告警'] },
      { name: 'bad', webhook: `${emulatorUrl}/robot/send?access_token=${tokens.bad}`, secret: 'SECwrongwrongwrong' },
    ],
    delivery: { backoffBaseMs: 50, backoffMaxMs: 500, pollMs: 50, firstFlushMs: 1000 },
    tracking: { firstCheckMs: 150, readChecksMs: [700, 2000] },
    // The tests' callback receivers listen on loopback, which callbacks may reach only when allowed.
    callbacks: { attempts: 4, timeoutMs: 2000, backoffBaseMs: 50, backoffMaxMs: 400, allowHosts: ['127.0.0.1'] },
    logLevel: 'silent',
    ...overrides,
  };
}

export interface Env {
  emu: RunningEmulator;
  gw: RunningGateway;
  /** With `instances: 2`: a second gateway on the same store (PostgreSQL), its dispatcher competing for the jobs. */
  gw2?: RunningGateway;
  api: DingpushClient;
  dataDir: string;
  /** Moves the gateway's and the emulator's clocks forward together. */
  advance(ms: number): Promise<void>;
  /** The gateway's (and the emulator's) clock now. */
  now(): number;
  calls(path?: string): Promise<{ time: number; path: string; errcode?: number | string; robot?: string }[]>;
  inbox(kind: 'users' | 'robots' | 'chats', id: string): Promise<any[]>;
  fault(f: Record<string, unknown>): Promise<void>;
  switches(s: Record<string, unknown>): Promise<void>;
}

export const SEND = '/topapi/message/corpconversation/asyncsend_v2';
export const PG_URL = process.env.DINGPUSH_TEST_POSTGRES ?? 'postgres://postgres@127.0.0.1:5432/test';

/** A PostgreSQL schema of its own for a test file, dropped afterwards. */
export function usePostgresSchema(name: string): string {
  const schema = `dingpush_${name}_${process.pid}_${Date.now()}`;
  afterAll(async () => {
    const client = new pg.Client({ connectionString: PG_URL });
    await client.connect();
    await client.query(`drop schema if exists "${schema}" cascade`);
    await client.end();
  });
  return schema;
}

/** An emulator and a gateway (SQLite in a temp dir) for one test file, with a shared movable clock. */
export function useGateway(
  opts: {
    switches?: OrgInput['switches'];
    config?: Partial<ConfigInput>;
    instances?: 1 | 2;
    /** Edits the whole configuration (which names the emulator's URL) before it is parsed: targets, robots, keys. */
    configure?: (config: ConfigInput) => void;
    /** Edits the emulator's org (departments, users) before it starts. */
    editOrg?: (org: OrgInput) => void;
  } = {},
): Env {
  const env = {} as Env;
  let offset = 0;
  beforeAll(async () => {
    env.dataDir = mkdtempSync(join(tmpdir(), 'dingpush-gw-'));
    const orgInput = org(opts.switches);
    opts.editOrg?.(orgInput);
    env.emu = await startEmulator({ org: parseOrg(orgInput), port: 0 });
    const input = gatewayConfig(env.emu.url, env.dataDir, opts.config);
    opts.configure?.(input);
    const config = parseConfig(input);
    env.gw = await startGateway(config, { now: () => Date.now() + offset });
    if (opts.instances === 2) env.gw2 = await startGateway(config, { now: () => Date.now() + offset });
    env.api = new DingpushClient({ url: env.gw.url, apiKey: API_KEY });
    const post = (path: string, body: unknown) =>
      fetch(`${env.emu.url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
    env.now = () => Date.now() + offset;
    env.advance = async (ms) => {
      offset += ms;
      await post('/_emulator/api/clock', { advanceMs: ms });
      env.gw.runtime.wake();
      env.gw2?.runtime.wake();
    };
    env.calls = async (path) => (await (await fetch(`${env.emu.url}/_emulator/api/calls${path ? `?path=${encodeURIComponent(path)}` : ''}`)).json()).calls;
    env.inbox = async (kind, id) => (await (await fetch(`${env.emu.url}/_emulator/api/inbox/${kind}/${id}`)).json()).messages;
    env.fault = async (f) => {
      await post('/_emulator/api/faults', f);
    };
    env.switches = async (s) => {
      await post('/_emulator/api/switches', s);
    };
  });
  afterAll(async () => {
    await env.gw2?.close();
    await env.gw?.close();
    await env.emu?.close();
  });
  return env;
}

export const text = (content: string) => ({ type: 'text' as const, content });

/** Every line a robot group shows: a text message's content, each line of a markdown message (a digest's items). */
export const shownIn = (inbox: any[]): string[] =>
  inbox.flatMap((m) => (m.message.msgtype === 'markdown' ? (m.message.markdown.text as string).split('\n') : [m.message.text?.content as string]));

/** Whether a group showed `text`: as a message of its own, or as an item of a digest. */
export const showsOnce = (lines: string[], text: string) => lines.filter((l) => l === text || l.endsWith(`**${text}**`)).length === 1;

/** What earlier tests left waiting for the robots goes out (two minutes pass), and their minute is empty again. */
export async function quietRobots(env: Env): Promise<void> {
  await env.advance(62_500);
  await expect.poll(async () => (await env.gw.store.jobs({ kinds: ['send'], states: ['ready', 'leased', 'parked'] })).length, { timeout: 10_000 }).toBe(0);
  await env.advance(62_500);
}

/** Spends a robot's minute on 18 messages of their own (2 are kept for urgent ones); answers the inbox's length then. */
export async function fillRobotMinute(env: Env, robot: string, prefix: string): Promise<number> {
  await quietRobots(env);
  const before = (await env.inbox('robots', robot)).length;
  for (let i = 0; i < 18; i++) await env.api.send({ to: { robots: [robot] }, message: text(`${prefix} ${i}`) });
  await expect.poll(async () => (await env.inbox('robots', robot)).length - before, { timeout: 10_000 }).toBe(18);
  return before + 18;
}

/** An Alertmanager webhook (version 4) of one alert, started a minute before `now`. */
export function alertGroup(name: string, status: 'firing' | 'resolved', severity: string, now: number, instance = 'web-01') {
  return {
    version: '4',
    groupKey: `{}:{alertname="${name}"}`,
    truncatedAlerts: 0,
    status,
    receiver: 'dingpush',
    groupLabels: { alertname: name },
    commonLabels: { alertname: name, severity },
    commonAnnotations: {},
    externalURL: 'http://alertmanager.example.com:9093',
    alerts: [
      {
        status,
        labels: { alertname: name, severity, instance },
        annotations: { summary: `${name} summary` },
        startsAt: new Date(now - 60_000).toISOString(),
        endsAt: status === 'resolved' ? new Date(now).toISOString() : '0001-01-01T00:00:00Z',
        generatorURL: 'http://prometheus.example.com/graph',
        fingerprint: name,
      },
    ],
  };
}

/** A call the emulator saw (GET /_emulator/api/calls). */
export interface EmulatorCall {
  time: number;
  path: string;
  robot?: string;
  errcode?: number | string;
}

/** The most calls DingTalk saw in any sliding minute. */
export const busiestMinute = (calls: EmulatorCall[]) => Math.max(0, ...calls.map((c) => calls.filter((x) => x.time > c.time - 60_000 && x.time <= c.time).length));
