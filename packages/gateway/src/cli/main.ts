import { Command, CommanderError } from 'commander';
import { collect, gatewayOptions, messageOptions } from './options.js';

/** The emulator's DEFAULT_EMULATOR_PORT, written out here so that declaring the command does not load the emulator. */
const EMULATOR_PORT = '8730';

/**
 * An action that imports the module implementing its command only when that command runs, so `dingpush --help` or
 * `dingpush send` never load the HTTP server, the store or the emulator.
 */
const lazy =
  <A extends unknown[]>(load: () => Promise<(...args: A) => Promise<void>>) =>
  async (...args: A): Promise<void> =>
    (await load())(...args);

export function buildProgram(): Command {
  const program = new Command()
    .name('dingpush')
    .description('dingpush — deliver notifications to people on DingTalk (钉钉), durably and inside its quotas')
    .version('0.1.0')
    .exitOverride();

  program
    .command('serve')
    .description('run the gateway; with no DingTalk app or robot configured, in sandbox mode against a built-in emulator')
    .option('-c, --config <file>', 'YAML configuration (env DINGPUSH_CONFIG; default ./dingpush.yaml when it exists)', process.env.DINGPUSH_CONFIG)
    .option('-p, --port <port>', 'override server.port')
    .option('--host <host>', 'override server.host')
    .action(lazy(async () => (await import('./serve-command.js')).serve));

  gatewayOptions(
    messageOptions(program.command('send').description('send a notification through a running gateway'), 'robot messages: ')
      .option('--user <userid...>', 'DingTalk userids (repeat or comma-separate)', collect)
      .option('--mobile <mobile...>', 'mobile numbers, resolved to userids by the gateway', collect)
      .option('--dept <id...>', 'department ids (with sub-departments)', collect)
      .option('--all-users', 'everyone in the organisation (DingTalk allows 3 a day)')
      .option('--robot <name...>', 'configured custom robots (group chats)', collect)
      .option('--chat <chatid...>', 'group chats by chatid (legacy chat/send)', collect)
      .option('--file <path>', 'a document to send (pdf, docx, xlsx, pptx, zip …), or a JSON file with the whole request (flags override its parts)')
      .option('--image <path|url>', 'an image to send (jpg, png, gif, bmp): a file, stored in the gateway first, or a URL')
      .option('--voice <path>', 'a voice message (amr, mp3, wav), with --duration')
      .option('--duration <seconds>', 'how long the --voice message is')
      .option('--app <name>', 'which configured app sends')
      .option('--via <channel>', 'work_notice (default) or app_robot for userids and mobiles')
      .option('--idempotency-key <key>', 'the same key returns the same notification instead of sending again')
      .option('--send-at <iso-time>', 'deliver at this time')
      .option('--callback-url <url>', 'receives the final per-recipient outcome')
      .option('--wait', 'wait until every recipient has an outcome, then print them')
      .option('--timeout <ms>', 'with --wait: how long to wait', '60000'),
  ).action(lazy(async () => (await import('./gateway-commands.js')).send));

  gatewayOptions(program.command('status').description('show a notification and what happened to each recipient').argument('<id>', 'notification id')).action(
    lazy(async () => (await import('./gateway-commands.js')).status),
  );

  gatewayOptions(
    program
      .command('recall')
      .description('recall a notification (what DingTalk allows: work notifications, app-robot messages, anything not sent yet)')
      .argument('<id>', 'notification id'),
  ).action(lazy(async () => (await import('./gateway-commands.js')).recall));

  gatewayOptions(
    program.command('retry').description("retry a notification's dead letters: failed deliveries go back to the queue").argument('<id>', 'notification id'),
  ).action(lazy(async () => (await import('./gateway-commands.js')).retry));

  gatewayOptions(
    program
      .command('list')
      .description('list recent notifications, newest first')
      .option('--status <status>', 'queued, in_progress, completed or recalled')
      .option('--limit <n>', 'how many', '20'),
  ).action(lazy(async () => (await import('./gateway-commands.js')).list));

  const directory = program.command('directory').description("the org directory the gateway keeps: mobiles resolve from it without a DingTalk lookup each");
  gatewayOptions(directory.command('sync').description("list the app's org from DingTalk now and replace its directory").option('--app <name>', 'which configured app (default: the first)')).action(
    lazy(async () => (await import('./gateway-commands.js')).directorySync),
  );
  gatewayOptions(
    directory
      .command('users')
      .description('who the directory holds: by --mobile or --userid, or a page of everyone')
      .option('--mobile <mobile>', 'a mobile number (+86 and dashes are fine)')
      .option('--userid <userid>', 'a DingTalk userid')
      .option('--app <name>', 'which configured app (default: the first)')
      .option('--limit <n>', 'how many', '100'),
  ).action(lazy(async () => (await import('./gateway-commands.js')).directoryUsers));

  messageOptions(
    program.command('robot').description('talk to a custom group robot directly').command('send').description('send one message to a robot webhook (signed when --secret is given)'),
    '',
  )
    .requiredOption('--webhook <url>', 'https://oapi.dingtalk.com/robot/send?access_token=… (env DINGPUSH_ROBOT_WEBHOOK)', process.env.DINGPUSH_ROBOT_WEBHOOK)
    .option('--secret <secret>', 'signing secret SEC… (env DINGPUSH_ROBOT_SECRET)', process.env.DINGPUSH_ROBOT_SECRET)
    .option('--json', 'print the answer as JSON')
    .action(lazy(async () => (await import('./robot-command.js')).robotSend));

  program
    .command('init')
    .description('write a commented configuration (secrets to .env beside it), from flags or, in a terminal, prompts')
    .option('-c, --config <file>', 'where to write it', 'dingpush.yaml')
    .option('--app-key <key>', 'the app\'s AppKey (Client ID)')
    .option('--app-secret <secret>', 'the app\'s AppSecret (Client Secret); goes to .env')
    .option('--agent-id <id>', 'the app\'s AgentId (a number), for work notifications')
    .option('--robot-code <code>', 'the app robot\'s robotCode, for chats and one-to-one messages')
    .option('--robot-name <name>', 'a name for the custom robot (default ops)')
    .option('--robot-webhook <url>', 'the custom robot\'s webhook URL; its access_token goes to .env')
    .option('--robot-secret <secret>', 'the custom robot\'s signing secret (SEC…); goes to .env')
    .option('--robot-keyword <word...>', 'a keyword the custom robot demands (repeat or comma-separate)', collect)
    .option('--store <path-or-url>', 'SQLite file or postgres:// URL', undefined)
    .option('--dingtalk-url <url>', 'reach DingTalk at this base URL (the emulator, a test double)')
    .option('--force', 'overwrite an existing configuration')
    .action(lazy(async () => (await import('./init-command.js')).init));

  program
    .command('doctor')
    .description('check a configuration against DingTalk: store, network, credentials, IP whitelist, permissions, robots, clock')
    .option('-c, --config <file>', 'YAML configuration (env DINGPUSH_CONFIG; default ./dingpush.yaml)', process.env.DINGPUSH_CONFIG)
    .option('--send-test <recipient>', 'also send a test message: a configured robot\'s name, or a userid (work notification)')
    .option('--json', 'print the checks as JSON')
    .option('--lang <lang>', 'zh or en (default: from LANG)')
    .action(lazy(async () => (await import('./doctor-command.js')).doctor));

  program
    .command('config')
    .description('configuration tools')
    .command('check')
    .description('validate a configuration without starting; lists every problem, each naming its key')
    .option('-c, --config <file>', 'YAML configuration (env DINGPUSH_CONFIG; default ./dingpush.yaml)', process.env.DINGPUSH_CONFIG)
    .action(lazy(async () => (await import('./config-command.js')).configCheck));

  program
    .command('emulator')
    .description('run the local DingTalk emulator (both API families, robots, inspector and inbox page)')
    .option('-p, --port <port>', 'port to listen on', EMULATOR_PORT)
    .option('--host <host>', 'address to listen on', '127.0.0.1')
    .option('--org <file>', 'org file (JSON or YAML) declaring apps, users, departments, robots and chats; default: the demo org')
    .action(lazy(async () => (await import('./emulator-command.js')).emulator));

  return program;
}

/** Runs the CLI; every failure is one readable line on stderr and a non-zero exit. */
export async function main(argv: string[]): Promise<void> {
  const program = buildProgram();
  try {
    await program.parseAsync(argv);
  } catch (err) {
    if (err instanceof CommanderError) process.exit(err.exitCode);
    const message = err instanceof Error ? err.message : String(err);
    process.stderr.write(`dingpush: ${message.split('\n')[0]}\n`);
    process.exit(err instanceof Error && (err.name === 'UsageError' || err.name === 'ConfigError') ? 2 : 1);
  }
}
