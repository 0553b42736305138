import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DingTalkError } from '@dingpush/dingtalk';
import { parseOrg, type RunningEmulator, startEmulator } from '@dingpush/emulator';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { adviceOfReason, dingtalkReason } from '../src/domain/dingtalk-reason.js';
import { run } from './process.js';

/** The first hour's commands on hostile input: YAML typos holding secrets, a Redis that never answers, a wrong base URL, two configurations sharing one .env. */

const APP = { name: 'demo', appKey: 'dingdemoapp', appSecret: 'demo-app-secret-0123456789', agentId: 1001, robotCode: 'dingdemoapp' };
const dir = mkdtempSync(join(tmpdir(), 'dingpush-review-'));
let n = 0;
const caseDir = () => {
  const d = join(dir, `c${n++}`);
  mkdirSync(d);
  return d;
};

describe('first-hour commands, hostile paths', () => {
  let emu: RunningEmulator;
  let blackhole: Server;
  let blackholePort = 0;
  beforeAll(async () => {
    emu = await startEmulator({ org: parseOrg({ apps: [APP], users: [{ userid: 'zhangsan', name: '张三', mobile: '13800000001' }] }), port: 0 });
    // Accepts connections and never answers (a load balancer with a dead backend, a firewall that accepts).
    blackhole = createServer((s) => s.on('error', () => {}));
    await new Promise<void>((r) => blackhole.listen(0, '127.0.0.1', r));
    blackholePort = (blackhole.address() as { port: number }).port;
  });
  afterAll(async () => {
    await emu?.close();
    blackhole?.close();
  });

  it('config check / doctor / serve never print a robot secret, even from a YAML typo (secret:SEC… without a space)', async () => {
    const d = caseDir();
    const secret = 'SECf094e0d3abcdef0123456789';
    writeFileSync(
      join(d, 'dingpush.yaml'),
      `apiKeys: [{ name: ops, key: "k-0123456789abcdef" }]\nrobots:\n  - { name: ops, webhook: "https://oapi.dingtalk.com/robot/send?access_token=abc123", secret:${secret} }\n`,
    );
    for (const args of [['config', 'check'], ['doctor', '--json'], ['doctor']]) {
      const res = await run([...args, '--config', join(d, 'dingpush.yaml')]);
      expect(res.stdout + res.stderr, args.join(' ')).not.toContain(secret);
    }
  });

  it('doctor never prints a PostgreSQL password given as ?password= (as init accepts and writes it)', async () => {
    const d = caseDir();
    const init = await run(['init', '--config', join(d, 'dingpush.yaml'), '--store', 'postgres://dp@127.0.0.1:1/db?password=PGSECRET123'], {}, { cwd: d });
    expect(init.code).toBe(0);
    const res = await run(['doctor', '--json', '--config', join(d, 'dingpush.yaml')]);
    expect(res.stdout + res.stderr).not.toContain('PGSECRET123');
  });

  it('doctor does not call permissions "granted" when every oapi call answers 404 (oapiBaseUrl with a wrong path)', async () => {
    const d = caseDir();
    writeFileSync(join(d, '.env'), `S=${APP.appSecret}\n`);
    writeFileSync(
      join(d, 'dingpush.yaml'),
      [
        'apiKeys: [{ name: ops, key: "k-0123456789abcdef" }]',
        `dingtalk: { oapiBaseUrl: "${emu.url}/wrong-prefix", apiBaseUrl: "${emu.url}" }`,
        `apps: [{ name: default, appKey: ${APP.appKey}, appSecret: "\${S}", agentId: ${APP.agentId} }]`,
        `store: { sqlite: "${join(d, 'db.sqlite')}" }`,
      ].join('\n'),
    );
    const res = await run(['doctor', '--config', join(d, 'dingpush.yaml')]);
    expect(res.stdout).not.toMatch(/✓ app default: permission: work notifications .*granted/);
    expect(res.code, res.stdout).toBe(1);
  });

  it('doctor finishes within 30 s when Redis accepts connections but never answers', async () => {
    const d = caseDir();
    writeFileSync(
      join(d, 'dingpush.yaml'),
      `store: { postgres: "postgres://dp:pw@127.0.0.1:1/db", redis: "redis://127.0.0.1:${blackholePort}/0" }\ndingtalk: { oapiBaseUrl: "${emu.url}", apiBaseUrl: "${emu.url}" }\n`,
    );
    const started = Date.now();
    const res = await Promise.race([run(['doctor', '--config', join(d, 'dingpush.yaml')]), new Promise<'hung'>((r) => setTimeout(() => r('hung'), 30_000))]);
    expect(res, `still running after ${Date.now() - started} ms`).not.toBe('hung');
  }, 40_000);

  it('config check lists every problem: the missing API key along with a bad port', async () => {
    const d = caseDir();
    writeFileSync(join(d, 'dingpush.yaml'), 'server: { port: "abc" }\nrobots:\n  - { name: ops, webhook: "https://oapi.dingtalk.com/robot/send?access_token=abc" }\n');
    const res = await run(['config', 'check', '--config', join(d, 'dingpush.yaml')]);
    expect(res.stderr).toMatch(/server\.port/);
    expect(res.stderr).toMatch(/apiKeys/);
  });

  it('init for a second config in the same directory does not replace the first one\'s secrets in .env', async () => {
    const d = caseDir();
    expect((await run(['init', '--config', 'prod.yaml', '--app-key', 'dingprodapp', '--app-secret', 'prod-app-secret-0123456789'], {}, { cwd: d })).code).toBe(0);
    const second = await run(['init', '--config', 'test.yaml', '--app-key', 'dingtestapp', '--app-secret', 'test-app-secret-0123456789'], {}, { cwd: d });
    expect(second.code).toBe(2);
    expect(second.stderr).toMatch(/already sets DINGTALK_APP_SECRET to another value/);
    expect(readFileSync(join(d, '.env'), 'utf8')).toContain('prod-app-secret-0123456789');
  });

  it('a delivery reason for an HTTP-status failure carries its what-to-do; a proxy failure is not told "retrying cannot help"', () => {
    const http = new DingTalkError('/x', 'HTTP 502', 'answer was not JSON', undefined, { class: 'retry', meaning: 'HTTP 502' }, true, 502);
    expect(adviceOfReason(dingtalkReason(http), 'queued')).toBeDefined();
    expect(adviceOfReason(`retrying after ${dingtalkReason(http)}`, 'queued')?.en).toMatch(/^Nothing to do/);
    const proxy = new DingTalkError('/x', 'proxy', 'proxy 10.0.0.1:3128, CONNECT oapi.dingtalk.com:443: refused with HTTP 407', undefined, { class: 'retry', meaning: 'proxy failure' }, false);
    expect(adviceOfReason(dingtalkReason(proxy), 'queued')?.en).toMatch(/check the proxy/);
    expect(adviceOfReason(dingtalkReason(proxy), 'queued')?.en).not.toMatch(/Retrying cannot help/);
    // Quoted by later reasons: once, and a final row gets only a line that names a fix.
    const lost = `no answer from DingTalk (${dingtalkReason(new DingTalkError('/x', 'timeout', 'no answer within 500 ms', undefined, { class: 'retry', meaning: 'network failure' }, true))}); sending again`;
    expect(lost.match(/no answer/g)).toHaveLength(2);
    expect(adviceOfReason(lost, 'queued')).toEqual(expect.objectContaining({ en: expect.stringMatching(/^Nothing to do/) }));
    expect(adviceOfReason(`gave up after 3 min; last error: ${dingtalkReason(http)}`, 'failed')).toBeUndefined();
    const permission = new DingTalkError('/x', '88/60011', '没有调用该接口的权限', undefined, { class: 'permanent', meaning: 'x' });
    expect(adviceOfReason(`mobile lookup failed: ${dingtalkReason(permission)}`, 'invalid')?.en).toMatch(/权限管理/);
    expect(adviceOfReason(`retried by an operator after: ${dingtalkReason(permission)}`, 'queued')).toBeUndefined();
  });
});
