import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { parseOrg, startEmulator } from '@dingpush/emulator';
import { describe, expect, it } from 'vitest';
import { createLogger } from '../src/observability/logger.js';
import { DingpushClient, parseConfig, startGateway } from '../src/server.js';
import { API_KEY, APP, gatewayConfig, org, ROBOT_SECRET, tokens } from './helpers.js';

describe('secrets', () => {
  it('never appear in logs, API answers, errors or metrics, even when sends fail', async () => {
    const emu = await startEmulator({ org: parseOrg(org()), port: 0 });
    let logs = '';
    const sink = new Writable({
      write(chunk, _enc, done) {
        logs += chunk;
        done();
      },
    });
    const dir = mkdtempSync(join(tmpdir(), 'dingpush-secrets-'));
    const gw = await startGateway(parseConfig({ ...gatewayConfig(emu.url, dir), logLevel: 'debug' }), { logger: createLogger('debug', sink) });
    try {
      const api = new DingpushClient({ url: gw.url, apiKey: API_KEY });
      await fetch(`${emu.url}/_emulator/api/faults`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ path: '*', kind: 'busy', count: 3 }) });
      const { id } = await api.send({ to: { userIds: ['u1'], robots: ['ops', 'bad'], mobiles: ['13999999990'] }, message: { type: 'text', content: 'secret check' } });
      const n = await api.waitFor(id, { timeoutMs: 15_000 });
      gw.runtime.log.info({ appSecret: APP.appSecret, robot: { secret: ROBOT_SECRET, webhook: `x?access_token=${tokens.ops}` }, key: API_KEY }, 'redaction check');
      const answers = JSON.stringify(n) + (await (await fetch(`${gw.url}/metrics`)).text()) + JSON.stringify(await api.list());
      const bad = await fetch(`${gw.url}/v1/notifications`, { method: 'POST', headers: { authorization: 'Bearer wrong-key-wrong-key' } });
      const everything = logs + answers + (await bad.text());
      expect(logs).toContain('redaction check');
      expect(logs).toContain('delivery failed');
      expect(logs).toContain('send failed; retrying');
      for (const secret of [APP.appSecret, ROBOT_SECRET, tokens.ops, tokens.bad, API_KEY, 'SECwrongwrongwrong']) expect(everything).not.toContain(secret);
      const accessToken = await gw.runtime.apps.get('main')!.client.accessToken();
      expect(everything).not.toContain(accessToken);
    } finally {
      await gw.close();
      await emu.close();
    }
  }, 30_000);
});
