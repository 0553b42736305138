import type { Command } from 'commander';
import { DEFAULT_EMULATOR_PORT, demoOrg, loadOrgFile, startEmulator } from '@dingpush/emulator';
import { parsePort } from './options.js';

export function registerEmulatorCommand(program: Command): void {
  program
    .command('emulator')
    .description('run the local DingTalk emulator (both API families, robots, inspector and inbox page)')
    .option('-p, --port <port>', 'port to listen on', String(DEFAULT_EMULATOR_PORT))
    .option('--host <host>', 'address to listen on', '127.0.0.1')
    .option('--org <file>', 'org file (JSON or YAML) declaring apps, users, departments, robots and chats; default: the demo org')
    .action(async (opts: { port: string; host: string; org?: string }) => {
      const org = opts.org ? loadOrgFile(opts.org) : demoOrg();
      const emulator = await startEmulator({ org, port: parsePort(opts.port, '--port'), host: opts.host });
      process.stdout.write(
        `DingTalk emulator listening on ${emulator.url}\n` +
          `  oapi and new API base URL: ${emulator.url}\n` +
          `  inbox:                     ${emulator.url}/_emulator/\n` +
          `  inspector API:             ${emulator.url}/_emulator/api/calls\n` +
          `  org: ${org.apps.length} app(s), ${org.users.length} user(s), ${org.robots.length} robot(s), ${org.chats.length} chat(s)\n`,
      );
      const stop = async () => {
        await emulator.close();
        process.exit(0);
      };
      process.once('SIGINT', stop);
      process.once('SIGTERM', stop);
    });
}
