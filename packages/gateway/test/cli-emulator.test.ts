import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const BIN = new URL('../bin/dingpush.js', import.meta.url).pathname;

function run(args: string[], untilOutput?: RegExp): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [BIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => {
      stdout += d;
      if (untilOutput?.test(stdout)) child.kill('SIGTERM');
    });
    child.stderr.on('data', (d) => {
      stderr += d;
    });
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

describe('dingpush emulator (CLI)', () => {
  it('--help lists the options', async () => {
    const { code, stdout } = await run(['emulator', '--help']);
    expect(code).toBe(0);
    expect(stdout).toContain('--port');
    expect(stdout).toContain('--org');
  });

  it('starts with an org file (YAML) and serves its users', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'dingpush-'));
    const file = join(dir, 'org.yaml');
    writeFileSync(file, 'apps:\n  - { name: a, appKey: k, appSecret: s, agentId: 1 }\nusers:\n  - { userid: u1, name: U, mobile: "13000000000" }\n');
    const { stdout } = await run(['emulator', '--port', '0', '--org', file], /listening on/);
    expect(stdout).toMatch(/DingTalk emulator listening on http:\/\/127\.0\.0\.1:\d+/);
    expect(stdout).toContain('1 app(s), 1 user(s)');
  });

  it('refuses a malformed org file with one line naming the key', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'dingpush-'));
    const file = join(dir, 'org.json');
    writeFileSync(file, JSON.stringify({ apps: [{ name: 'a', appKey: 'k', appSecret: 's', agentId: 'one' }] }));
    const { code, stderr } = await run(['emulator', '--org', file]);
    expect(code).not.toBe(0);
    expect(stderr.trim().split('\n')).toHaveLength(1);
    expect(stderr).toMatch(/^dingpush: org: apps\[0\]\.agentId: /);
  });

  it('refuses an org whose references do not resolve, and a file that is not JSON', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'dingpush-'));
    const bad = join(dir, 'org.json');
    writeFileSync(bad, JSON.stringify({ users: [{ userid: 'u', name: 'U', deptIds: [42] }] }));
    expect((await run(['emulator', '--org', bad])).stderr).toContain('users[0].deptIds[0]: no department 42');
    const broken = join(dir, 'broken.json');
    writeFileSync(broken, '{ nope');
    expect((await run(['emulator', '--org', broken])).stderr).toMatch(/^dingpush: org: .*broken\.json is not valid JSON/);
  });

  it('a bad --port is one readable line and exit code 2', async () => {
    const { code, stderr } = await run(['emulator', '--port', 'eighty']);
    expect(code).toBe(2);
    expect(stderr.trim()).toBe('dingpush: --port: expected a port number 0–65535, got "eighty"');
  });
});
