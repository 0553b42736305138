/**
 * The packages as a user gets them: `npm pack` each one, install the tarballs into an empty directory outside the
 * workspace without optional dependencies (so no better-sqlite3), and use them from there with plain Node.
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { parseOrg, type RunningEmulator, startEmulator } from '@dingpush/emulator';
import pg from 'pg';
import { stringify } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawnDingpush } from './process.js';

const ROOT = new URL('../../../', import.meta.url).pathname;
const PG_URL = 'postgres://postgres@127.0.0.1:5432/test';
const SCHEMA = `packaging_${process.pid}_${Date.now()}`;
const KEY = 'packaging-key-0123456789abcdef';
const ROBOT_TOKEN = 'd'.repeat(64);
const HEAVY = ['fastify', 'pg', 'better-sqlite3', 'kysely', '@dingpush/emulator'];

const exec = promisify(execFile);
/** npm without the variables of the npm that may be running these tests (npm test), which would steer it. */
const npmEnv = Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^npm_/i.test(k) && k !== 'INIT_CWD'));
const npm = (args: string[], cwd: string) => exec('npm', args, { cwd, env: npmEnv, maxBuffer: 16 * 1024 * 1024 });

let packDir: string;
let appDir: string;
let emulator: RunningEmulator;

beforeAll(async () => {
  // Fresh dist/ (a no-op after npm test's build), then one tarball per package.
  await npm(['run', '-s', 'build'], ROOT);
  packDir = mkdtempSync(join(tmpdir(), 'dingpush-pack-'));
  await npm(['pack', '--pack-destination', packDir, '-w', '@dingpush/dingtalk', '-w', '@dingpush/emulator', '-w', '@dingpush/gateway'], ROOT);
  const tarballs = readdirSync(packDir).map((f) => join(packDir, f));
  expect(tarballs).toHaveLength(3);
  appDir = mkdtempSync(join(tmpdir(), 'dingpush-install-'));
  writeFileSync(join(appDir, 'package.json'), JSON.stringify({ name: 'dingpush-packaging-test', version: '0.0.0', private: true, type: 'module' }));
  await npm(['install', '--omit=optional', '--no-audit', '--no-fund', '--prefer-offline', ...tarballs], appDir);
  emulator = await startEmulator({
    port: 0,
    org: parseOrg({
      apps: [{ name: 'pk', appKey: 'dingpackaging', appSecret: 'packaging-secret', agentId: 5001 }],
      users: [{ userid: 'u1', name: 'User 1', mobile: '13700000001' }],
      robots: [{ name: 'ops', accessToken: ROBOT_TOKEN }],
    }),
  });
});

afterAll(async () => {
  await emulator?.close();
  const client = new pg.Client({ connectionString: PG_URL });
  await client.connect();
  await client.query(`drop schema if exists "${SCHEMA}" cascade`);
  await client.end();
  for (const dir of [packDir, appDir]) if (dir) rmSync(dir, { recursive: true, force: true });
});

/** Plain Node in the install directory; records every module it resolves through a module.register hook. */
async function importFromPlainNode(specifier: string): Promise<{ exports: string[]; loaded: string[] }> {
  const log = join(appDir, `loaded-${specifier.replace(/\W/g, '_')}.txt`);
  writeFileSync(
    join(appDir, 'record-hook.mjs'),
    `import { appendFileSync } from 'node:fs';
let log;
export function initialize(data) { log = data; }
export async function resolve(specifier, context, next) {
  const result = await next(specifier, context);
  appendFileSync(log, result.url + '\\n');
  return result;
}
`,
  );
  const code = `import { register } from 'node:module';
import { pathToFileURL } from 'node:url';
register('./record-hook.mjs', pathToFileURL('./'), { data: ${JSON.stringify(log)} });
const m = await import(${JSON.stringify(specifier)});
console.log(JSON.stringify(Object.keys(m)));`;
  const { stdout } = await exec(process.execPath, ['--input-type=module', '-e', code], { cwd: appDir });
  return { exports: JSON.parse(stdout) as string[], loaded: readFileSync(log, 'utf8').trim().split('\n') };
}

const packagesIn = (urls: string[]) => new Set(urls.flatMap((u) => /\/node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(u)?.[1] ?? []));

