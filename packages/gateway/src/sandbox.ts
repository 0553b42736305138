import { demoOrg, type RunningEmulator, startEmulator } from '@dingpush/emulator';
import { parseConfig } from './config/load.js';
import type { Config, ConfigInput } from './config/schema.js';

/** No DingTalk app or robot configured: the gateway runs against an in-process emulator with the demo org. */
export function isSandbox(config: Config): boolean {
  return config.apps.length === 0 && config.robots.length === 0;
}

export async function startSandbox(base: ConfigInput, emulatorPort = 8730): Promise<{ config: Config; emulator: RunningEmulator }> {
  const org = demoOrg();
  org.switches.readAfterMs = 15_000;
  let emulator: RunningEmulator;
  try {
    emulator = await startEmulator({ org, port: emulatorPort });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EADDRINUSE') throw err;
    emulator = await startEmulator({ org, port: 0 });
  }
  const app = org.apps[0]!;
  const config = parseConfig(
    {
      ...base,
      dingtalk: { oapiBaseUrl: emulator.url, apiBaseUrl: emulator.url },
      apps: [{ name: 'default', appKey: app.appKey, appSecret: app.appSecret, agentId: app.agentId, ...(app.robotCode ? { robotCode: app.robotCode } : {}) }],
      robots: org.robots.map((r) => ({
        name: r.name,
        webhook: `${emulator.url}/robot/send?access_token=${r.accessToken}`,
        ...(r.secret ? { secret: r.secret } : {}),
        keywords: r.keywords,
      })),
    },
    {},
  );
  return { config, emulator };
}
