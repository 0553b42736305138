import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseOrg, startEmulator } from '@dingpush/emulator';
import { stringify } from 'yaml';
import { describe, expect, it } from 'vitest';
import { DingpushClient } from '../src/server.js';
import { API_KEY, gatewayConfig, org } from './helpers.js';
import { spawnDingpush } from './process.js';

describe('crash safety', () => {
  it('SIGKILL right after accepting a batch loses nothing: after a restart every accepted notification arrives once', async () => {
    const emu = await startEmulator({ org: parseOrg(org({ deliveryMs: 50 })), port: 0 });
    const dir = mkdtempSync(join(tmpdir(), 'dingpush-crash-'));
    const configFile = join(dir, 'dingpush.yaml');
    const config = gatewayConfig(emu.url, dir, {
      // Slow pacing so that most of the batch is still queued at the kill; a short lease so the restart reclaims fast.
      delivery: { appCallsPerSecond: 4, leaseMs: 1_500, pollMs: 50, backoffBaseMs: 50, backoffMaxMs: 300 },
      logLevel: 'warn',
    });
    writeFileSync(configFile, stringify(config));
    try {
      const first = spawnDingpush(['serve', '--config', configFile]);
      const url = (await first.waitFor(/API:\s+(http:\/\/127\.0\.0\.1:\d+)/))[1]!;
      const api = new DingpushClient({ url, apiKey: API_KEY });
      const sent = await Promise.all(Array.from({ length: 60 }, (_, i) => api.send({ to: { userIds: [`u${i}`] }, message: { type: 'text', content: `crash test ${i}` } })));
      first.child.kill('SIGKILL');
      await first.exited;
      const deliveredBeforeRestart = (await (await fetch(`${emu.url}/_emulator/api/calls?path=${encodeURIComponent('/topapi/message/corpconversation/asyncsend_v2')}`)).json()).calls.length;
      expect(deliveredBeforeRestart).toBeLessThan(60);

      const second = spawnDingpush(['serve', '--config', configFile]);
      const url2 = (await second.waitFor(/API:\s+(http:\/\/127\.0\.0\.1:\d+)/))[1]!;
      const api2 = new DingpushClient({ url: url2, apiKey: API_KEY });
      for (const { id } of sent) {
        const n = await api2.waitFor(id, { timeoutMs: 60_000, intervalMs: 200 });
        const d = n.deliveries![0]!;
        // Killed in the middle of a call: sent again after the restart, and DingTalk's duplicate filter proved the
        // first copy arrived (its read status cannot be learnt: the task id was lost with the answer).
        if (d.status === 'sent') expect(d.reason).toContain('its read status cannot be known');
        else expect(['read', 'unread']).toContain(d.status);
      }
      for (let i = 0; i < 60; i++) {
        const { messages } = await (await fetch(`${emu.url}/_emulator/api/inbox/users/u${i}`)).json();
        expect(messages.filter((m: { message: { text: { content: string } } }) => m.message.text.content === `crash test ${i}`)).toHaveLength(1);
      }
      second.child.kill('SIGTERM');
      expect(await second.exited).toBe(0);
    } finally {
      await emu.close();
    }
  }, 120_000);
});
