import { rawBodyProblem } from '@dingpush/dingtalk';
import { z } from 'zod';
import { gatewayMessageSchema } from './media-message.js';
import { OVERFLOW_POLICIES } from './overflow.js';

/**
 * The body of POST /v1/notifications (shared/design.md contract). The message part is the client's message schema
 * (with the gateway's media sources for image, file and voice), so validation, the TypeScript type and the OpenAPI
 * document share one definition.
 */

const userid = z.string().min(1).max(64);
export const mobileSchema = z.string().regex(/^\+?[0-9][0-9-]{4,19}$/, 'must be a phone number (digits, optional + and -)');

export const recipientsSchema = z
  .object({
    userIds: z.array(userid).max(5000).default([]),
    mobiles: z.array(mobileSchema).max(5000).default([]),
    deptIds: z.array(z.number().int().positive()).max(500).default([]),
    allUsers: z.boolean().default(false),
    /** Custom robots by their configured name. */
    robots: z.array(z.string().min(1)).max(50).default([]),
    /** Group chats by chatid (legacy chat/send through the app). */
    chats: z.array(z.string().min(1)).max(50).default([]),
  })
  .strict()
  .refine((t) => t.userIds.length + t.mobiles.length + t.deptIds.length + t.robots.length + t.chats.length > 0 || t.allUsers, {
    message: 'give at least one recipient: userIds, mobiles, deptIds, allUsers, robots or chats',
  });

/** Bounds on `message.raw`, which is stored, hashed and rendered as given. */
export const RAW_BOUNDS = { maxDepth: 32, maxBytes: 64 * 1024 } as const;

/** Whether objects and arrays nest more than `max` levels (the value itself is level 1); without recursion. */
export function nestedDeeperThan(value: unknown, max: number): boolean {
  const stack: [unknown, number][] = [[value, 1]];
  while (stack.length > 0) {
    const [v, depth] = stack.pop()!;
    if (v === null || typeof v !== 'object') continue;
    if (depth > max) return true;
    for (const child of Array.isArray(v) ? v : Object.values(v)) if (child !== null && typeof child === 'object') stack.push([child, depth + 1]);
  }
  return false;
}

/** Why a JSON value is beyond RAW_BOUNDS (too deep, too large), or undefined. */
export function boundsProblem(value: unknown): string | undefined {
  if (nestedDeeperThan(value, RAW_BOUNDS.maxDepth)) return `nested deeper than ${RAW_BOUNDS.maxDepth} levels`;
  const bytes = Buffer.byteLength(JSON.stringify(value));
  if (bytes > RAW_BOUNDS.maxBytes) return `must be at most ${RAW_BOUNDS.maxBytes} bytes as JSON; this one is ${bytes}`;
  return undefined;
}

const parsedOrNull = (json: string): unknown => {
  try {
    return JSON.parse(json);
  } catch {
    return null;
  }
};

/**
 * A DingTalk body passed through untouched (work-notification `msg`, robot body or {msgKey, msgParam}): bounded in
 * depth and size (it is canonicalised and serialised later), and held to the message URL rule like typed messages.
 */
export const rawMessageSchema = z
  .object({
    raw: z
      .record(z.string(), z.unknown())
      .superRefine((r, ctx) => {
        const beyond = boundsProblem(r);
        if (beyond) return ctx.addIssue({ code: 'custom', message: beyond });
        if (typeof r.msgParam === 'string' && nestedDeeperThan(parsedOrNull(r.msgParam), RAW_BOUNDS.maxDepth))
          return ctx.addIssue({ code: 'custom', path: ['msgParam'], message: `nested deeper than ${RAW_BOUNDS.maxDepth} levels` });
        if (typeof r.msgtype !== 'string' && typeof r.msgKey !== 'string') return ctx.addIssue({ code: 'custom', message: 'must have msgtype (or msgKey for app robots)' });
        const problem = rawBodyProblem(r);
        if (problem) ctx.addIssue({ code: 'custom', path: problem.path, message: problem.message });
      })
      .meta({
        description: `A DingTalk body sent as given: at most ${RAW_BOUNDS.maxDepth} levels deep and ${RAW_BOUNDS.maxBytes} bytes as JSON; its …url fields and markdown links follow the message URL rule (http, https or dingtalk)`,
      }),
  })
  .strict();

