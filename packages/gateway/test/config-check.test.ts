import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { run } from './process.js';

/** `dingpush config check`: for CI pipelines and container start scripts; calls nothing, starts nothing. */
describe('dingpush config check', () => {
  const dir = mkdtempSync(join(tmpdir(), 'dingpush-config-check-'));
  const write = (name: string, text: string) => {
    const file = join(dir, name);
    writeFileSync(file, text);
    return file;
  };

  it('lists every problem at once, each naming its key, exit 2; secrets given in it are not echoed', async () => {
    const file = write(
      'many.yaml',
      [
        'apps: [{ name: main, appKey: dingmain, appSecret: "app-secret-value-0123456789", agentId: "abc" }]',
        'robots: [{ name: ops, webhook: "https://oapi.dingtalk.com/robot/send", secret: "SECsecretvalue0123" }]',
        'apiKeys: [{ name: k, key: short }]',
        'delivery: { robotReserve: 30, nonsense: 1 }',
        'callbacks: { allowHosts: ["not a host"] }',
        'targets: [{ name: t, to: { robots: [nobody] } }]',
        'logLevel: loud',
        'secret: ${MISSING_VARIABLE}',
      ].join('\n'),
    );
    const res = await run(['config', 'check', '--config', file]);
    expect(res.code).toBe(2);
    expect(res.stdout).toBe('');
    for (const key of [
      'apps[0].agentId: expected number',
      'robots[0].webhook: must carry ?access_token=',
      'apiKeys[0].key: must be at least 16 characters',
      'delivery: unknown key "nonsense"',
      'logLevel',
      'secret: environment variable MISSING_VARIABLE is not set',
      'callbacks.allowHosts[0]',
    ])
      expect(res.stderr).toContain(`✗ ${key}`);
    expect(res.stderr).toMatch(/: \d+ problems\n$/);
    expect(res.stderr).not.toContain('app-secret-value');
    expect(res.stderr).not.toContain('SECsecretvalue');
    // What refers to other parts (a target's robot) is checked once every part has its shape.
    const refs = write('refs.yaml', 'apiKeys: [{ name: k, key: "0123456789abcdef0123", targets: [nowhere] }]\ntargets: [{ name: t, to: { robots: [nobody] }, app: none }]\n');
    const second = await run(['config', 'check', '--config', refs]);
    expect(second.code).toBe(2);
    for (const key of ['targets[0].to.robots[0]: no robot named nobody', 'targets[0].app: no app named none', 'apiKeys[0].targets[0]: no target named nowhere'])
      expect(second.stderr).toContain(`✗ ${key}`);
  });

  it('a valid configuration: one line, exit 0; the start rule (a key outside sandbox mode) is checked too', async () => {
    const ok = write('ok.yaml', 'apiKeys: [{ name: k, key: "0123456789abcdef0123" }]\nrobots: [{ name: ops, webhook: "https://oapi.dingtalk.com/robot/send?access_token=x" }]\n');
    const res = await run(['config', 'check', '--config', ok]);
    expect(res.code, res.stderr).toBe(0);
    expect(res.stdout).toMatch(/^✓ .*ok\.yaml is valid: 0 app\(s\), 1 robot\(s\), 1 API key\(s\), 0 target\(s\), store sqlite \.\/data\/dingpush\.db\n$/);
    // A proxy variable serve could not use is a problem of this start too (and doctor says so, not a stack of errors).
    const badProxy = await run(['config', 'check', '--config', ok], { https_proxy: 'socks5://u:pw-secret@127.0.0.1:1080' });
    expect(badProxy.code).toBe(2);
    expect(badProxy.stderr).toMatch(/✗ https_proxy: socks5:\/\/u:\*\*\*@127\.0\.0\.1:1080\/?: must be an http:\/\/ or https:\/\/ URL/);
    expect(badProxy.stderr).not.toContain('pw-secret');
    const doctor = await run(['doctor', '--config', ok], { https_proxy: 'socks5://u:pw-secret@127.0.0.1:1080' });
    expect(doctor.code).toBe(1);
    expect(doctor.stdout).toMatch(/^✗ proxy for calls to DingTalk — https_proxy: /m);
    expect(doctor.stdout + doctor.stderr).not.toContain('pw-secret');
    const keyless = write('keyless.yaml', 'robots: [{ name: ops, webhook: "https://oapi.dingtalk.com/robot/send?access_token=x" }]\n');
    const refused = await run(['config', 'check', '--config', keyless]);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain('✗ apiKeys: at least one API key is needed outside sandbox mode');
  });

  it('a file that is missing or is not YAML: one line and a non-zero exit', async () => {
    const missing = await run(['config', 'check', '--config', join(dir, 'nope.yaml')]);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/^dingpush: .*nope\.yaml: no such configuration \(write one with: npx dingpush init\)\n$/);
    const broken = await run(['config', 'check', '--config', write('broken.yaml', 'apps: [\n  - { name: x\n')]);
    expect(broken.code).toBe(2);
    expect(broken.stderr).toMatch(/✗ .*broken\.yaml is not valid YAML/);
  });
});
