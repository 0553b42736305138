import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseOrg, type RunningEmulator, startEmulator } from '@dingpush/emulator';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { DingpushClient } from '../src/server.js';
import { APP, ROBOT_SECRET, org, tokens } from './helpers.js';
import { BIN, run, type Spawned, spawnDingpush } from './process.js';

/**
 * `dingpush init` writes a configuration a person can read and `serve` can run: from flags, from nothing (sandbox),
 * and from prompts in a real pseudo-terminal (util-linux `script`). Secrets go to .env (mode 0600), never into the
 * YAML and never onto the screen.
 */
describe('dingpush init', () => {
  const dir = mkdtempSync(join(tmpdir(), 'dingpush-init-'));
  let emu: RunningEmulator;
  const servers: Spawned[] = [];
  beforeAll(async () => {
    emu = await startEmulator({ org: parseOrg(org()), port: 0 });
  });
  afterAll(async () => {
    for (const s of servers) s.child.kill('SIGTERM');
    await Promise.all(servers.map((s) => s.exited));
    await emu?.close();
  });
  const webhook = () => `${emu.url}/robot/send?access_token=${tokens.ops}`;
  const noSecretIn = (...outputs: string[]) => {
    for (const out of outputs) for (const secret of [APP.appSecret, ROBOT_SECRET, tokens.ops]) expect(out).not.toContain(secret);
  };

  /** Serves a written config and sends one work notification and one robot message through it. */
  async function serveAndSend(configFile: string) {
    const env = Object.fromEntries(readFileSync(join(configFile, '..', '.env'), 'utf8').split('\n').flatMap((l) => (/^([A-Z_]+)='(.*)'$/.exec(l) ? [[RegExp.$1, RegExp.$2]] : [])));
    const p = spawnDingpush(['serve', '--config', configFile, '--port', '0']);
    servers.push(p);
    const url = (await p.waitFor(/API:\s+(http:\/\/127\.0\.0\.1:\d+)/))[1]!;
    expect(p.output()).toMatch(/1 app\(s\), 1 robot\(s\)/);
    const api = new DingpushClient({ url, apiKey: env.DINGPUSH_API_KEY! });
    const unique = `init ${Math.random()}`;
    const sent = await api.send({ to: { userIds: ['u1'], robots: ['ops'] }, message: { type: 'text', content: unique } });
    const done = await api.waitFor(sent.id, { timeoutMs: 15_000, until: (n) => (n.deliveries ?? []).every((d) => !['queued', 'sending'].includes(d.status)) });
    expect((done.deliveries ?? []).map((d) => d.status).sort()).toEqual(expect.arrayContaining(['sent']));
    // A work notification shows once DingTalk's asynchronous task has delivered it.
    const shown = async (path: string) => JSON.stringify((await (await fetch(`${emu.url}/_emulator/api/inbox/${path}`)).json()).messages);
    await expect.poll(() => shown('users/u1'), { timeout: 5_000 }).toContain(unique);
    expect(await shown('robots/ops')).toContain(unique);
    noSecretIn(p.output());
  }

  it('from flags: the YAML refers to ${NAME}, the secrets are in .env (0600), and serve runs it', async () => {
    const file = join(dir, 'flags', 'dingpush.yaml');
    const res = await run([
      'init', '--config', file,
      '--app-key', APP.appKey, '--app-secret', APP.appSecret, '--agent-id', String(APP.agentId),
      '--robot-name', 'ops', '--robot-webhook', webhook(), '--robot-secret', ROBOT_SECRET,
      '--store', join(dir, 'flags', 'data', 'dingpush.db'), '--dingtalk-url', emu.url,
    ]);
    expect(res.code, res.stderr).toBe(0);
    noSecretIn(res.stdout, res.stderr);
    expect(res.stdout).toMatch(/wrote .*\.env \(mode 600\): DINGPUSH_API_KEY, DINGTALK_APP_SECRET, DINGTALK_ROBOT_OPS_TOKEN, DINGTALK_ROBOT_OPS_SECRET/);
    const yaml = readFileSync(file, 'utf8');
    noSecretIn(yaml);
    expect(yaml).toMatch(/^# /m);
    expect(yaml).toContain('appSecret: "${DINGTALK_APP_SECRET}"');
    expect(parse(yaml).robots[0].webhook).toBe(`${emu.url}/robot/send?access_token=\${DINGTALK_ROBOT_OPS_TOKEN}`);
    const envFile = join(dir, 'flags', '.env');
    expect(statSync(envFile).mode & 0o777).toBe(0o600);
    expect(readFileSync(envFile, 'utf8')).toContain(`DINGTALK_APP_SECRET='${APP.appSecret}'`);
    const check = await run(['config', 'check', '--config', file]);
    expect(check.code, check.stderr).toBe(0);
    expect(check.stdout).toMatch(/✓ .* is valid: 1 app\(s\), 1 robot\(s\), 1 API key\(s\)/);
    await serveAndSend(file);
    // It refuses to overwrite, and says how.
    const again = await run(['init', '--config', file]);
    expect(again.code).not.toBe(0);
    expect(again.stderr).toMatch(/^dingpush: .*dingpush\.yaml exists; --force overwrites it\n$/);
    // --force rewrites it, keeping the user's own lines of .env.
    const apiKeyBefore = readFileSync(envFile, 'utf8').match(/DINGPUSH_API_KEY='([^']+)'/)?.[1];
    expect(apiKeyBefore).toMatch(/^dp_/);
    writeFileSync(envFile, `${readFileSync(envFile, 'utf8')}MY_OWN=keep-me\n`, { mode: 0o644 });
    const forced = await run(['init', '--config', file, '--force', '--app-key', APP.appKey, '--app-secret', 'another-secret-0123456789']);
    expect(forced.code, forced.stderr).toBe(0);
    const envText = readFileSync(envFile, 'utf8');
    expect(envText).toContain("MY_OWN=keep-me");
    expect(envText).toContain("DINGTALK_APP_SECRET='another-secret-0123456789'");
    expect(envText.match(/DINGTALK_APP_SECRET=/g)).toHaveLength(1);
    // The API key senders use survived the rewrite (a new one would lock them out).
    expect(envText.match(/DINGPUSH_API_KEY='([^']+)'/)?.[1]).toBe(apiKeyBefore);
    // A second configuration beside it does not silently take over the first one's secrets.
    const other = await run(['init', '--config', join(dir, 'flags', 'other.yaml'), '--app-key', 'dingotherapp', '--app-secret', 'other-app-secret-0123456789']);
    expect(other.code).toBe(2);
    expect(other.stderr).toMatch(/\.env already sets DINGTALK_APP_SECRET to another value \(another configuration's\?\); --force replaces it/);
    expect(readFileSync(envFile, 'utf8')).toBe(envText);
  });

  it('with no values and no terminal: a sandbox configuration, exit 0, no .env', async () => {
    const sub = join(dir, 'sandbox');
    mkdirSync(sub, { recursive: true });
    const res = await run(['init'], {}, { cwd: sub });
    expect(res.code, res.stderr).toBe(0);
    expect(res.stdout).toMatch(/wrote dingpush\.yaml \(sandbox: no DingTalk app or robot yet\)/);
    expect(existsSync(join(sub, '.env'))).toBe(false);
    const config = parse(readFileSync(join(sub, 'dingpush.yaml'), 'utf8'));
    expect(config.apps).toBeUndefined();
    const check = await run(['config', 'check'], {}, { cwd: sub });
    expect(check.stdout).toMatch(/is valid: sandbox mode/);
  });

  it('a malformed flag stops with one line naming the flag and writes nothing', async () => {
    const file = join(dir, 'bad', 'dingpush.yaml');
    const cases: [string[], RegExp][] = [
      [['--app-key', '123456789', '--app-secret', APP.appSecret], /^dingpush: --app-key: this is a number: an AgentId\?/],
      [['--app-key', APP.appKey, '--app-secret', APP.appSecret, '--agent-id', 'dingabcdef'], /^dingpush: --agent-id: this looks like an AppKey/],
      [['--robot-webhook', 'https://oapi.dingtalk.com/robot/send'], /^dingpush: --robot-webhook: the webhook must carry \?access_token=/],
      [['--robot-webhook', webhook(), '--robot-secret', 'notasecret'], /^dingpush: --robot-secret: a robot's signing secret starts with SEC/],
      [['--app-key', APP.appKey], /^dingpush: --app-secret: needed with --app-key/],
    ];
    for (const [args, expected] of cases) {
      const res = await run(['init', '--config', file, ...args]);
      expect(res.code, args.join(' ')).toBe(2);
      expect(res.stderr).toMatch(expected);
      expect(res.stderr.trim().split('\n')).toHaveLength(1);
      expect(existsSync(file)).toBe(false);
    }
  });

  it('in a terminal: asks for what the flags left out, asks again on a malformed answer, hides secrets', async () => {
    const sub = join(dir, 'tty');
    const file = join(sub, 'dingpush.yaml');
    const child = spawn('script', ['-qfec', `${process.execPath} ${BIN} init --config ${file} --dingtalk-url ${emu.url}`, '/dev/null'], {
      stdio: ['pipe', 'pipe', 'pipe'],
      // TERM=dumb would turn off line editing (Node's readline): a real terminal is what this test means.
      env: { ...process.env, TERM: 'xterm', COLUMNS: '200' },
    });
    let screen = '';
    child.stdout.on('data', (d) => {
      screen += d;
    });
    const exited = new Promise<number | null>((resolve) => child.on('close', resolve));
    let seen = 0;
    /** Waits for the next appearance of `prompt` after what was already answered, then types `keys`. */
    const answer = async (prompt: RegExp, keys: string) => {
      const deadline = Date.now() + 10_000;
      for (;;) {
        const rest = screen.slice(seen);
        const m = prompt.exec(rest);
        if (m) {
          seen += m.index + m[0].length;
          break;
        }
        if (Date.now() > deadline) throw new Error(`no ${prompt} on the terminal; it shows:\n${screen}`);
        await new Promise((r) => setTimeout(r, 50));
      }
      await new Promise((r) => setTimeout(r, 100));
      child.stdin.write(keys);
    };
    await answer(/AppKey \(Client ID\)/, '4001\r');
    await answer(/this is a number: an AgentId\?/, `${'\x7f'.repeat(4)}${APP.appKey}\r`);
    await answer(/AppSecret \(Client Secret\)/, `${APP.appSecret}\r`);
    await answer(/AgentId \(a number/, `${APP.agentId}\r`);
    await answer(/robotCode/, '\r');
    await answer(/Custom robot webhook URL/, `${webhook()}\r`);
    await answer(/A name for this robot/, '\r');
    await answer(/signing secret/, `${ROBOT_SECRET}\r`);
    await answer(/keywords/, '\r');
    await answer(/Where to keep notifications/, `${'\x7f'.repeat(30)}${join(sub, 'data.db')}\r`);
    expect(await exited, screen).toBe(0);
    // The secrets were typed, never echoed.
    expect(screen).not.toContain(APP.appSecret);
    expect(screen).not.toContain(ROBOT_SECRET);
    const config = parse(readFileSync(file, 'utf8'));
    expect(config.apps[0]).toMatchObject({ appKey: APP.appKey, appSecret: '${DINGTALK_APP_SECRET}', agentId: APP.agentId });
    expect(config.robots[0]).toMatchObject({ name: 'ops', secret: '${DINGTALK_ROBOT_OPS_SECRET}' });
    expect(config.store.sqlite).toBe(join(sub, 'data.db'));
    await serveAndSend(file);
  });
});
