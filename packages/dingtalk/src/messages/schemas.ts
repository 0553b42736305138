import { z } from 'zod';
import { LIMITS } from './limits.js';

/**
 * One schema per message type, in dingpush's own camelCase shape. Each surface (work notification, custom robot,
 * app robot) is rendered from it by render.ts, so a field and its limit are written once. The gateway's request
 * validation, TypeScript types and OpenAPI document all come from these schemas.
 */

const chars = (max: number) =>
  z.string().min(1, 'must not be empty').refine((s) => [...s].length <= max, { message: `must be at most ${max} characters` });
const url = (max?: number) => (max ? chars(max) : z.string().min(1, 'must not be empty'));

export const textMessage = z.object({ type: z.literal('text'), content: chars(LIMITS.textContent) }).strict();

export const markdownMessage = z
  .object({ type: z.literal('markdown'), title: chars(LIMITS.title), text: chars(LIMITS.markdownText) })
  .strict();

export const linkMessage = z
  .object({ type: z.literal('link'), title: chars(LIMITS.title), text: chars(LIMITS.textContent), messageUrl: url(), picUrl: z.string().optional() })
  .strict();

const button = z.object({ title: chars(LIMITS.buttonTitle), url: url(LIMITS.buttonUrl) }).strict();

export const actionCardMessage = z
  .object({
    type: z.literal('action_card'),
    title: chars(LIMITS.title),
    markdown: chars(LIMITS.markdownText),
    /** Whole-card jump: one button. */
    singleTitle: chars(LIMITS.singleTitle).optional(),
    singleUrl: url(LIMITS.singleUrl).optional(),
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
    messageUrl: url(),
    pcMessageUrl: z.string().optional(),
    head: z.object({ bgcolor: argb, text: z.string().optional() }).strict(),
    body: z
      .object({
        title: z.string().optional(),
        form: z.array(z.object({ key: z.string(), value: z.string() }).strict()).optional(),
        rich: z.object({ num: z.string(), unit: z.string().optional() }).strict().optional(),
        content: z.string().optional(),
        image: z.string().optional(),
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
    links: z.array(z.object({ title: chars(LIMITS.title), messageUrl: url(), picUrl: url() }).strict()).min(1).max(10),
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
