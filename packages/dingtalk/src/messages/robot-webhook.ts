import { timingSafeEqual } from 'node:crypto';
import { z } from 'zod';
import { robotSignature } from '../signing.js';

/**
 * A custom robot's webhook request as DingTalk checks it (shared/dingtalk-api.md §6): its bodies (camelCase, capital
 * `URL` spellings), its signature and its keywords, each refusal with DingTalk's own errcode and errmsg. Whoever
 * receives robot webhooks in DingTalk's place (the gateway's drop-in `/robot/send`) answers the same way.
 */

const text = z.string().min(1);
const at = z
  .object({ atMobiles: z.array(z.string()).optional(), atUserIds: z.array(z.string()).optional(), isAtAll: z.boolean().optional() })
  .loose()
  .optional();

const BODIES = {
  text: z.object({ content: text }).loose(),
  markdown: z.object({ title: text, text }).loose(),
  link: z.object({ title: text, text, messageUrl: text, picUrl: z.string().optional() }).loose(),
  actionCard: z
    .object({
      title: text,
      text,
      singleTitle: text.optional(),
      singleURL: text.optional(),
      btns: z.array(z.object({ title: text, actionURL: text }).loose()).min(1).optional(),
    })
    .loose()
    .refine((c) => (c.singleTitle !== undefined && c.singleURL !== undefined) || (c.singleTitle === undefined && c.singleURL === undefined && c.btns), {
      message: 'singleTitle and singleURL, or btns',
    }),
  feedCard: z.object({ links: z.array(z.object({ title: text, messageURL: text, picURL: text }).loose()).min(1) }).loose(),
} as const;
export const ROBOT_WEBHOOK_TYPES = Object.keys(BODIES) as (keyof typeof BODIES)[];

/** DingTalk's largest robot body (460101 above it). */
export const ROBOT_WEBHOOK_MAX_BYTES = 20_000;
/** How far a signature's timestamp may be from DingTalk's clock. */
export const ROBOT_SIGNATURE_SKEW_MS = 3_600_000;

export interface RobotRefusal {
  errcode: number;
  errmsg: string;
}

const missing = (path: string): RobotRefusal => ({
  errcode: 400402,
  errmsg: `错误描述:参数 ${path.replace('.', ' --》 ')} 缺失，或者参数格式不正确; 解决方案:请检查参数; 参考链接:https://open.dingtalk.com/document/`,
});

/** Why DingTalk would refuse this parsed JSON body (null: it would take it). */
export function robotWebhookBodyProblem(body: unknown, bytes: number): RobotRefusal | null {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) return { errcode: 40035, errmsg: '缺少参数 json' };
  if (bytes > ROBOT_WEBHOOK_MAX_BYTES) return { errcode: 460101, errmsg: `message too long, exceed ${ROBOT_WEBHOOK_MAX_BYTES} bytes` };
  const b = body as Record<string, unknown>;
  const type = b.msgtype;
  if (typeof type !== 'string' || !(type in BODIES)) return { errcode: 400105, errmsg: `不支持的消息类型 ${String(type)}` };
  const inner = BODIES[type as keyof typeof BODIES].safeParse(b[type]);
  if (!inner.success) {
    const issue = inner.error.issues[0]!;
    return missing([type, ...issue.path.map(String)].join('.'));
  }
  if (!at.safeParse(b.at).success) return missing('at');
  return null;
}

/** Every string in the body: where DingTalk looks for a robot's keywords. */
export function robotWebhookStrings(value: unknown, out: string[] = []): string[] {
  const stack = [value];
  while (stack.length) {
    const v = stack.pop();
    if (typeof v === 'string') out.push(v);
    else if (Array.isArray(v)) stack.push(...v);
    else if (typeof v === 'object' && v !== null) stack.push(...Object.values(v));
  }
  return out;
}

/** DingTalk's refusal of a body lacking every one of the robot's keywords (null: it has one, or none are set). */
export function robotKeywordProblem(body: unknown, keywords: readonly string[]): RobotRefusal | null {
  if (keywords.length === 0) return null;
  const strings = robotWebhookStrings(body);
  return keywords.some((k) => strings.some((s) => s.includes(k))) ? null : { errcode: 310000, errmsg: 'keywords not in content' };
}

/**
 * DingTalk's check of `timestamp` and `sign` (§6.2): within an hour of `now`, and Base64(HMAC-SHA256(secret,
 * `${timestamp}\n${secret}`)), compared in constant time. `sign` is taken as the query parser decoded it (once); a
 * space stands for a '+' that was not encoded.
 */
export function robotSignatureProblem(secret: string, timestamp: string, sign: string, now: number): RobotRefusal | null {
  const ts = Number(timestamp);
  if (!/^\d{1,16}$/.test(timestamp) || Math.abs(now - ts) > ROBOT_SIGNATURE_SKEW_MS) return { errcode: 310000, errmsg: 'invalid timestamp' };
  const expected = Buffer.from(robotSignature(secret, timestamp));
  const candidates = [sign, sign.replace(/ /g, '+'), safeDecode(sign)];
  const ok = candidates.some((c) => {
    const given = Buffer.from(c);
    return given.length === expected.length && timingSafeEqual(given, expected);
  });
  return ok ? null : { errcode: 310000, errmsg: 'sign not match' };
}

function safeDecode(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}
