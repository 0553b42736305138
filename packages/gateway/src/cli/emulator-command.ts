import { demoOrg, loadOrgFile, startEmulator } from '@dingpush/emulator';
import { parsePort } from './options.js';

/** `dingpush emulator` (declared in main.ts; this module, and with it the emulator, loads only when it runs). */
export async function emulator(opts: { port: string; host: string; org?: string }): Promise<void> {
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
}
