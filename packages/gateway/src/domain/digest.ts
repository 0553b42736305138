import { LIMITS, type RobotBody, robotBodyBytes } from '@dingpush/dingtalk';

/**
 * Storm digests: messages that wait behind a robot's quota go out together in its next free slot, as one markdown
 * message listing each (newest first, with its time), packed under DingTalk's limits; what does not fit waits for the
 * next one and is counted in the last line — never dropped. Pure functions: the accepting side records an item for
 * each message that may be folded, the dispatcher packs and renders them.
 */

/** What a message shows in a digest; kept with the send job of a message that may be folded into one. */
export interface DigestItem {
  title: string;
  /** The first line of content beyond the title, short. */
  excerpt: string;
  /** When the notification was accepted. */
  at: number;
  timeZone: string;
  /** For alerts: counted as firing/resolved, and a group that fired and resolved while waiting is shown once. */
  alert?: { status: 'firing' | 'resolved'; group: string };
  /** Critical or resolved alerts, urgent pushes: may use the part of the quota kept in reserve. */
  urgent: boolean;
  mentions?: { mobiles: string[]; userIds: string[]; all: boolean };
}

/** What the accepting side knows about a message beyond its body (drop-in endpoints fill it in). */
export interface DigestHints {
  /** false: the message is never folded (its target says digest: false). */
  digest?: boolean;
  timeZone?: string;
  alert?: { status: 'firing' | 'resolved'; group: string };
  urgent?: boolean;
  /** How the message is named in a digest when its body's title says it less well (an alert group: its name). */
  title?: string;
  excerpt?: string;
}

export type CarriedItem = DigestItem & { deliveryId: string };

/** A digest job's payload: the items it carries, and what still waited behind it when it was put together. */
export interface DigestContent {
  items: CarriedItem[];
  more: { count: number; firing: number; resolved: number };
}

const EXCERPT_CHARS = 80;
const chars = (s: string, n: number) => {
  const cps = [...s];
  return cps.length <= n ? s : `${cps.slice(0, n - 1).join('')}…`;
};