export const mentionsSchema = z
  .object({
    mobiles: z.array(mobileSchema).max(50).default([]),
    userIds: z.array(userid).max(50).default([]),
    all: z.boolean().default(false),
  })
  .strict();

export const notificationRequestSchema = z
  .object({
    to: recipientsSchema,
    message: z.union([rawMessageSchema, gatewayMessageSchema]),
    /** @-mentions in robot messages (text and markdown). */
    mentions: mentionsSchema.optional(),
    /** Which configured app sends work notifications, app-robot and chat messages; default: the first. */
    app: z.string().min(1).optional(),
    /** How userIds and mobiles are reached: work notification (default) or the app robot's one-to-one chat. */
    via: z.enum(['work_notice', 'app_robot']).default('work_notice'),
    /**
     * A text or markdown message longer than a surface takes (5 000 characters in a work notification, 20 000 bytes in
     * a robot message): split into numbered parts sent in order (default), truncated, or refused with a 400.
     */
    overflow: z.enum(OVERFLOW_POLICIES).default('split'),
    /** The same key (per API key) returns the same notification instead of sending again. */
    idempotencyKey: z.string().min(1).max(200).optional(),
    /** Deliver at this time instead of now. */
    sendAt: z.iso.datetime({ offset: true }).optional(),
    /** Receives the final per-recipient outcome, signed with an HMAC of the sender's API key. */
    callbackUrl: z.url({ protocol: /^https?$/ }).optional(),
  })
  .strict();

/** A template's data: any JSON object, bounded like `message.raw` (it is rendered, not stored). */
export const templateDataSchema = z
  .record(z.string(), z.unknown())
  .superRefine((data, ctx) => {
    const beyond = boundsProblem(data);
    if (beyond) ctx.addIssue({ code: 'custom', message: beyond });
  })
  .meta({ description: `The template's variables: a JSON object, at most ${RAW_BOUNDS.maxDepth} levels deep and ${RAW_BOUNDS.maxBytes} bytes as JSON` });

/**
 * `template` and `data` in place of `message`: the named template (configured or built-in) renders the data, its first
 * line the title and the rest the markdown text, and that is the message (see expandTemplate).
 */
export const templatedRequestSchema = notificationRequestSchema
  .omit({ message: true })
  .extend({
    template: z.string().min(1).max(64).meta({ description: 'A template by name (`templates:` in the configuration, or built-in: alertmanager, grafana)' }),
    data: templateDataSchema.default({}),
  })
  .strict();

/** The body of POST /v1/notifications: a message, or a template with its data (exactly one of the two). */
export const notificationBodySchema = z.union([notificationRequestSchema, templatedRequestSchema]);

export type NotificationRequest = z.infer<typeof notificationRequestSchema>;
export type NotificationRequestInput = z.input<typeof notificationRequestSchema>;

/** The first problem of a failed parse, as {path, message}; for a message, the branch the input was aiming at. */
export function firstIssue(error: z.ZodError, input: unknown): { path: string; message: string } {
  let issue = error.issues[0]!;
  let prefix: PropertyKey[] = [];
  if (issue.code === 'invalid_union') {
    const msg = (input as { message?: unknown } | null)?.message;
    const wantsRaw = typeof msg === 'object' && msg !== null && 'raw' in msg;
    const branch = issue.errors[wantsRaw ? 0 : 1];
    if (branch?.[0]) {
      prefix = issue.path;
      issue = branch[0] as typeof issue;
    }
  }
  const path = [...prefix, ...issue.path]
    .map((p, i) => (typeof p === 'number' ? `[${p}]` : i === 0 ? String(p) : `.${String(p)}`))
    .join('');
  let message = issue.message;
  if (issue.code === 'unrecognized_keys') message = `unknown field ${issue.keys.map((k) => `"${k}"`).join(', ')}`;
  // zod calls a JSON object with any keys a record.
  if (issue.code === 'invalid_type') message = `expected ${issue.expected === 'record' ? 'object' : issue.expected}`;
  return { path: path || '(body)', message };
}
