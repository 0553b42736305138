import {
  codePoints,
  jsonBytes,
  LIMITS,
  type Mentions,
  type Message,
  robotBodyBytes,
  robotKeywordProblem,
  splitMarkdown,
  splitMarkdownBlocks,
  toAppRobotMessage,
  toRobotBody,
} from '@dingpush/dingtalk';
import { invalid } from './errors.js';

/**
 * Long text and markdown (up to LIMITS.longText) against each surface's real limit: a work notification's or chat
 * message's text holds 5 000 characters (34016), a custom robot's whole body 20 000 bytes (460101), an app robot's
 * msgParam 15 000 bytes. What does not fit is split into numbered parts (the default), truncated, or refused, as the
 * request's `overflow` says. Parts break where the splitter finds the safest boundary (client: messages/split.ts) and
 * join back to the original text exactly (markdown: but for a cut code block's fence, closed and reopened, and a cut
 * table's header rows, repeated, so that each part renders on its own); a markdown part's title carries its number ("Daily report (2/5)"), a text
 * part's first line does ("(2/5)").
 */

export const OVERFLOW_POLICIES = ['split', 'truncate', 'reject'] as const;
export type Overflow = (typeof OVERFLOW_POLICIES)[number];
export type LongSurface = 'work_notice' | 'chat' | 'robot' | 'app_robot';

type Long = Extract<Message, { type: 'text' | 'markdown' }>;
const isLong = (m: Message): m is Long => m.type === 'text' || m.type === 'markdown';

/** Room a robot body keeps for the msgUuid the dispatcher adds to it (`,"msgUuid":"dlv_…"`). */
const MSG_UUID_BYTES = 80;
/** The widest part number this bound allows ("(999/999)"), reserved in every part's budget. */
const WIDEST_NUMBER = ' (999/999)';
const TRUNCATED = ' …';

const textOf = (m: Long) => (m.type === 'text' ? m.content : m.text);
const withText = (m: Long, text: string): Long => (m.type === 'text' ? { ...m, content: text } : { ...m, text });

/** A markdown title with its part number, cut so that both fit DingTalk's 64 characters. */
function numberedTitle(title: string, suffix: string): string {
  const room = Math.max(0, LIMITS.title - codePoints(suffix));
  const chars = [...title];
  return (chars.length > room ? chars.slice(0, room).join('') : title) + suffix;
}

/** Part `number` (" (2/5)") of a message, carrying `text`: in a markdown title, or on a text's first line. */
function numbered(m: Long, number: string, text: string): Long {
  return m.type === 'text' ? { ...m, content: `${number.trim()}\n${text}` } : { ...m, title: numberedTitle(m.title, number), text };
}

/** How a surface counts a message's text, and how much text the rest of `m` leaves room for. */
function roomIn(surface: LongSurface, m: Long, mentions: Mentions | undefined): { size: (s: string) => number; max: number; label: string } {
  switch (surface) {
    case 'work_notice':
    case 'chat': {
      const max = m.type === 'text' ? LIMITS.textContent : LIMITS.markdownText;
      return { size: codePoints, max: max - codePoints(textOf(m)), label: `${max} characters in a ${surface === 'chat' ? 'chat message' : 'work notification'}` };
    }
    case 'robot':
      return { size: jsonBytes, max: LIMITS.robotBodyBytes - robotBodyBytes(toRobotBody(m, mentions)) - MSG_UUID_BYTES, label: `${LIMITS.robotBodyBytes} bytes in a robot message` };
    case 'app_robot':
      return { size: jsonBytes, max: LIMITS.msgParamBytes - Buffer.byteLength(toAppRobotMessage(m).msgParam), label: `${LIMITS.msgParamBytes} bytes in an app-robot message` };
  }
}

/**
 * The message as the parts `surface` takes: itself when it fits (or is not text or markdown), else split, truncated
 * or refused (400 naming the field) by `overflow`.
 */
export function fitToSurface(message: Message, surface: LongSurface, overflow: Overflow, mentions?: Mentions, keywords: string[] = []): Message[] {
  if (!isLong(message)) return [message];
  const text = textOf(message);
  const whole = roomIn(surface, withText(message, ''), mentions);
  if (whole.size(text) <= whole.max) return [message];
  const field = message.type === 'text' ? 'message.content' : 'message.text';
  if (overflow === 'reject') throw invalid(field, `is longer than DingTalk takes (${whole.label}); send it with overflow "split" or "truncate"`);
  if (overflow === 'truncate') {
    const head = splitMarkdown(text, whole.max - whole.size(TRUNCATED), whole.size)[0]!;
    return [withText(message, head.replace(/\s+$/, '') + TRUNCATED)];
  }
  // A robot with keywords refuses any part without one (310000): a part whose text lacks the keyword the message
  // carries gets it beside its number. A message that carries none is not given one (it is refused, as a short one
  // is). Every part keeps room for the widest number this bound allows, and that keyword.
  // Keywords are looked for as DingTalk looks for them: in the body's text values, not its field names.
  const carries = (m: Message, among: readonly string[]) => robotKeywordProblem(toRobotBody(m), among) === null;
  // A markdown title holds 64 characters: a keyword that does not fit beside the number is not added (the part is
  // then refused at accept, naming the robot's keywords, rather than sent with a title DingTalk cuts).
  const fits = (k: string) => message.type === 'text' || codePoints(`${WIDEST_NUMBER} ${k}`) <= LIMITS.title;
  const keyword = keywords.find((k) => carries(message, [k]) && fits(k));
  const tag = (i: number, n: number, part: string) => {
    const number = ` (${i + 1}/${n})`;
    return keyword && !carries(numbered(message, number, part), keywords) ? `${number} ${keyword}` : number;
  };
  const { size, max } = roomIn(surface, numbered(message, keyword ? `${WIDEST_NUMBER} ${keyword}` : WIDEST_NUMBER, ''), mentions);
  // Markdown parts render on their own: a code block or table cut between parts is reopened or re-headed.
  const parts = message.type === 'markdown' ? splitMarkdownBlocks(text, max, size) : splitMarkdown(text, max, size);
  return parts.map((part, i) => numbered(message, tag(i, parts.length, part), part));
}
