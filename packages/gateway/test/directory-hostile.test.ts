import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseOrg, type RunningEmulator, startEmulator } from '@dingpush/emulator';
import { afterAll, describe, expect, it } from 'vitest';
import { DingpushClient, parseConfig, type RunningGateway, startGateway } from '../src/server.js';
import { API_KEY, gatewayConfig, org, text } from './helpers.js';

/**
 * A directory belongs to the DingTalk org it listed. An operator who points an app's name at another app (a test
 * org's AppKey replaced by production's, the usual path to going live) must not have production's mobiles resolved
 * to the test org's userids by a directory synced before the change.
 */
describe('the org directory after an app is pointed at another org', () => {
  const started: { close(): Promise<void> }[] = [];
  afterAll(async () => {
    for (const s of started.reverse()) await s.close();
  });

  it('a directory synced by the old AppKey is not used: the mobile resolves in the new org', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'dingpush-dir-org-'));
    const testApp = { name: 'main', appKey: 'dingtestorgapp', appSecret: 'test-org-secret-0123456789', agentId: 4101 };
    const prodApp = { name: 'main', appKey: 'dingprodorgapp', appSecret: 'prod-org-secret-0123456789', agentId: 4102 };
    const mobile = '13600000007';
    // The same person's mobile, a different userid in each org.
    const testOrg = org();
    testOrg.apps = [testApp];
    const prodOrg = org();
    prodOrg.apps = [prodApp];
    prodOrg.users = prodOrg.users!.map((u) => ({ ...u, userid: `prod-${u.userid}` }));
    prodOrg.chats = [];
    const emuTest: RunningEmulator = await startEmulator({ org: parseOrg(testOrg), port: 0 });
    started.push(emuTest);
    const emuProd: RunningEmulator = await startEmulator({ org: parseOrg(prodOrg), port: 0 });
    started.push(emuProd);

    let gw: RunningGateway = await startGateway(parseConfig(gatewayConfig(emuTest.url, dataDir, { apps: [testApp] })));
    let api = new DingpushClient({ url: gw.url, apiKey: API_KEY });
    expect(await api.syncDirectory()).toMatchObject({ users: 300 });
    await gw.close();

    gw = await startGateway(parseConfig(gatewayConfig(emuProd.url, dataDir, { apps: [prodApp] })));
    started.push(gw);
    api = new DingpushClient({ url: gw.url, apiKey: API_KEY });
    // The new app has synced nothing: its directory is empty, not the old org's.
    expect((await api.directoryUsers({ mobile })).items).toEqual([]);
    const { id } = await api.send({ to: { mobiles: [mobile] }, message: text('上线了') });
    const n = await api.waitFor(id, { timeoutMs: 20_000 });
    expect(n.deliveries![0]).toMatchObject({ recipient: mobile, userid: 'prod-u7' });
  });
});
