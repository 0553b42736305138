import { existsSync } from 'node:fs';
import { extensionOf, MEDIA_RULES } from '@dingpush/dingtalk';
import type { NotificationRequestInput } from '../notifications/request.js';
import type { NotificationStatus } from '../domain/delivery-states.js';
import type { NotificationView } from '../domain/notification-view.js';
import { DingpushClient } from '../sdk/client.js';
import { type Lang, langOf } from './lang.js';
import { messageFromFlags, print, readJsonFile, UsageError } from './options.js';

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
  image?: string;
  voice?: string;
  duration?: string;
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

/**
 * `--file` names a file to send when it is one of DingTalk's file formats (pdf, docx, zip …); any other path (req.json)
 * is the whole request as JSON, as it always was. The two sets never overlap: DingTalk takes no .json file.
 */
const isAttachment = (path: string | undefined): path is string => path !== undefined && MEDIA_RULES.file.formats.includes(extensionOf(path));

/** The request from flags, on top of --file when given; `media`: the message --image, --file or --voice made. */
export function requestFromFlags(f: SendFlags, media?: unknown): NotificationRequestInput {
  const base = (f.file && !isAttachment(f.file) ? readJsonFile(f.file, '--file') : {}) as Record<string, unknown>;
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
  const typed = messageFromFlags(f);
  if (typed !== undefined && media !== undefined) throw new UsageError('give one message: --text, --markdown, --message, --image, --file (a document) or --voice');
  const message = typed ?? media ?? base.message;
  if (message === undefined) throw new UsageError('no message: give --text, --markdown with --title, --message, --image, --voice or --file');
  const request: Record<string, unknown> = { ...base, to, message };
  if (f.atMobile || f.atUser || f.atAll) request.mentions = { mobiles: f.atMobile ?? [], userIds: f.atUser ?? [], all: Boolean(f.atAll) };
  if (f.app) request.app = f.app;
  if (f.via) request.via = f.via;
  if (f.idempotencyKey) request.idempotencyKey = f.idempotencyKey;
  if (f.sendAt) request.sendAt = f.sendAt;
  if (f.callbackUrl) request.callbackUrl = f.callbackUrl;
  return request as NotificationRequestInput;
}

/**
 * --image PATH|URL, --file PATH (a document), --voice PATH with --duration: a path is stored in the gateway first
 * (POST /v1/media) and referenced by its id; an image URL is given as it is (the gateway fetches it once).
 */
async function mediaFromFlags(api: DingpushClient, f: SendFlags): Promise<unknown> {
  const attachment = isAttachment(f.file) ? f.file : undefined;
  const given = [f.image, attachment, f.voice].filter((x) => x !== undefined);
  if (given.length === 0) {
    if (f.duration !== undefined) throw new UsageError('--duration goes with --voice');
    return undefined;
  }
  if (given.length > 1) throw new UsageError('give one of --image, --file (a document) or --voice');
  if (f.image !== undefined) return /^https?:\/\//i.test(f.image) ? { type: 'image', url: f.image } : { type: 'image', media: (await upload(api, f.image, 'image')).id };
  if (attachment !== undefined) return { type: 'file', media: (await upload(api, attachment, 'file')).id };
  const duration = Number(f.duration);
  if (f.duration === undefined || !Number.isInteger(duration) || duration < 1) throw new UsageError('--voice needs --duration <seconds> (a whole number, 1 to 59)');
  return { type: 'voice', media: (await upload(api, f.voice!, 'voice')).id, duration };
}

async function upload(api: DingpushClient, path: string, type: 'image' | 'file' | 'voice') {
  if (!existsSync(path)) throw new UsageError(`--${type}: no file ${path}`);
  return api.uploadMedia(path, { type });
}

