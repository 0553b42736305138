import { messageSchema, RobotClient } from '@dingpush/dingtalk';
import { messageFromFlags, print, UsageError } from './options.js';

interface RobotFlags {
  webhook: string;
  secret?: string;
  text?: string;
  markdown?: string;
  title?: string;
  message?: string;
  atMobile?: string[];
  atUser?: string[];
  atAll?: boolean;
  json?: boolean;
}

/** `dingpush robot send`: straight to a custom robot webhook, no gateway (declared in main.ts, loaded when it runs). */
export async function robotSend(f: RobotFlags): Promise<void> {
  let url: URL;
  try {
    url = new URL(f.webhook);
  } catch {
    throw new UsageError('--webhook: not a URL');
  }
  if (!url.searchParams.get('access_token')) throw new UsageError('--webhook: expected a URL with ?access_token=');
  const message = messageFromFlags(f);
  if (message === undefined) throw new UsageError('no message: give --text, --markdown with --title, or --message');
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
}