describe('the packed packages, installed outside the workspace with --omit=optional', { timeout: 60_000 }, () => {
  it('install built JavaScript with declarations, without better-sqlite3 or tsx', () => {
    const modules = join(appDir, 'node_modules');
    for (const pkg of ['dingtalk', 'emulator', 'gateway']) {
      expect(existsSync(join(modules, '@dingpush', pkg, 'dist/index.js'))).toBe(true);
      expect(existsSync(join(modules, '@dingpush', pkg, 'dist/index.d.ts'))).toBe(true);
    }
    expect(existsSync(join(modules, '@dingpush/gateway/dist/server.d.ts'))).toBe(true);
    expect(existsSync(join(modules, '@dingpush/emulator/dist/ui/inbox.html'))).toBe(true);
    expect(existsSync(join(modules, 'better-sqlite3'))).toBe(false);
    expect(existsSync(join(modules, 'tsx'))).toBe(false);
  });

  it('dingpush --help runs from node_modules/.bin', async () => {
    const { stdout } = await exec(join(appDir, 'node_modules/.bin/dingpush'), ['--help'], { cwd: appDir });
    for (const command of ['serve', 'send', 'emulator']) expect(stdout).toMatch(new RegExp(`^  ${command} `, 'm'));
  });

  it('plain Node imports @dingpush/dingtalk, and the SDK without the server, the stores or the emulator', async () => {
    const dingtalk = await importFromPlainNode('@dingpush/dingtalk');
    expect(dingtalk.exports).toEqual(expect.arrayContaining(['DingTalkApp', 'RobotClient', 'messageSchema']));

    const sdk = await importFromPlainNode('@dingpush/gateway');
    expect(sdk.exports).toEqual(expect.arrayContaining(['DingpushClient', 'signCallback']));
    expect([...packagesIn(sdk.loaded)].filter((p) => HEAVY.includes(p))).toEqual([]);

    // The hook does see them where they are loaded: the server entry (without better-sqlite3 installed).
    const server = await importFromPlainNode('@dingpush/gateway/server');
    expect(server.exports).toEqual(expect.arrayContaining(['startGateway', 'parseConfig', 'DingpushClient']));
    expect([...packagesIn(server.loaded)]).toEqual(expect.arrayContaining(['fastify', '@dingpush/emulator']));
    // The store's drivers (and its query layer) load when a store is opened, and only the configured one.
    for (const lazy of ['better-sqlite3', 'pg', 'kysely']) expect(packagesIn(server.loaded).has(lazy)).toBe(false);
  });

  it('TypeScript resolves the entry points and their declarations', async () => {
    writeFileSync(
      join(appDir, 'consumer.ts'),
      `import { DingTalkApp, type SendResult } from '@dingpush/dingtalk';
import { startEmulator, type RunningEmulator } from '@dingpush/emulator';
import { DingpushClient, type NotificationView, signCallback } from '@dingpush/gateway';
import { type Config, openStore, parseConfig, startGateway } from '@dingpush/gateway/server';
export const uses = [DingTalkApp, startEmulator, DingpushClient, signCallback, parseConfig, openStore, startGateway];
export type Uses = [SendResult, RunningEmulator, NotificationView, Config];
export const sig: string = signCallback('key', 1, 'body');
`,
    );
    const types = join(ROOT, 'node_modules/@types');
    const tsc = join(ROOT, 'node_modules/typescript/bin/tsc');
    const args = ['--noEmit', '--strict', '--skipLibCheck', '--module', 'nodenext', '--target', 'es2022', '--typeRoots', types, '--types', 'node', 'consumer.ts'];
    const result = await exec(process.execPath, [tsc, ...args], { cwd: appDir }).catch((err: { stdout: string }) => err);
    expect(result.stdout).toBe('');
  });

  it('dingpush serve on PostgreSQL delivers a notification to a robot, and stops on SIGTERM', async () => {
    writeFileSync(
      join(appDir, 'cfg.yaml'),
      stringify({
        server: { host: '127.0.0.1', port: 0 },
        apiKeys: [{ name: 'packaging', key: KEY }],
        store: { postgres: PG_URL, schema: SCHEMA },
        dingtalk: { oapiBaseUrl: emulator.url, apiBaseUrl: emulator.url },
        apps: [{ name: 'pk', appKey: 'dingpackaging', appSecret: 'packaging-secret', agentId: 5001 }],
        robots: [{ name: 'ops', webhook: `${emulator.url}/robot/send?access_token=${ROBOT_TOKEN}` }],
        logLevel: 'warn',
      }),
    );
    const gateway = spawnDingpush(['serve', '--config', 'cfg.yaml'], { cwd: appDir, bin: join(appDir, 'node_modules/.bin/dingpush') });
    try {
      const [, api] = await gateway.waitFor(/API:\s+(http:\/\/\S+\/v1\/notifications)/, 20_000);
      expect(gateway.output()).toMatch(/store:\s+postgres/);
      const res = await fetch(api!, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${KEY}` },
        body: JSON.stringify({ to: { robots: ['ops'] }, message: { type: 'text', content: 'from the packed gateway' } }),
      });
      expect(res.status).toBe(202);
      let messages: unknown[] = [];
      for (let i = 0; i < 100 && messages.length === 0; i++) {
        await new Promise((r) => setTimeout(r, 100));
        messages = ((await (await fetch(`${emulator.url}/_emulator/api/inbox/robots/ops`)).json()) as { messages: unknown[] }).messages;
      }
      expect(JSON.stringify(messages)).toContain('from the packed gateway');
    } finally {
      gateway.child.kill('SIGTERM');
    }
    expect(await gateway.exited).toBe(0);
  });

  it('SQLite: one readable line without better-sqlite3; sandbox mode once it is installed', async () => {
    const bin = join(appDir, 'node_modules/.bin/dingpush');
    const missing = spawnDingpush(['serve', '--port', '0'], { cwd: appDir, bin });
    expect(await missing.exited).toBe(1);
    expect(missing.output()).toContain(
      'dingpush: store.sqlite: the better-sqlite3 package is not installed (npm install better-sqlite3), or use store.postgres\n',
    );
    expect(missing.output()).not.toMatch(/\n\s+at /);

    // The workspace's better-sqlite3 (built once by its npm install) stands in for `npm install better-sqlite3`.
    symlinkSync(join(ROOT, 'node_modules/better-sqlite3'), join(appDir, 'node_modules/better-sqlite3'), 'dir');
    const sandbox = spawnDingpush(['serve', '--port', '0'], { cwd: appDir, bin });
    try {
      const [, api] = await sandbox.waitFor(/API:\s+(http:\/\/\S+\/v1\/notifications)/, 20_000);
      await sandbox.waitFor(/inbox:\s+http:\/\/\S+\/_emulator\//);
      expect(sandbox.output()).toMatch(/store:\s+sqlite/);
      const res = await fetch(api!, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ to: { userIds: ['zhangsan'] }, message: { type: 'text', content: 'sandbox on SQLite' } }),
      });
      expect(res.status).toBe(202);
    } finally {
      sandbox.child.kill('SIGTERM');
    }
    expect(await sandbox.exited).toBe(0);
    expect(existsSync(join(appDir, 'data/dingpush.db'))).toBe(true);
  });
});
