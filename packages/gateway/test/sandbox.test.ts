import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { DingpushClient } from '../src/server.js';
import { spawnDingpush } from './process.js';

describe('dingpush serve in sandbox mode', () => {
  it('starts the emulator with a demo org, prints the URLs, delivers without a key, and stops on SIGTERM', async () => {
    const cwd = mkdtempSync(join(tmpdir(), 'dingpush-sandbox-'));
    const serve = spawnDingpush(['serve', '--port', '0'], { cwd, env: { DINGPUSH_CONFIG: '' } });
    try {
      const api = (await serve.waitFor(/API:\s+(http:\/\/127\.0\.0\.1:\d+)/))[1]!;
      const inbox = (await serve.waitFor(/inbox:\s+(http:\/\/127\.0\.0\.1:\d+)\/_emulator\//))[1]!;
      expect(serve.output()).toContain('sandbox mode');
      expect(serve.output()).toMatch(/dashboard:\s+http:\/\/127\.0\.0\.1:\d+\//);
      const client = new DingpushClient({ url: api });
      const { id } = await client.send({ to: { userIds: ['zhangsan'], mobiles: ['13800000002'], robots: ['ops'] }, message: { type: 'text', content: '沙盒 hello' } });
      const n = await client.waitFor(id, { timeoutMs: 15_000 });
      expect(n.deliveries!.map((d) => d.status).sort()).toEqual(expect.arrayContaining(['sent']));
      const msgs = (await (await fetch(`${inbox}/_emulator/api/inbox/users/lisi`)).json()).messages;
      expect(msgs[0].message.text.content).toBe('沙盒 hello');
      expect(serve.output()).not.toContain('demo-app-secret');
    } finally {
      serve.child.kill('SIGTERM');
    }
    expect(await serve.exited).toBe(0);
    expect(serve.output()).toContain('finishing what is in flight');
  }, 60_000);

  it('a bad config file is refused at start with one line naming the key', async () => {
    const cwd = mkdtempSync(join(tmpdir(), 'dingpush-badconf-'));
    const { writeFileSync } = await import('node:fs');
    writeFileSync(join(cwd, 'dingpush.yaml'), 'apps:\n  - name: main\n    appKey: k\n    appSecret: ${NO_SUCH_SECRET_VAR}\n    agentId: 1\n');
    const serve = spawnDingpush(['serve'], { cwd, env: { DINGPUSH_CONFIG: '' } });
    expect(await serve.exited).toBe(2);
    expect(serve.output()).toBe('dingpush: apps[0].appSecret: environment variable NO_SUCH_SECRET_VAR is not set\n');
  });
});
