import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type OrgInput, parseOrg, type RunningEmulator, startEmulator } from '@dingpush/emulator';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { startConnectProxy } from './connect-proxy.js';
import { PG_URL } from './helpers.js';
import { run } from './process.js';

/**
 * `dingpush doctor` against the emulator, one modelled first-hour failure at a time (design.md "The emulator's
 * inspector": apps[].ipWhitelist, apps[].scopes, clockOffsetMs): each names its cause and its fix, in Chinese under
 * LANG=zh_CN.UTF-8 and in English otherwise, with exit 0 (nothing failed), 1 (a check failed) or 2 (the
 * configuration does not parse, and then nothing calls DingTalk).
 */

const GOOD = { name: 'good', appKey: 'dinggoodapp', appSecret: 'good-app-secret-0123456789', agentId: 5001, robotCode: 'dinggoodapp' };
const NO_CONTACTS = { name: 'nocontacts', appKey: 'dingnocontacts', appSecret: 'nocontacts-secret-0123456789', agentId: 5002, scopes: ['workNotice' as const] };
const BLOCKED = { name: 'blocked', appKey: 'dingblockedapp', appSecret: 'blocked-secret-0123456789', agentId: 5003, ipWhitelist: ['203.0.113.0/24'] };
const SECRET = 'SECdoctor0robot0secret000000000000000000000000000000000000000000000';
const TOKENS = { signed: 'd'.repeat(64), kw: 'c'.repeat(64) };
/** Every credential a config below holds: none may appear in any output. */
const SECRETS = [GOOD.appSecret, NO_CONTACTS.appSecret, BLOCKED.appSecret, SECRET, TOKENS.signed, TOKENS.kw, 'doctor-api-key-0123456789'];

function org(clockOffsetMs = 0): OrgInput {
  return {
    apps: [GOOD, NO_CONTACTS, BLOCKED],
    users: [{ userid: 'zhangsan', name: '张三', mobile: '13800000001' }],
    robots: [
      { name: 'signed', accessToken: TOKENS.signed, secret: SECRET },
      { name: 'kw', accessToken: TOKENS.kw, keywords: ['告警'] },
    ],
    clockOffsetMs,
  };
}

