import { z } from 'zod';
import { LIMITS } from './limits.js';

/**
 * One schema per message type, in dingpush's own camelCase shape. Each surface (work notification, custom robot,
 * app robot) is rendered from it by render.ts, so a field and its limit are written once. The gateway's request
 * validation, TypeScript types and OpenAPI document all come from these schemas.
 */

const chars = (max: number) =>
  z.string().min(1, 'must not be empty').refine((s) => [...s].length <= max, { message: `must be at most ${max} characters` });
const atMost = (max: number) => (s: string) => [...s].length <= max;

/*
 * URLs. DingTalk shows message URLs as links, buttons and pictures and opens them in its client, so every URL field
 * accepts only http, https and DingTalk's own dingtalk:// links: no javascript:, data:, file:, vbscript: … The rule is
 * written once, here: `urlProblem` (also applied to markdown link targets and to raw DingTalk bodies) and the
 * `messageUrl` schema every URL field uses, so validation, the TypeScript type and the OpenAPI document agree.
 */

export const URL_SCHEMES = ['http', 'https', 'dingtalk'] as const;
export const URL_RULE = 'must be an http, https or dingtalk URL';
const PICTURE_RULE = `${URL_RULE} or a media id (@…)`;
const NESTED_RULE = `${URL_RULE}, and so must the URL a dingtalk link opens`;
/** The scheme, spelled out case by case because JSON Schema patterns have no flags; published in the OpenAPI document. */
const URL_PATTERN = /^(?:[Hh][Tt][Tt][Pp][Ss]?|[Dd][Ii][Nn][Gg][Tt][Aa][Ll][Kk]):/;
const PICTURE_PATTERN = /^(?:@|[Hh][Tt][Tt][Pp][Ss]?:|[Dd][Ii][Nn][Gg][Tt][Aa][Ll][Kk]:)/;
/** A DingTalk media id (from a media upload), which pictures may give instead of a URL. */
const MEDIA_ID = /^@[A-Za-z0-9_+/=.-]+$/;
/** C0 and C1 controls and DEL: URL parsers drop some of them silently (java\tscript:), and differ on which. */
const CONTROL = /[\u0000-\u001F\u007F-\u009F]/;

/**
 * Why `value` is not an acceptable message URL (the rule it breaks), or undefined when it is. It is parsed with the
 * WHATWG URL parser, as a browser would, and its protocol checked; control characters and surrounding spaces are
 * refused, not stripped. A dingtalk:// link that opens another URL (`…/page/link?url=…`) has that URL checked too.
 */
export function urlProblem(value: string, opts: { mediaId?: boolean } = {}): string | undefined {
  if (opts.mediaId && MEDIA_ID.test(value)) return undefined;
  const rule = opts.mediaId ? PICTURE_RULE : URL_RULE;
  // A nested URL is a decoded part of its container's query, so shorter: the queue ends.
  const queue = [value];
  for (let i = 0; i < queue.length; i++) {
    const s = queue[i]!;
    const broken = i === 0 ? rule : NESTED_RULE;
    if (CONTROL.test(s) || s.trim() !== s || !URL_PATTERN.test(s)) return broken;
    let url: URL;
    try {
      url = new URL(s);
    } catch {
      return broken;
    }
    const scheme = url.protocol.slice(0, -1);
    if (!(URL_SCHEMES as readonly string[]).includes(scheme)) return broken;
    if (scheme === 'dingtalk') for (const [k, v] of url.searchParams) if (/url$/i.test(k)) queue.push(v);
  }
  return undefined;
}

const urlSchema = (pattern: RegExp, rule: string, opts: { mediaId?: boolean }, meta: Record<string, string>) =>
  z
    .string()
    .min(1, 'must not be empty')
    .regex(pattern, rule)
    .superRefine((s, ctx) => {
      if (!pattern.test(s)) return; // said by .regex
      const problem = urlProblem(s, opts);
      if (problem) ctx.addIssue({ code: 'custom', message: problem });
    })
    .meta(meta);

