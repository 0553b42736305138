import type { Command } from 'commander';
import type { NotificationRequestInput } from '../notifications/request.js';
import type { NotificationStatus } from '../domain/delivery-states.js';
import type { NotificationView } from '../domain/notification-view.js';
import { DingpushClient } from '../sdk/client.js';
import { collect, gatewayOptions, messageFromFlags, print, readJsonFile, UsageError } from './options.js';

interface GatewayFlags {
  url: string;
  key?: string;
  json?: boolean;
}

interface SendFlags extends GatewayFlags {
  user?: string[];
  mobile?: string[];
  dept?: string[];
  allUsers?: boolean;
  robot?: string[];
  chat?: string[];
  text?: string;
  markdown?: string;
  title?: string;
  message?: string;
  file?: string;
  app?: string;
  via?: string;
  atMobile?: string[];
  atUser?: string[];
  atAll?: boolean;
  idempotencyKey?: string;
  sendAt?: string;
  callbackUrl?: string;
  wait?: boolean;
  timeout: string;
}

const client = (f: GatewayFlags) => new DingpushClient({ url: f.url, ...(f.key ? { apiKey: f.key } : {}) });

/** The request from flags, on top of --file when given. */
export function requestFromFlags(f: SendFlags): NotificationRequestInput {
  const base = (f.file ? readJsonFile(f.file, '--file') : {}) as Record<string, unknown>;
  if (typeof base !== 'object' || base === null || Array.isArray(base)) throw new UsageError('--file: expected a JSON object (a notification request)');
  const to = { ...((base.to as Record<string, unknown>) ?? {}) };
  if (f.user) to.userIds = f.user;
  if (f.mobile) to.mobiles = f.mobile;
  if (f.dept)
    to.deptIds = f.dept.map((d) => {
      const n = Number(d);
      if (!Number.isInteger(n) || n <= 0) throw new UsageError(`--dept: expected a department id (positive integer), got "${d}"`);
      return n;
    });
  if (f.allUsers) to.allUsers = true;
  if (f.robot) to.robots = f.robot;
  if (f.chat) to.chats = f.chat;
  const message = messageFromFlags(f) ?? base.message;
  if (message === undefined) throw new UsageError('no message: give --text, --markdown with --title, --message or --file');
  const request: Record<string, unknown> = { ...base, to, message };
  if (f.atMobile || f.atUser || f.atAll) request.mentions = { mobiles: f.atMobile ?? [], userIds: f.atUser ?? [], all: Boolean(f.atAll) };
  if (f.app) request.app = f.app;
  if (f.via) request.via = f.via;
  if (f.idempotencyKey) request.idempotencyKey = f.idempotencyKey;
  if (f.sendAt) request.sendAt = f.sendAt;
  if (f.callbackUrl) request.callbackUrl = f.callbackUrl;
  return request as NotificationRequestInput;
}

export function describeNotification(n: NotificationView): string {
  const lines = [`${n.id}  ${n.status}  (${Object.entries(n.counts).map(([s, c]) => `${c} ${s}`).join(', ') || 'no recipients'})`];
  for (const d of n.deliveries ?? []) {
    const who = d.userid ? `${d.recipient} (${d.userid})` : d.recipient;
    lines.push(`  ${d.channel.padEnd(11)} ${who.padEnd(28)} ${d.status.padEnd(9)} ${d.reason ?? ''}`.trimEnd());
  }
  return lines.join('\n');
}