export function describeNotification(n: NotificationView, lang: Lang = langOf(undefined, process.env)): string {
  const lines = [`${n.id}  ${n.status}  (${Object.entries(n.counts).map(([s, c]) => `${c} ${s}`).join(', ') || 'no recipients'})`];
  for (const d of n.deliveries ?? []) {
    const who = d.userid ? `${d.recipient} (${d.userid})` : d.recipient;
    // DingTalk's code and message on the row; what to do about it on the next line, in the reader's language.
    lines.push(`  ${d.channel.padEnd(11)} ${who.padEnd(28)} ${d.status.padEnd(9)} ${d.reason ?? ''}`.trimEnd());
    if (d.whatToDo) lines.push(`      ${lang === 'zh' ? `怎么办: ${d.whatToDo.zh}` : `what to do: ${d.whatToDo.en}`}`);
  }
  return lines.join('\n');
}

/** `dingpush send` (declared in main.ts, like the commands below; this module loads only when one of them runs). */
export async function send(f: SendFlags): Promise<void> {
  const api = client(f);
  const accepted = await api.send(requestFromFlags(f, await mediaFromFlags(api, f)));
  if (!f.wait) return print(Boolean(f.json), accepted, () => `${accepted.id} ${accepted.replayed ? 'already accepted (idempotent replay)' : 'accepted'}`);
  const n = await api.waitFor(accepted.id, { timeoutMs: Number(f.timeout), intervalMs: 250 });
  print(Boolean(f.json), n, () => describeNotification(n));
}

export async function status(id: string, f: GatewayFlags): Promise<void> {
  const n = await client(f).get(id);
  print(Boolean(f.json), n, () => describeNotification(n));
}

export async function recall(id: string, f: GatewayFlags): Promise<void> {
  const r = await client(f).recall(id);
  print(Boolean(f.json), r, () =>
    [
      `${r.id}: ${r.recalled} recalled`,
      ...r.pending.map((x) => `  pending: ${x.channel} ${x.recipient}: ${x.reason}`),
      ...r.notRecalled.map((x) => `  not recalled: ${x.channel} ${x.recipient}: ${x.reason}`),
      ...(r.alsoRecalled.length ? [`  also recalled (they shared one DingTalk message): ${r.alsoRecalled.join(', ')}`] : []),
    ].join('\n'),
  );
}

export async function retry(id: string, f: GatewayFlags): Promise<void> {
  const r = await client(f).retry(id);
  print(Boolean(f.json), r, () => `${r.id}: ${r.jobs} job(s) retried, ${r.deliveries} failed deliver${r.deliveries === 1 ? 'y' : 'ies'} back in the queue`);
}

export async function list(f: GatewayFlags & { status?: NotificationStatus; limit: string }): Promise<void> {
  const page = await client(f).list({ ...(f.status ? { status: f.status } : {}), limit: Number(f.limit) });
  print(Boolean(f.json), page, () => page.items.map((n) => `${n.id}  ${n.createdAt}  ${n.status}`).join('\n') || 'no notifications');
}

/** `dingpush directory sync`: the app's org listed from DingTalk now. */
export async function directorySync(f: GatewayFlags & { app?: string }): Promise<void> {
  const r = await client(f).syncDirectory(f.app);
  print(Boolean(f.json), r, () => `${r.app}: ${r.users} users in ${r.departments} departments (${r.calls} DingTalk calls, ${r.ms} ms)`);
}

/** `dingpush directory users`: who the directory holds, by mobile or userid, or a page of everyone. */
export async function directoryUsers(f: GatewayFlags & { app?: string; mobile?: string; userid?: string; limit: string }): Promise<void> {
  const limit = Number(f.limit);
  if (!Number.isInteger(limit) || limit < 1) throw new UsageError(`--limit: expected a positive integer, got "${f.limit}"`);
  const page = await client(f).directoryUsers({ ...(f.app ? { app: f.app } : {}), ...(f.mobile ? { mobile: f.mobile } : {}), ...(f.userid ? { userid: f.userid } : {}), limit });
  print(Boolean(f.json), page, () => {
    if (page.items.length === 0) return page.sync ? `${page.app}: no such user in the directory` : `${page.app}: the directory was never synced (dingpush directory sync)`;
    return page.items.map((u) => `${u.userid.padEnd(20)} ${(u.mobile ?? '-').padEnd(16)} ${u.name}  [${u.deptIds.join(',')}]`).join('\n');
  });
}
