import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { API_KEY, ROBOT_SECRET, tokens, useGateway } from './helpers.js';
import { run } from './process.js';

describe('dingpush CLI against a running gateway', () => {
  const env = useGateway();
  const gw = () => ['--url', env.gw.url, '--key', API_KEY];

  it('send → status → recall, with --json', async () => {
    const sent = await run(['send', ...gw(), '--user', 'u70,u71', '--text', 'from the CLI', '--json']);
    expect(sent.code).toBe(0);
    const { id } = JSON.parse(sent.stdout);
    expect(id).toMatch(/^ntf_/);
    await env.api.waitFor(id);
    const status = await run(['status', id, ...gw(), '--json']);
    expect(JSON.parse(status.stdout).deliveries.map((d: { recipient: string }) => d.recipient)).toEqual(['u70', 'u71']);
    const human = await run(['status', id, ...gw()]);
    expect(human.stdout).toMatch(new RegExp(`^${id}  completed`));
    expect(human.stdout).toMatch(/work_notice u70 +(read|unread)/);
    const recall = await run(['recall', id, ...gw()]);
    expect(recall.stdout.trim()).toBe(`${id}: 2 recalled`);
  });

  it('send --wait prints each recipient\'s outcome; --file gives the request, flags override it', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'dingpush-cli-'));
    const file = join(dir, 'req.json');
    writeFileSync(file, JSON.stringify({ to: { userIds: ['u1'] }, message: { type: 'markdown', title: '周报', text: '## 本周' } }));
    const res = await run(['send', ...gw(), '--file', file, '--mobile', '13600000072', '--wait']);
    expect(res.code).toBe(0);
    expect(res.stdout).toMatch(/work_notice 13600000072 \(u72\) +(read|unread)/);
  });

  it('robot messages with mentions', async () => {
    const res = await run(['send', ...gw(), '--robot', 'ops', '--markdown', '**上线**', '--title', '发布', '--at-mobile', '13600000001', '--wait']);
    expect(res.stdout).toMatch(/robot +ops +sent/);
  });

  it('bad input: one readable line on stderr and a non-zero exit', async () => {
    const bad = await run(['send', ...gw(), '--mobile', 'call-me-maybe', '--text', 'x']);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toBe('dingpush: to.mobiles[0]: must be a phone number (digits, optional + and -)\n');
    const noMessage = await run(['send', ...gw(), '--user', 'u1']);
    expect(noMessage).toMatchObject({ code: 2, stderr: 'dingpush: no message: give --text, --markdown with --title, --message, --image, --voice or --file\n' });
    const badJson = await run(['send', ...gw(), '--user', 'u1', '--message', '{x']);
    expect(badJson.code).toBe(2);
    expect(badJson.stderr).toMatch(/^dingpush: --message: not valid JSON/);
    const wrongKey = await run(['send', '--url', env.gw.url, '--key', 'nope-nope-nope-nope', '--user', 'u1', '--text', 'x']);
    expect(wrongKey).toMatchObject({ code: 1, stderr: 'dingpush: invalid API key\n' });
    const down = await run(['status', 'ntf_x', '--url', 'http://127.0.0.1:65530', '--key', API_KEY]);
    expect(down.code).toBe(1);
    expect(down.stderr).toMatch(/^dingpush: cannot reach the gateway at http:\/\/127\.0\.0\.1:65530 \(ECONNREFUSED\)\n$/);
    const missing = await run(['status', 'ntf_doesnotexist', ...gw()]);
    expect(missing).toMatchObject({ code: 1, stderr: 'dingpush: id: no notification ntf_doesnotexist\n' });
  });

  it('robot send goes straight to a webhook, signed; a wrong secret is one line with DingTalk\'s code', async () => {
    const webhook = `${env.emu.url}/robot/send?access_token=${tokens.ops}`;
    const ok = await run(['robot', 'send', '--webhook', webhook, '--secret', ROBOT_SECRET, '--text', 'direct', '--at-mobile', '13600000002']);
    expect(ok).toMatchObject({ code: 0, stdout: 'sent\n' });
    const [last] = (await env.inbox('robots', 'ops')).slice(-1);
    expect(last.message.text.content).toBe('direct\n@13600000002');
    const bad = await run(['robot', 'send', '--webhook', webhook, '--secret', 'SECnope', '--text', 'x']);
    expect(bad.code).toBe(1);
    expect(bad.stderr.trim().split('\n')).toHaveLength(1);
    expect(bad.stderr).toContain('310000');
    expect(bad.stderr).not.toContain(tokens.ops);
    const noUrl = await run(['robot', 'send', '--webhook', 'https://example.com/robot/send', '--text', 'x']);
    expect(noUrl).toMatchObject({ code: 2, stderr: 'dingpush: --webhook: expected a URL with ?access_token=\n' });
  });

  it('every command has --help', async () => {
    for (const cmd of [['serve'], ['send'], ['status'], ['recall'], ['list'], ['robot', 'send'], ['emulator']]) {
      const res = await run([...cmd, '--help']);
      expect(res.code, cmd.join(' ')).toBe(0);
      expect(res.stdout).toContain('Usage: dingpush');
    }
  });
});