describe('dingpush doctor', () => {
  const dir = mkdtempSync(join(tmpdir(), 'dingpush-doctor-'));
  let emu: RunningEmulator;
  let farBehind: RunningEmulator;
  let slightlyAhead: RunningEmulator;
  beforeAll(async () => {
    [emu, farBehind, slightlyAhead] = await Promise.all([
      startEmulator({ org: parseOrg(org()), port: 0 }),
      startEmulator({ org: parseOrg(org(-2 * 3_600_000)), port: 0 }),
      startEmulator({ org: parseOrg(org(5 * 60_000)), port: 0 }),
    ]);
  });
  afterAll(async () => Promise.all([emu, farBehind, slightlyAhead].map((e) => e?.close())));

  let n = 0;
  /** Writes a config (secrets in the .env beside it, referred to as ${NAME}) and runs doctor on it. */
  async function doctor(emuUrl: string, config: Record<string, unknown>, args: string[] = [], lang = 'en_US.UTF-8') {
    const sub = join(dir, `case${n++}`);
    mkdirSync(sub);
    const file = join(sub, 'dingpush.yaml');
    writeFileSync(join(sub, '.env'), `DOCTOR_API_KEY=doctor-api-key-0123456789\nSIGNED_SECRET=${SECRET}\n`, { mode: 0o600 });
    writeFileSync(
      file,
      stringify({
        apiKeys: [{ name: 'ops', key: '${DOCTOR_API_KEY}' }],
        store: { sqlite: join(sub, 'data', 'dingpush.db') },
        dingtalk: { oapiBaseUrl: emuUrl, apiBaseUrl: emuUrl, timeoutMs: 3000 },
        ...config,
      }),
    );
    const res = await run(['doctor', '--config', file, ...args], { LANG: lang, LC_ALL: '', LC_MESSAGES: '' });
    for (const secret of SECRETS) {
      expect(res.stdout, 'a secret in the output').not.toContain(secret);
      expect(res.stderr, 'a secret in the output').not.toContain(secret);
    }
    return res;
  }
  /** An app as the gateway's configuration declares it (the org file's ipWhitelist and scopes are DingTalk's side). */
  const declared = (app: { name: string; appKey: string; appSecret: string; agentId: number; ipWhitelist?: string[]; scopes?: string[] }) => {
    const { ipWhitelist: _ip, scopes: _scopes, ...rest } = app;
    return rest;
  };
  const good = (over: Partial<typeof GOOD> = {}) => ({ apps: [{ ...GOOD, ...over }] });
  const signedRobot = (url: string) => ({ name: 'signed', webhook: `${url}/robot/send?access_token=${TOKENS.signed}`, secret: '${SIGNED_SECRET}' });
  const lineOf = (out: string, pattern: RegExp) => out.split('\n').find((l) => pattern.test(l)) ?? '';
  const calls = async (url: string) => ((await (await fetch(`${url}/_emulator/api/calls`)).json()) as { calls: { path: string }[] }).calls;

  it('a healthy configuration: every line ✓, exit 0, and nothing sent', async () => {
    const before = (await calls(emu.url)).length;
    const res = await doctor(emu.url, { ...good(), robots: [signedRobot(emu.url)] });
    expect(res.stderr).toBe('');
    expect(res.code, res.stdout).toBe(0);
    const lines = res.stdout.split('\n').filter((l) => /^[✓⚠✗–] /.test(l));
    expect(lines.length).toBeGreaterThanOrEqual(9);
    expect(lines.filter((l) => !l.startsWith('✓')), res.stdout).toEqual([]);
    for (const what of [/configuration/, /store: SQLite/, /DingTalk oapi reachable/, /clock/, /AppKey and AppSecret/, /IP whitelist/, /permission: contacts/, /permission: work notifications/, /permission: app robot/, /AgentId 5001/, /robot signed .* security/])
      expect(lineOf(res.stdout, what), `${what} in\n${res.stdout}`).toMatch(/^✓/);
    const inbox = await (await fetch(`${emu.url}/_emulator/api/inbox/robots/signed`)).json();
    expect(inbox.messages).toEqual([]);
    const made = (await calls(emu.url)).slice(before).map((c) => c.path);
    expect(made).not.toContain('/topapi/message/corpconversation/asyncsend_v2');
  });

  it('a wrong AppSecret: ✗ naming the credentials and where they are, exit 1', async () => {
    const en = await doctor(emu.url, good({ appSecret: 'not-the-right-secret-000' }));
    expect(en.code).toBe(1);
    expect(lineOf(en.stdout, /AppKey and AppSecret/)).toMatch(/^✗ .*invalidClientIdOrSecret/);
    expect(en.stdout).toMatch(/what to do: copy the AppKey \(Client ID\) into apps\[0\]\.appKey and the AppSecret/);
    expect(en.stdout).toMatch(/where: open-dev\.dingtalk\.com → 应用开发 → good → 凭证与基础信息/);
    const zh = await doctor(emu.url, good({ appSecret: 'not-the-right-secret-000' }), [], 'zh_CN.UTF-8');
    expect(zh.code).toBe(1);
    expect(lineOf(zh.stdout, /AppKey 与 AppSecret/)).toMatch(/^✗ /);
    expect(zh.stdout).toMatch(/怎么办: 重新复制 AppKey/);
    expect(zh.stdout).toMatch(/1 项失败/);
  });

  it('an IP not in the app\'s whitelist: ✗ printing the egress address DingTalk saw, exit 1', async () => {
    const res = await doctor(emu.url, { apps: [declared(BLOCKED)] });
    expect(res.code).toBe(1);
    expect(lineOf(res.stdout, /IP whitelist/)).toMatch(/^✗ .*127\.0\.0\.1/);
    expect(res.stdout).toMatch(/what to do: add 127\.0\.0\.1 to the app's server egress IPs/);
    expect(res.stdout).toMatch(/where: .*安全设置 → 服务器出口IP/);
    const zh = await doctor(emu.url, { apps: [declared(BLOCKED)] }, ['--lang', 'zh']);
    expect(zh.stdout).toMatch(/怎么办: 把 127\.0\.0\.1 加入应用的服务器出口IP/);
  });

  it('a missing permission group: ✗ when a target needs it, ⚠ when senders may still use userids', async () => {
    const target = { name: 'oncall', app: 'nocontacts', to: { mobiles: ['13800000001'] } };
    const needed = await doctor(emu.url, { apps: [declared(NO_CONTACTS)], targets: [target] });
    expect(needed.code).toBe(1);
    expect(lineOf(needed.stdout, /permission: contacts/)).toMatch(/^✗ .*88\/60011.*没有调用该接口的权限/);
    expect(needed.stdout).toMatch(/what to do: apply for 通讯录只读权限/);
    expect(needed.stdout).toMatch(/where: .*权限管理/);
    expect(lineOf(needed.stdout, /permission: work notifications/)).toMatch(/^✓/);
    const wanted = await doctor(emu.url, { apps: [declared(NO_CONTACTS)] }, [], 'zh_CN.UTF-8');
    expect(wanted.code).toBe(0);
    expect(lineOf(wanted.stdout, /权限: 通讯录/)).toMatch(/^⚠ .*手机号和部门会失败/);
  });

  it('an AgentId of another app: ✗ saying which number goes where, exit 1', async () => {
    const res = await doctor(emu.url, good({ agentId: NO_CONTACTS.agentId }));
    expect(res.code).toBe(1);
    expect(lineOf(res.stdout, /AgentId 5002/)).toMatch(/^✗ .*40056/);
    expect(res.stdout).toMatch(/what to do: apps\[0\]\.agentId is not this app's/);
    const zh = await doctor(emu.url, good({ agentId: NO_CONTACTS.agentId }), ['--lang', 'zh']);
    expect(zh.stdout).toMatch(/怎么办: apps\[0\]\.agentId 不属于该应用/);
  });

  it('a robot demanding a keyword the configuration lacks: ✗ naming robots[i].keywords, and nothing posted', async () => {
    const robot = { name: 'kw', webhook: `${emu.url}/robot/send?access_token=${TOKENS.kw}` };
    const res = await doctor(emu.url, { robots: [robot] });
    expect(res.code).toBe(1);
    expect(lineOf(res.stdout, /robot kw/)).toMatch(/^✗ .*310000.*keywords not in content/);
    expect(res.stdout).toMatch(/what to do: the robot demands a keyword this configuration lacks: add it to robots\[0\]\.keywords/);
    const zh = await doctor(emu.url, { robots: [robot] }, [], 'zh_CN.UTF-8');
    expect(zh.stdout).toMatch(/怎么办: 机器人要求的关键词不在配置中/);
    const fixed = await doctor(emu.url, { robots: [{ ...robot, keywords: ['告警'] }] });
    expect(lineOf(fixed.stdout, /robot kw/)).toMatch(/^✓/);
    const inbox = await (await fetch(`${emu.url}/_emulator/api/inbox/robots/kw`)).json();
    expect(inbox.messages).toEqual([]);
  });

  it('a wrong robot secret: ✗ saying the secret is not this robot\'s', async () => {
    const res = await doctor(emu.url, { robots: [{ ...signedRobot(emu.url), secret: 'SECnotthisrobotssecret000' }] });
    expect(res.code).toBe(1);
    expect(lineOf(res.stdout, /robot signed/)).toMatch(/^✗ .*sign not match/);
    expect(res.stdout).toMatch(/robots\[0\]\.secret is not this robot's signing secret/);
  });

  it('a clock two hours off is ✗ (signatures refused), five minutes off is ⚠', async () => {
    const far = await doctor(farBehind.url, { ...good(), robots: [signedRobot(farBehind.url)] });
    expect(far.code).toBe(1);
    expect(lineOf(far.stdout, /clock/)).toMatch(/^✗ .*120 min ahead of DingTalk/);
    expect(far.stdout).toMatch(/what to do: synchronise the clock/);
    // The signed probe fails for the same reason, and says so.
    expect(lineOf(far.stdout, /robot signed/)).toMatch(/^✗ .*invalid timestamp/);
    const farZh = await doctor(farBehind.url, good(), [], 'zh_CN.UTF-8');
    expect(lineOf(farZh.stdout, /本机时钟/)).toMatch(/^✗ .*比钉钉快 120 分钟/);
    const near = await doctor(slightlyAhead.url, { ...good(), robots: [signedRobot(slightlyAhead.url)] });
    expect(near.code, near.stdout).toBe(0);
    expect(lineOf(near.stdout, /clock/)).toMatch(/^⚠ .*5 min behind DingTalk/);
    const nearZh = await doctor(slightlyAhead.url, good(), [], 'zh_CN.UTF-8');
    expect(lineOf(nearZh.stdout, /本机时钟/)).toMatch(/^⚠ .*比钉钉慢 5 分钟/);
  });

  it('a configuration that does not parse: its problems, exit 2, and no call to DingTalk', async () => {
    const before = (await calls(emu.url)).length;
    const res = await doctor(emu.url, { apps: [{ ...GOOD, agentId: 'abc' }], robots: [{ name: 'x', webhook: 'not a url' }] });
    expect(res.code).toBe(2);
    expect(res.stdout).toMatch(/^✗ .*apps\[0\]\.agentId: expected number/m);
    expect(res.stdout).toMatch(/^✗ .*robots\[0\]\.webhook/m);
    expect((await calls(emu.url)).length).toBe(before);
  });

  it('the store: a SQLite path that cannot be written is ✗; PostgreSQL answering is ✓; Redis not answering is ✗', async () => {
    // Below a file: no directory can be made there (a permission test would pass as root).
    const aFile = join(dir, 'a-file');
    writeFileSync(aFile, '');
    const unwritable = await doctor(emu.url, { ...good(), store: { sqlite: join(aFile, 'data', 'dingpush.db') } });
    expect(unwritable.code).toBe(1);
    expect(lineOf(unwritable.stdout, /store: SQLite/)).toMatch(/^✗ .*cannot write there \(ENOTDIR\)/);
    expect(unwritable.stdout).toMatch(/what to do: run dingpush as a user that can write this path/);
    const started = Date.now();
    const shared = await doctor(emu.url, { ...good(), store: { postgres: PG_URL, schema: 'doctor_check', redis: 'redis://127.0.0.1:1' } });
    expect(Date.now() - started).toBeLessThan(10_000);
    expect(lineOf(shared.stdout, /store: PostgreSQL/)).toMatch(/^✓ .*reachable/);
    expect(lineOf(shared.stdout, /shared quotas: Redis/)).toMatch(/^✗ .*cannot connect \(ECONNREFUSED\)/);
    expect(shared.code).toBe(1);
  });

  it('DingTalk unreachable: a name that does not resolve, a port nobody answers; the apps are then not checked', async () => {
    const unresolvable = await doctor('http://oapi.dingtalk.invalid', good());
    expect(unresolvable.code).toBe(1);
    expect(lineOf(unresolvable.stdout, /DingTalk oapi reachable/)).toMatch(/^✗ .*cannot resolve oapi\.dingtalk\.invalid/);
    expect(unresolvable.stdout).toMatch(/set HTTPS_PROXY \(or dingtalk\.proxy\)/);
    expect(lineOf(unresolvable.stdout, /apps and robots/)).toMatch(/^– .*not checked: DingTalk is unreachable/);
    const closed = await doctor('http://127.0.0.1:1', good(), [], 'zh_CN.UTF-8');
    expect(lineOf(closed.stdout, /可以访问钉钉 oapi/)).toMatch(/^✗ .*无应答（ECONNREFUSED）/);
    expect(closed.stdout).toMatch(/怎么办: 检查防火墙/);
  });

  it('through a proxy: DingTalk, which only the proxy can resolve, is reached through it and said so', async () => {
    const proxy = await startConnectProxy({ hosts: { 'oapi.dingtalk.test': '127.0.0.1' } });
    try {
      const byName = emu.url.replace('127.0.0.1', 'oapi.dingtalk.test');
      const res = await doctor(byName, { ...good(), dingtalk: { oapiBaseUrl: byName, apiBaseUrl: byName, timeoutMs: 3000, proxy: proxy.url } });
      expect(res.code, res.stdout).toBe(0);
      expect(lineOf(res.stdout, /DingTalk oapi reachable/)).toMatch(/^✓ .*through proxy http:\/\/127\.0\.0\.1:\d+/);
      expect(proxy.connects).toContain(`oapi.dingtalk.test:${new URL(emu.url).port}`);
      proxy.mode = 'refuse';
      const refused = await doctor(byName, { ...good(), dingtalk: { oapiBaseUrl: byName, apiBaseUrl: byName, timeoutMs: 3000, proxy: proxy.url } });
      expect(refused.code).toBe(1);
      expect(lineOf(refused.stdout, /DingTalk oapi reachable/)).toMatch(/^✗ .*407/);
      expect(refused.stdout).toMatch(/what to do: the proxy .* did not connect/);
    } finally {
      await proxy.close();
    }
  });

  it('--json: the same checks for scripts, with no secret; --send-test sends one message where asked', async () => {
    const res = await doctor(emu.url, { ...good(), robots: [signedRobot(emu.url)] }, ['--json', '--send-test', 'signed']);
    expect(res.code).toBe(0);
    const report = JSON.parse(res.stdout);
    expect(report).toMatchObject({ ok: true, exitCode: 0, lang: 'en' });
    expect(report.checks.map((c: { id: string }) => c.id)).toEqual(expect.arrayContaining(['config', 'store', 'clock', 'app:good:token', 'app:good:agentId', 'robot:signed', 'send-test']));
    const robotInbox = await (await fetch(`${emu.url}/_emulator/api/inbox/robots/signed`)).json();
    expect(JSON.stringify(robotInbox.messages)).toMatch(/dingpush doctor: test message/);
    const user = await doctor(emu.url, good(), ['--send-test', 'zhangsan']);
    expect(user.code).toBe(0);
    expect(lineOf(user.stdout, /test message to user zhangsan/)).toMatch(/^✓ .*task \d+/);
    // A work notification shows once DingTalk's asynchronous task has delivered it.
    await expect.poll(async () => (await (await fetch(`${emu.url}/_emulator/api/inbox/users/zhangsan`)).json()).messages.length, { timeout: 5_000 }).toBe(1);
  });
});
