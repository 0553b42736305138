import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseOrg, type RunningEmulator, startEmulator } from '@dingpush/emulator';
import { afterAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { API_KEY, ROBOT_SECRET, text, tokens, useGateway } from './helpers.js';
import { run } from './process.js';

/**
 * What a hostile review of the first hour (issue 13) found: a YAML mistake echoing a secret, a --lang that was ignored,
 * the clock thresholds at their edges, and a --send-test that was dropped without a word.
 */

const APP = { name: 'good', appKey: 'dinggoodapp', appSecret: 'good-app-secret-0123456789', agentId: 5001 };
const SECRET = 'SECf094e0d3abcdef0123456789review';
const dir = mkdtempSync(join(tmpdir(), 'dingpush-review13-'));
let n = 0;
const caseDir = () => {
  const d = join(dir, `c${n++}`);
  mkdirSync(d);
  return d;
};

describe('first hour, review 13', () => {
  const emulators: RunningEmulator[] = [];
  afterAll(async () => {
    await Promise.all(emulators.map((e) => e.close()));
  });

  it('a YAML mistake on a line holding a secret: config check, doctor and serve name the place, never the secret', async () => {
    const cases = {
      // An alias where a value was meant: the parser's message names the alias.
      alias: `apiKeys: [{ name: ops, key: "k-0123456789abcdef" }]\nrobots:\n  - name: ops\n    webhook: "https://oapi.dingtalk.com/robot/send?access_token=abc"\n    secret: *${SECRET}\n`,
      // An unknown tag on a one-line mapping: the parser's warning quotes the whole line, secret and all.
      tag: `apiKeys: [{ name: ops, key: "k-0123456789abcdef" }]\nrobots:\n  - { name: !ops, webhook: "https://oapi.dingtalk.com/robot/send?access_token=abc", secret: "${SECRET}" }\n`,
    };
    for (const [name, text] of Object.entries(cases)) {
      const d = caseDir();
      const file = join(d, 'dingpush.yaml');
      writeFileSync(file, text);
      for (const args of [['config', 'check'], ['doctor', '--json'], ['doctor'], ['serve', '--port', '0']]) {
        const res = await run([...args, '--config', file]);
        const out = res.stdout + res.stderr;
        expect(out, `${name}: ${args.join(' ')}`).not.toContain(SECRET);
        expect(out, `${name}: ${args.join(' ')}`).not.toContain(SECRET.slice(0, 12));
        expect(res.code, `${name}: ${args.join(' ')}\n${out}`).toBe(2);
        expect(out, `${name}: ${args.join(' ')}`).toMatch(/line [35], column \d+/);
      }
    }
  }, 60_000);

  it('--lang: zh-CN and zh_CN mean Chinese; a language doctor does not speak is refused naming the flag', async () => {
    const d = caseDir();
    expect((await run(['init'], {}, { cwd: d })).code).toBe(0);
    for (const lang of ['zh-CN', 'zh_CN', 'ZH']) {
      const res = await run(['doctor', '--lang', lang], { LANG: 'en_US.UTF-8', LC_ALL: '', LC_MESSAGES: '' }, { cwd: d });
      expect(res.code, res.stderr).toBe(0);
      expect(res.stdout, lang).toMatch(/^⚠ 配置 /m);
    }
    const en = await run(['doctor', '--lang', 'en-US'], { LANG: 'zh_CN.UTF-8', LC_ALL: '', LC_MESSAGES: '' }, { cwd: d });
    expect(en.stdout).toMatch(/^⚠ configuration /m);
    const fr = await run(['doctor', '--lang', 'fr'], { LANG: 'zh_CN.UTF-8' }, { cwd: d });
    expect(fr.code).toBe(2);
    expect(fr.stderr).toMatch(/^dingpush: --lang: expected zh or en\n$/);
    expect(fr.stdout).toBe('');
    // LANG decides when --lang is absent; LC_ALL=C wins over it (POSIX order); C or nothing is English.
    const cases: [NodeJS.ProcessEnv, RegExp][] = [
      [{ LANG: 'zh_CN.UTF-8', LC_ALL: '', LC_MESSAGES: '' }, /^⚠ 配置 /m],
      [{ LANG: 'zh_CN.UTF-8', LC_ALL: 'C', LC_MESSAGES: '' }, /^⚠ configuration /m],
      [{ LANG: 'C', LC_ALL: '', LC_MESSAGES: '' }, /^⚠ configuration /m],
      [{ LANG: '', LC_ALL: '', LC_MESSAGES: '' }, /^⚠ configuration /m],
    ];
    for (const [env, expected] of cases) expect((await run(['doctor'], env, { cwd: d })).stdout, JSON.stringify(env)).toMatch(expected);
  });

  it('the clock at the edges: ✓ up to 60 s either way, ⚠ above, ✗ above 50 minutes', async () => {
    const offsets: [number, 'pass' | 'warn' | 'fail'][] = [
      // The HTTP Date header has whole seconds (doctor reads it as its middle: ±0.5 s), and the call takes its time on a
      // loaded machine: 1.5 s either side of the threshold.
      [58_500, 'pass'],
      [-58_500, 'pass'],
      [61_500, 'warn'],
      [-61_500, 'warn'],
      [49.5 * 60_000, 'warn'],
      [-49.5 * 60_000, 'warn'],
      [50.5 * 60_000, 'fail'],
      [-50.5 * 60_000, 'fail'],
    ];
    const results = await Promise.all(
      offsets.map(async ([clockOffsetMs]) => {
        const emu = await startEmulator({ org: parseOrg({ apps: [APP], clockOffsetMs }), port: 0 });
        emulators.push(emu);
        const d = caseDir();
        writeFileSync(join(d, '.env'), `APP_SECRET=${APP.appSecret}\n`, { mode: 0o600 });
        writeFileSync(
          join(d, 'dingpush.yaml'),
          stringify({
            apiKeys: [{ name: 'ops', key: 'review-api-key-0123456789' }],
            store: { sqlite: join(d, 'db.sqlite') },
            dingtalk: { oapiBaseUrl: emu.url, apiBaseUrl: emu.url, timeoutMs: 3000 },
            apps: [{ ...APP, appSecret: '${APP_SECRET}' }],
          }),
        );
        const res = await run(['doctor', '--json', '--config', join(d, 'dingpush.yaml')]);
        return JSON.parse(res.stdout) as { checks: { id: string; status: string; detail: string }[] };
      }),
    );
    const seen = results.map((r) => r.checks.find((c) => c.id === 'clock'));
    expect(seen.map((c) => c?.status)).toEqual(offsets.map(([, status]) => status));
    expect(seen[2]?.detail).toMatch(/^6[12] s behind DingTalk/);
    expect(seen[3]?.detail).toMatch(/^6[12] s ahead of DingTalk/);
  }, 60_000);

  it('--send-test that cannot be done (sandbox mode, DingTalk unreachable) says so and fails', async () => {
    const d = caseDir();
    expect((await run(['init'], {}, { cwd: d })).code).toBe(0);
    const sandbox = await run(['doctor', '--send-test', 'zhangsan'], { LANG: 'C', LC_ALL: '' }, { cwd: d });
    expect(sandbox.code).toBe(1);
    expect(sandbox.stdout).toMatch(/^✗ test message to user zhangsan — not sent: sandbox mode/m);
    const u = caseDir();
    writeFileSync(
      join(u, 'dingpush.yaml'),
      stringify({
        apiKeys: [{ name: 'ops', key: 'review-api-key-0123456789' }],
        store: { sqlite: join(u, 'db.sqlite') },
        dingtalk: { oapiBaseUrl: 'http://127.0.0.1:1', apiBaseUrl: 'http://127.0.0.1:1', timeoutMs: 3000 },
        robots: [{ name: 'ops', webhook: 'http://127.0.0.1:1/robot/send?access_token=abc' }],
      }),
    );
    const unreachable = await run(['doctor', '--send-test', 'ops', '--lang', 'zh', '--config', join(u, 'dingpush.yaml')]);
    expect(unreachable.code).toBe(1);
    expect(unreachable.stdout).toMatch(/^✗ 测试消息发给机器人 ops — 未发送：无法访问钉钉/m);
  });

  it('init writes both files or neither: a --config that cannot be written leaves no .env behind', async () => {
    const d = caseDir();
    mkdirSync(join(d, 'dingpush.yaml'));
    const res = await run(['init', '--force', '--app-key', APP.appKey, '--app-secret', APP.appSecret], {}, { cwd: d });
    expect(res.code).not.toBe(0);
    expect(res.stderr).toMatch(/^dingpush: dingpush\.yaml is not a file/);
    expect(res.stderr).not.toContain(APP.appSecret);
    expect(existsSync(join(d, '.env'))).toBe(false);
    expect(readdirSync(d)).toEqual(['dingpush.yaml']);
  });

  it('a PostgreSQL URL with $, # (as %23), & and = goes through .env and ${NAME} into a working connection, its password unprinted', async () => {
    const d = caseDir();
    const url = 'postgres://postgres:PGPW$%23x@127.0.0.1:5432/test?application_name=dp$a%26b';
    const init = await run(['init', '--store', url], {}, { cwd: d });
    expect(init.code, init.stderr).toBe(0);
    expect(readFileSync(join(d, 'dingpush.yaml'), 'utf8')).not.toContain('PGPW');
    const res = await run(['doctor', '--json'], {}, { cwd: d });
    expect(res.stdout + res.stderr).not.toContain('PGPW');
    const store = (JSON.parse(res.stdout) as { checks: { id: string; status: string }[] }).checks.find((c) => c.id === 'store');
    expect(store?.status).toBe('pass');
  });
});

describe('dingpush status: a failed delivery shows DingTalk\'s code and message, and what to do, in the reader\'s language', () => {
  const env = useGateway();

  it('a wrong robot secret (310000): the reason on the row, the error table\'s line under it; no secret', async () => {
    const { id } = await env.api.send({ to: { robots: ['bad'] }, message: text('x') });
    await env.api.waitFor(id);
    const url = env.gw.url;
    const en = await run(['status', id, '--url', url, '--key', API_KEY], { LANG: 'en_US.UTF-8', LC_ALL: '', LC_MESSAGES: '' });
    expect(en.code, en.stderr).toBe(0);
    expect(en.stdout).toMatch(/robot .* failed +DingTalk 310000: sign not match\n +what to do: .*secret/);
    const zh = await run(['status', id, '--url', url, '--key', API_KEY], { LANG: 'zh_CN.UTF-8', LC_ALL: '', LC_MESSAGES: '' });
    expect(zh.stdout).toMatch(/DingTalk 310000: sign not match\n +怎么办: .*密钥/);
    for (const out of [en.stdout, zh.stdout, en.stderr, zh.stderr]) for (const s of [ROBOT_SECRET, tokens.bad, API_KEY]) expect(out).not.toContain(s);
  });
});