/** Every URL field of every message type. */
export const messageUrl = urlSchema(URL_PATTERN, URL_RULE, {}, { format: 'uri', description: 'An http, https or dingtalk URL' });
/** Pictures that DingTalk also takes as a media id. */
export const pictureUrl = urlSchema(PICTURE_PATTERN, PICTURE_RULE, { mediaId: true }, { description: 'An http, https or dingtalk URL, or a media id (@…)' });
const cappedUrl = (max: number) => messageUrl.refine(atMost(max), { message: `must be at most ${max} characters` });

/**
 * Link and image targets in markdown: inline `[x](target)` and `![x](target)`, reference definitions `[x]: target`,
 * autolinks `<scheme:…>`, and href/src attributes of HTML tags. Linear in the length of the text.
 */
export function markdownTargets(text: string): string[] {
  const targets: string[] = [];
  const space = (c: string | undefined) => c === ' ' || c === '\t' || c === '\n' || c === '\r';
  for (let i = text.indexOf(']('); i !== -1; i = text.indexOf('](', i)) {
    let j = i + 2;
    while (space(text[j])) j++;
    if (text[j] === '<') {
      const end = text.indexOf('>', j);
      targets.push(text.slice(j + 1, end === -1 ? text.length : end));
      i = end === -1 ? text.length : end;
      continue;
    }
    // Up to a space or the ')' that closes the link; balanced parentheses belong to the target, as in CommonMark.
    let k = j;
    for (let depth = 0; k < text.length && !space(text[k]); k++) {
      if (text[k] === '(') depth++;
      else if (text[k] === ')' && depth-- === 0) break;
    }
    targets.push(text.slice(j, k));
    i = Math.max(k, i + 2);
  }
  for (const m of text.matchAll(/^ {0,3}\[[^\]\n]+\]:[ \t]*(?:\n[ \t]*)?(\S*)/gm)) targets.push(m[1]!.replace(/^<(.*)>$/, '$1'));
  for (const m of text.matchAll(/<([A-Za-z][A-Za-z0-9+.-]{1,31}:[^\s<>]*)>/g)) targets.push(m[1]!);
  for (const tag of text.matchAll(/<[A-Za-z][^<>]*>/g))
    for (const m of tag[0].matchAll(/\b(?:href|src)\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s>"']*))/gi)) targets.push(m[1] ?? m[2] ?? m[3] ?? '');
  return targets;
}

/** Why markdown text is not acceptable (a link or image target that breaks the URL rule), or undefined. */
export function markdownProblem(text: string): string | undefined {
  for (const target of markdownTargets(text)) {
    const problem = target === '' ? undefined : urlProblem(target, { mediaId: true });
    if (problem) return `link target ${JSON.stringify(target.length > 80 ? `${target.slice(0, 80)}…` : target)} ${problem}`;
  }
  return undefined;
}

const markdownText = (max: number) =>
  chars(max).superRefine((s, ctx) => {
    const problem = markdownProblem(s);
    if (problem) ctx.addIssue({ code: 'custom', message: problem });
  });

/**
 * Text and markdown may be longer than a surface takes (LIMITS.longText): the renderers hold each surface to its own
 * limit, and the gateway splits a long message into parts that fit (messages/split.ts).
 */
export const textMessage = z.object({ type: z.literal('text'), content: chars(LIMITS.longText) }).strict();

export const markdownMessage = z
  .object({ type: z.literal('markdown'), title: chars(LIMITS.title), text: markdownText(LIMITS.longText) })
  .strict();

export const linkMessage = z
  .object({ type: z.literal('link'), title: chars(LIMITS.title), text: chars(LIMITS.textContent), messageUrl, picUrl: pictureUrl.optional() })
  .strict();

const button = z.object({ title: chars(LIMITS.buttonTitle), url: cappedUrl(LIMITS.buttonUrl) }).strict();

export const actionCardMessage = z
  .object({
    type: z.literal('action_card'),
    title: chars(LIMITS.title),
    markdown: markdownText(LIMITS.markdownText),
    /** Whole-card jump: one button. */
    singleTitle: chars(LIMITS.singleTitle).optional(),
    singleUrl: cappedUrl(LIMITS.singleUrl).optional(),
    /** Independent buttons. */
    buttons: z.array(button).min(1).max(5).optional(),
    buttonOrientation: z.enum(['vertical', 'horizontal']).default('vertical'),
  })
  .strict()
  .superRefine((m, ctx) => {
    const single = m.singleTitle !== undefined || m.singleUrl !== undefined;
    if (single && (m.singleTitle === undefined || m.singleUrl === undefined))
      ctx.addIssue({ code: 'custom', path: [m.singleTitle === undefined ? 'singleTitle' : 'singleUrl'], message: 'singleTitle and singleUrl go together' });
    if (single && m.buttons) ctx.addIssue({ code: 'custom', path: ['buttons'], message: 'use either singleTitle/singleUrl or buttons, not both' });
    if (!single && !m.buttons) ctx.addIssue({ code: 'custom', path: ['buttons'], message: 'give singleTitle/singleUrl or buttons' });
    if (m.buttons) {
      const json = JSON.stringify(m.buttons.map((b) => ({ title: b.title, action_url: b.url })));
      if ([...json].length > LIMITS.buttonListJson)
        ctx.addIssue({ code: 'custom', path: ['buttons'], message: `buttons must be at most ${LIMITS.buttonListJson} characters as JSON` });
    }
  });

const argb = z.string().regex(/^[0-9A-Fa-f]{8}$/, 'must be 8 hex digits ARGB, e.g. FFBBBBBB');

export const oaMessage = z
  .object({
    type: z.literal('oa'),
    messageUrl,
    pcMessageUrl: messageUrl.optional(),
    head: z.object({ bgcolor: argb, text: z.string().optional() }).strict(),
    body: z
      .object({
        title: z.string().optional(),
        form: z.array(z.object({ key: z.string(), value: z.string() }).strict()).optional(),
        rich: z.object({ num: z.string(), unit: z.string().optional() }).strict().optional(),
        content: z.string().optional(),
        image: pictureUrl.optional(),
        fileCount: z.string().optional(),
        author: z.string().optional(),
      })
      .strict(),
    /** Only for work notifications to at most 5 userids; updatable later. */
    statusBar: z.object({ value: z.string().min(1), bg: z.string().optional() }).strict().optional(),
  })
  .strict();

export const imageMessage = z.object({ type: z.literal('image'), mediaId: z.string().min(1) }).strict();

export const fileMessage = z
  .object({ type: z.literal('file'), mediaId: z.string().min(1), fileName: z.string().optional(), fileType: z.string().optional() })
  .strict();

export const voiceMessage = z
  .object({
    type: z.literal('voice'),
    mediaId: z.string().min(1),
    durationSeconds: z.number().int().min(1).max(LIMITS.voiceMaxSeconds),
  })
  .strict();

export const feedCardMessage = z
  .object({
    type: z.literal('feed_card'),
    links: z.array(z.object({ title: chars(LIMITS.title), messageUrl, picUrl: messageUrl }).strict()).min(1).max(10),
  })
  .strict();

export const messageSchema = z.discriminatedUnion('type', [
  textMessage,
  markdownMessage,
  linkMessage,
  actionCardMessage,
  oaMessage,
  imageMessage,
  fileMessage,
  voiceMessage,
  feedCardMessage,
]);

export type Message = z.infer<typeof messageSchema>;
export type MessageInput = z.input<typeof messageSchema>;
export type MessageType = Message['type'];
export type TextMessage = z.infer<typeof textMessage>;
export type MarkdownMessage = z.infer<typeof markdownMessage>;
export type ActionCardMessage = z.infer<typeof actionCardMessage>;
export type OaMessage = z.infer<typeof oaMessage>;

/** The surfaces a message can go to, and the types each supports. */
export type Surface = 'work_notice' | 'chat' | 'robot' | 'app_robot';

export const SURFACE_TYPES: Readonly<Record<Surface, readonly MessageType[]>> = {
  work_notice: ['text', 'markdown', 'link', 'action_card', 'oa', 'image', 'file', 'voice'],
  chat: ['text', 'markdown', 'link', 'action_card', 'oa', 'image', 'file', 'voice'],
  robot: ['text', 'markdown', 'link', 'action_card', 'feed_card'],
  app_robot: ['text', 'markdown', 'link', 'action_card', 'image', 'file', 'voice'],
};

export function supports(surface: Surface, type: MessageType): boolean {
  return SURFACE_TYPES[surface].includes(type);
}