export function registerGatewayCommands(program: Command): void {
  gatewayOptions(
    program
      .command('send')
      .description('send a notification through a running gateway')
      .option('--user <userid...>', 'DingTalk userids (repeat or comma-separate)', collect)
      .option('--mobile <mobile...>', 'mobile numbers, resolved to userids by the gateway', collect)
      .option('--dept <id...>', 'department ids (with sub-departments)', collect)
      .option('--all-users', 'everyone in the organisation (DingTalk allows 3 a day)')
      .option('--robot <name...>', 'configured custom robots (group chats)', collect)
      .option('--chat <chatid...>', 'group chats by chatid (legacy chat/send)', collect)
      .option('--text <content>', 'a text message')
      .option('--markdown <text>', 'a markdown message (needs --title)')
      .option('--title <title>', 'title of a markdown message')
      .option('--message <json>', 'any message as JSON, e.g. {"type":"action_card",...}')
      .option('--file <path>', 'a JSON file with the whole request; flags override its parts')
      .option('--app <name>', 'which configured app sends')
      .option('--via <channel>', 'work_notice (default) or app_robot for userids and mobiles')
      .option('--at-mobile <mobile...>', 'robot messages: @-mention by mobile', collect)
      .option('--at-user <userid...>', 'robot messages: @-mention by userid', collect)
      .option('--at-all', 'robot messages: @everyone')
      .option('--idempotency-key <key>', 'the same key returns the same notification instead of sending again')
      .option('--send-at <iso-time>', 'deliver at this time')
      .option('--callback-url <url>', 'receives the final per-recipient outcome')
      .option('--wait', 'wait until every recipient has an outcome, then print them')
      .option('--timeout <ms>', 'with --wait: how long to wait', '60000'),
  ).action(async (f: SendFlags) => {
    const api = client(f);
    const accepted = await api.send(requestFromFlags(f));
    if (!f.wait) return print(Boolean(f.json), accepted, () => `${accepted.id} ${accepted.replayed ? 'already accepted (idempotent replay)' : 'accepted'}`);
    const n = await api.waitFor(accepted.id, { timeoutMs: Number(f.timeout), intervalMs: 250 });
    print(Boolean(f.json), n, () => describeNotification(n));
  });

  gatewayOptions(program.command('status').description('show a notification and what happened to each recipient').argument('<id>', 'notification id')).action(
    async (id: string, f: GatewayFlags) => {
      const n = await client(f).get(id);
      print(Boolean(f.json), n, () => describeNotification(n));
    },
  );

  gatewayOptions(program.command('recall').description('recall a notification (what DingTalk allows: work notifications, app-robot messages, anything not sent yet)').argument('<id>', 'notification id')).action(
    async (id: string, f: GatewayFlags) => {
      const r = await client(f).recall(id);
      print(Boolean(f.json), r, () =>
        [
          `${r.id}: ${r.recalled} recalled`,
          ...r.pending.map((x) => `  pending: ${x.channel} ${x.recipient}: ${x.reason}`),
          ...r.notRecalled.map((x) => `  not recalled: ${x.channel} ${x.recipient}: ${x.reason}`),
          ...(r.alsoRecalled.length ? [`  also recalled (they shared one DingTalk message): ${r.alsoRecalled.join(', ')}`] : []),
        ].join('\n'),
      );
    },
  );

  gatewayOptions(
    program.command('retry').description("retry a notification's dead letters: failed deliveries go back to the queue").argument('<id>', 'notification id'),
  ).action(async (id: string, f: GatewayFlags) => {
    const r = await client(f).retry(id);
    print(Boolean(f.json), r, () => `${r.id}: ${r.jobs} job(s) retried, ${r.deliveries} failed deliver${r.deliveries === 1 ? 'y' : 'ies'} back in the queue`);
  });

  gatewayOptions(
    program
      .command('list')
      .description('list recent notifications, newest first')
      .option('--status <status>', 'queued, in_progress, completed or recalled')
      .option('--limit <n>', 'how many', '20'),
  ).action(async (f: GatewayFlags & { status?: NotificationStatus; limit: string }) => {
    const page = await client(f).list({ ...(f.status ? { status: f.status } : {}), limit: Number(f.limit) });
    print(Boolean(f.json), page, () => page.items.map((n) => `${n.id}  ${n.createdAt}  ${n.status}`).join('\n') || 'no notifications');
  });
}
