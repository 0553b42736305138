import { existsSync } from 'node:fs';
import { loadConfigFile, parseConfig } from '../config/load.js';
import { startGateway } from '../gateway.js';
import { isSandbox, startSandbox } from '../sandbox.js';
import { parsePort } from './options.js';

/** `dingpush serve` (declared in main.ts; this module, and with it the server and the store, loads only when it runs). */
export async function serve(f: { config?: string; port?: string; host?: string }): Promise<void> {
  const file = f.config || (existsSync('dingpush.yaml') ? 'dingpush.yaml' : undefined);
  let config = file ? loadConfigFile(file) : parseConfig({});
  if (f.port !== undefined || f.host !== undefined)
    config = { ...config, server: { ...config.server, ...(f.port !== undefined ? { port: parsePort(f.port, '--port') } : {}), ...(f.host ? { host: f.host } : {}) } };
  const sandbox = isSandbox(config);
  const emu = sandbox ? await startSandbox(config) : undefined;
  const gateway = await startGateway(emu?.config ?? config, { sandbox, noopEndpoint: process.env.DINGPUSH_NOOP_ENDPOINT === '1' });
  const lines = [
    sandbox
      ? 'dingpush gateway — sandbox mode: no DingTalk app configured, so it talks to a built-in DingTalk emulator; nothing leaves this machine'
      : `dingpush gateway — ${config.apps.length} app(s), ${config.robots.length} robot(s)`,
    `  API:        ${gateway.url}/v1/notifications   (OpenAPI: ${gateway.url}/openapi.json)`,
    `  dashboard:  ${gateway.url}/`,
    ...(emu ? [`  inbox:      ${emu.emulator.url}/_emulator/   (the emulated DingTalk: every user's and group's messages)`] : []),
    `  store:      ${'sqlite' in config.store ? `sqlite ${config.store.sqlite}` : 'postgres'}`,
    ...(emu
      ? [
          '',
          'Try it:',
          '  npx dingpush send --user zhangsan,lisi --markdown "**磁盘** 使用率 91%" --title 告警 --wait',
          '  npx dingpush send --robot ops --text "部署完成" --at-mobile 13800000001 --wait',
        ]
      : []),
  ];
  process.stdout.write(`${lines.join('\n')}\n`);
  const stop = async (signal: string) => {
    process.stdout.write(`${signal}: finishing what is in flight…\n`);
    await gateway.close();
    await emu?.emulator.close();
    process.exit(0);
  };
  process.once('SIGTERM', () => void stop('SIGTERM'));
  process.once('SIGINT', () => void stop('SIGINT'));
}
