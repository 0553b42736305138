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
  mentions?: { mobiles: string[]; userIds: string[]; all: boolean };
  /** The message's link (a link message's target, a card's button, the first link of a markdown text): kept in the digest. */
  link?: string;
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
  /** The drop-in target the message came in by (recorded with the notification, for the dashboard's filter). */
  target?: string;
}

/**
 * An item a digest carries: whose delivery it is, the job it came from (it goes back there if the digest is refused),
 * and whether it was urgent (then so is the digest).
 */
export type CarriedItem = DigestItem & { deliveryId: string; jobId: string; urgent?: boolean; /** Its own give-up time counts from here. */ dueAt: number };

/** Critical or resolved alerts, urgent pushes: may use the part of a robot's minute kept in reserve. */
export const isUrgent = (hints: DigestHints) => hints.urgent === true || hints.alert?.status === 'resolved';

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

const firstHttpLink = (text: string) => /\]\((https?:\/\/[^)\s]+)\)/.exec(text)?.[1] ?? /(https?:\/\/[^\s<>()\]]+)/.exec(text)?.[1];

/**
 * Whether a robot body may be folded into a digest: an action card with several buttons is a choice to make, and a
 * feed card a list of links — neither survives as one line.
 */
export function foldable(body: RobotBody): boolean {
  const b = body as Record<string, Record<string, unknown> | undefined>;
  if (body.msgtype === 'feedCard') return false;
  if (body.msgtype === 'actionCard' && Array.isArray(b.actionCard?.btns) && (b.actionCard.btns as unknown[]).length > 1) return false;
  return ['text', 'markdown', 'link', 'actionCard'].includes(body.msgtype);
}

/** The item of a robot body that may be folded (see foldable). */
export function digestItemOf(body: RobotBody, hints: DigestHints, at: number): DigestItem {
  const b = body as Record<string, Record<string, unknown> | undefined>;
  const str = (v: unknown) => (typeof v === 'string' ? v : '');
  let title = '';
  let excerpt = '';
  let link: string | undefined;
  switch (body.msgtype) {
    case 'text':
      title = firstLine(str(b.text?.content), '');
      excerpt = firstLine(str(b.text?.content).split('\n').slice(1).join('\n'), title);
      break;
    case 'markdown':
      title = str(b.markdown?.title);
      excerpt = firstLine(str(b.markdown?.text), title);
      link = firstHttpLink(str(b.markdown?.text));
      break;
    case 'link':
      title = str(b.link?.title);
      excerpt = firstLine(str(b.link?.text), title);
      link = str(b.link?.messageUrl) || undefined;
      break;
    case 'actionCard': {
      title = str(b.actionCard?.title);
      excerpt = firstLine(str(b.actionCard?.text), title);
      const btns = b.actionCard?.btns as unknown as { actionURL?: string }[] | undefined;
      link = str(b.actionCard?.singleURL) || str(btns?.[0]?.actionURL) || firstHttpLink(str(b.actionCard?.text));
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
    ...(mentions ? { mentions } : {}),
    ...(link && /^(https?|dingtalk):/i.test(link) && !/[\s()]/.test(link) ? { link } : {}),
  };
}

/** Whether `timeZone` is one this runtime knows (an IANA name). */
export function knownTimeZone(timeZone: string): boolean {
  try {
    new Intl.DateTimeFormat('en-GB', { timeZone });
    return true;
  } catch {
    return false;
  }
}

const clock = (at: number, timeZone: string) =>
  new Intl.DateTimeFormat('en-GB', { timeZone: knownTimeZone(timeZone) ? timeZone : 'Asia/Shanghai', hour: '2-digit', minute: '2-digit', second: '2-digit', hour12: false }).format(
    new Date(at),
  );

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
    const name = first.link ? `[${first.title.replace(/[[\]]/g, '')}](${first.link})` : first.title;
    return { items: line, newest: first.at, text: `- ${clock(first.at, tz)} ${mark}**${name}**${first.excerpt ? ` ${first.excerpt}` : ''}` };
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
  const title = chars(`📋 消息汇总: ${tally(items.length, counts(items))}`, LIMITS.title);
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

/** DingTalk's limits on a robot message's @-mentions (atUserIds; atMobiles held to the same). */
const MAX_MENTIONS = LIMITS.atUserIds;

/**
 * Which of `items` (oldest first) one digest carries: whole lines, oldest first, while the rendered digest stays within
 * DingTalk's limits — 5 000 characters of markdown, 20 000 bytes of body (as JSON, escapes counted), 50 @-mentioned
 * userids and mobiles — with room for the last line; at least the first line. An alert's resolution travels with its
 * firing.
 */
export function packDigest<T extends CarriedItem>(items: T[], keywords: string[]): T[] {
  const room = { count: items.length, firing: items.length, resolved: items.length };
  const taken: T[] = [];
  for (const line of linesOf(items)) {
    const next = [...taken, ...(line.items as T[])];
    if (taken.length > 0 && !digestFits(renderDigest({ items: next, more: room }, keywords))) break;
    taken.push(...(line.items as T[]));
  }
  return taken;
}

/** Whether a rendered digest is within DingTalk's limits. */
export function digestFits(body: RobotBody): boolean {
  const at = body.at;
  return (
    robotBodyBytes(body) <= LIMITS.robotBodyBytes &&
    [...(body.markdown as { text: string }).text].length <= LIMITS.markdownText &&
    (at?.atUserIds?.length ?? 0) <= MAX_MENTIONS &&
    (at?.atMobiles?.length ?? 0) <= MAX_MENTIONS
  );
}
