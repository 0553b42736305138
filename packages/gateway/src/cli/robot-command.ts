import { RobotClient } from '@dingpush/dingtalk';
import type { Command } from 'commander';
import { collect, messageFromFlags, print, UsageError } from './options.js';

/** `dingpush robot send`: straight to a custom robot webhook, no gateway. */
export function registerRobotCommand(program: Command): void {
  const robot = program.command('robot').description('talk to a custom group robot directly');
  robot
    .command('send')
    .description('send one message to a robot webhook (signed when --secret is given)')
    .requiredOption('--webhook <url>', 'https://oapi.dingtalk.com/robot/send?access_token=… (env DINGPUSH_ROBOT_WEBHOOK)', process.env.DINGPUSH_ROBOT_WEBHOOK)
    .option('--secret <secret>', 'signing secret SEC… (env DINGPUSH_ROBOT_SECRET)', process.env.DINGPUSH_ROBOT_SECRET)
    .option('--text <content>', 'a text message')
    .option('--markdown <text>', 'a markdown message (needs --title)')
    .option('--title <title>', 'title of a markdown message')
    .option('--message <json>', 'any robot-capable message as JSON')
    .option('--at-mobile <mobile...>', '@-mention by mobile', collect)
    .option('--at-user <userid...>', '@-mention by userid', collect)
    .option('--at-all', '@everyone')
    .option('--json', 'print the answer as JSON')
    .action(async (f: { webhook: string; secret?: string; text?: string; markdown?: string; title?: string; message?: string; atMobile?: string[]; atUser?: string[]; atAll?: boolean; json?: boolean }) => {
      let url: URL;
      try {
        url = new URL(f.webhook);
      } catch {
        throw new UsageError('--webhook: not a URL');
      }
      if (!url.searchParams.get('access_token')) throw new UsageError('--webhook: expected a URL with ?access_token=');
      const message = messageFromFlags(f);
      if (message === undefined) throw new UsageError('no message: give --text, --markdown with --title, or --message');
      const { messageSchema } = await import('@dingpush/dingtalk');
      const parsed = messageSchema.safeParse(message);
      if (!parsed.success) {
        const issue = parsed.error.issues[0]!;
        throw new UsageError(`message.${issue.path.join('.')}: ${issue.message}`);
      }
      const client = new RobotClient({ webhook: f.webhook, ...(f.secret ? { secret: f.secret } : {}) });
      try {
        const mentions = f.atMobile || f.atUser || f.atAll ? { mobiles: f.atMobile ?? [], userIds: f.atUser ?? [], all: Boolean(f.atAll) } : undefined;
        await client.send(parsed.data, mentions ? { mentions } : {});
      } finally {
        await client.close();
      }
      print(Boolean(f.json), { ok: true }, () => 'sent');
    });
}