/** A markdown line as plain words: links keep their label, emphasis and heading marks go. */
function plain(line: string): string {
  return line
    .replace(/!?\[([^\]]*)\]\([^)]*\)/g, '$1')
    .replace(/^\s*(#{1,6}\s*|>\s*|[-*+]\s+|\d+\.\s+)/, '')
    .replace(/[*_`~]/g, '')
    .replace(/\s+/g, ' ')
    .trim();
}

const firstLine = (text: string, skip: string) =>
  text
    .split('\n')
    .map(plain)
    .find((l) => l !== '' && l !== plain(skip) && !/^@[\d\w]+(\s+@[\d\w]+)*$/.test(l)) ?? '';

/** The item of a robot body, whatever its type (raw bodies included). */
export function digestItemOf(body: RobotBody, hints: DigestHints, at: number): DigestItem {
  const b = body as Record<string, Record<string, unknown> | undefined>;
  const str = (v: unknown) => (typeof v === 'string' ? v : '');
  let title = '';
  let excerpt = '';
  switch (body.msgtype) {
    case 'text':
      title = firstLine(str(b.text?.content), '');
      excerpt = firstLine(str(b.text?.content).split('\n').slice(1).join('\n'), title);
      break;
    case 'markdown':
      title = str(b.markdown?.title);
      excerpt = firstLine(str(b.markdown?.text), title);
      break;
    case 'link':
      title = str(b.link?.title);
      excerpt = firstLine(str(b.link?.text), title);
      break;
    case 'actionCard':
      title = str(b.actionCard?.title);
      excerpt = firstLine(str(b.actionCard?.text), title);
      break;
    case 'feedCard': {
      const links = (b.feedCard?.links as unknown as { title?: string }[] | undefined) ?? [];
      title = str(links[0]?.title);
      excerpt = links.length > 1 ? `+${links.length - 1}` : '';
      break;
    }
    default:
      title = typeof body.msgtype === 'string' ? body.msgtype : 'message';
  }
  const at_ = body.at;
  const mentions = at_ && (at_.atMobiles?.length || at_.atUserIds?.length || at_.isAtAll) ? { mobiles: at_.atMobiles ?? [], userIds: at_.atUserIds ?? [], all: at_.isAtAll === true } : undefined;
  if (hints.title) title = hints.title;
  if (hints.excerpt !== undefined) excerpt = plain(hints.excerpt.split('\n')[0] ?? '');
  return {
    title: chars(plain(title) || (typeof body.msgtype === 'string' ? body.msgtype : 'message'), LIMITS.title),
    excerpt: chars(excerpt, EXCERPT_CHARS),
    at,
    timeZone: hints.timeZone ?? 'Asia/Shanghai',
    ...(hints.alert ? { alert: hints.alert } : {}),
    urgent: hints.urgent === true || hints.alert?.status === 'resolved',
    ...(mentions ? { mentions } : {}),
  };
}

const clock = (at: number, timeZone: string) =>
  new Intl.DateTimeFormat('en-GB', { timeZone, hour: '2-digit', minute: '2-digit', second: '2-digit', hour12: false }).format(new Date(at));

/** One line per item, or per alert group that fired and resolved while waiting (shown once, as both). */
interface Line {
  items: CarriedItem[];
  text: string;
  newest: number;
}

function linesOf(items: CarriedItem[]): Line[] {
  const groups = new Map<string, CarriedItem[]>();
  const lines: CarriedItem[][] = [];
  for (const item of items) {
    const key = item.alert?.group;
    const group = key !== undefined ? groups.get(key) : undefined;
    // A resolution joins the firing it follows; a second firing of a resolved group starts a new line.
    if (group && item.alert!.status === 'resolved' && group.every((g) => g.alert!.status === 'firing')) {
      group.push(item);
      continue;
    }
    const line = [item];
    if (key !== undefined) groups.set(key, line);
    lines.push(line);
  }
  return lines.map((line) => {
    const last = line[line.length - 1]!;
    const first = line[0]!;
    const tz = first.timeZone;
    if (line.length > 1 && last.alert?.status === 'resolved') {
      const name = first.title.replace(/^\S*\s*\[FIRING:\d+[^\]]*\]\s*/, '');
      return { items: line, newest: last.at, text: `- ${clock(last.at, tz)} 🔥→✅ **${name}** 已恢复 (fired ${clock(first.at, tz)})${first.excerpt ? ` ${first.excerpt}` : ''}` };
    }
    const mark = first.alert ? (first.alert.status === 'resolved' ? '✅ ' : '🔥 ') : '';
    return { items: line, newest: first.at, text: `- ${clock(first.at, tz)} ${mark}**${first.title}**${first.excerpt ? ` ${first.excerpt}` : ''}` };
  });
}

const counts = (items: DigestItem[]) => ({
  firing: items.filter((i) => i.alert?.status === 'firing').length,
  resolved: items.filter((i) => i.alert?.status === 'resolved').length,
});

function tally(n: number, c: { firing: number; resolved: number }): string {
  const parts = [c.firing ? `🔥 ${c.firing}` : '', c.resolved ? `✅ ${c.resolved}` : ''].filter(Boolean);
  return `${n} 条${parts.length ? ` (${parts.join(' · ')})` : ''}`;
}

/** The digest's robot body: counts in the title, newest first, the remainder counted, everyone mentioned named. */
export function renderDigest(content: DigestContent, keywords: string[]): RobotBody {
  const { items, more } = content;
  const title = chars(`📋 ${tally(items.length, counts(items))} 消息汇总`, LIMITS.title);
  const lines = linesOf(items).sort((a, b) => b.newest - a.newest);
  const mobiles = [...new Set(items.flatMap((i) => i.mentions?.mobiles ?? []))];
  const userIds = [...new Set(items.flatMap((i) => i.mentions?.userIds ?? []))];
  const all = items.some((i) => i.mentions?.all);
  const mentionText = [...mobiles, ...userIds].map((m) => `@${m}`).join(' ');
  const text = [
    `#### ${title}`,
    '等待机器人限额 (每分钟 20 条) 期间收到, 合并为一条, 最新在前:',
    '',
    ...lines.map((l) => l.text),
    ...(more.count > 0 ? ['', `…另有 ${tally(more.count, more)} 在下一条消息中`] : []),
    // A robot with keywords refuses a message without one (310000): a digest names them.
    ...(keywords.length && !lines.some((l) => keywords.some((k) => l.text.includes(k))) ? ['', keywords.join(' ')] : []),
    ...(mentionText ? ['', mentionText] : []),
  ].join('\n');
  return {
    msgtype: 'markdown',
    markdown: { title, text },
    ...(mobiles.length || userIds.length || all ? { at: { atMobiles: mobiles, atUserIds: userIds, isAtAll: all } } : {}),
  };
}

/** Room kept for the title, the header, the last line, keywords and mentions. */
const FRAME_CHARS = 600;
const FRAME_BYTES = 2_400;

/**
 * Which of `items` (oldest first) one digest carries: whole lines, oldest first, while they fit under DingTalk's
 * markdown limit (characters) and robot body cap (bytes); at least one. An alert's resolution travels with its firing.
 */
export function packDigest<T extends CarriedItem>(items: T[]): T[] {
  let used = 0;
  let bytes = 0;
  const taken: T[] = [];
  for (const line of linesOf(items)) {
    const c = [...line.text].length + 1;
    const b = Buffer.byteLength(line.text) + 8;
    if (taken.length > 0 && (used + c > LIMITS.markdownText - FRAME_CHARS || bytes + b > LIMITS.robotBodyBytes - FRAME_BYTES)) break;
    used += c;
    bytes += b;
    taken.push(...(line.items as T[]));
  }
  return taken;
}

/** Whether a rendered digest is within DingTalk's limits (a check on the packing, not a second packing). */
export const digestFits = (body: RobotBody) => robotBodyBytes(body) <= LIMITS.robotBodyBytes && [...(body.markdown as { text: string }).text].length <= LIMITS.markdownText;
