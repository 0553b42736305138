import { LIMITS } from '@dingpush/dingtalk';
import type { TargetConfig } from '../config/schema.js';
import { invalid } from './errors.js';
import type { NotificationRequestInput } from './request.js';
import { targetAddress } from './target.js';

/** A push as ntfy-style scripts and apprise send it, whatever its encoding (text/plain with headers, form, JSON). */
export interface Push {
  title?: string;
  message: string;
  markdown: boolean;
  /** ntfy's 1 (min) … 5 (max/urgent). */
  priority?: number;
  tags: string[];
  click?: string;
}

const PRIORITIES: Record<string, number> = { min: 1, low: 2, default: 3, high: 4, max: 5, urgent: 5 };

/** ntfy's Priority header: a number 1–5 or its name; anything else is a 400 naming it. */
export function parsePriority(value: string | undefined): number | undefined {
  if (value === undefined || value === '') return undefined;
  const v = value.trim().toLowerCase();
  const n = PRIORITIES[v] ?? (/^[1-5]$/.test(v) ? Number(v) : undefined);
  if (n === undefined) throw invalid('Priority', 'must be 1–5 or min, low, default, high, max, urgent');
  return n;
}

/**
 * The notification a push to a target becomes: markdown when it has a title or asks for markdown (robots need a
 * title for markdown), else text. High priorities and tags go into the text, where people in the group see them; a
 * click URL becomes a link (checked by the message schema like every message URL).
 */
export function pushToRequest(target: TargetConfig, push: Push): NotificationRequestInput {
  if (push.message.trim() === '') throw invalid('message', 'must not be empty');
  const marks = [push.priority !== undefined && push.priority >= 4 ? (push.priority === 5 ? '【紧急】' : '【重要】') : '', ...push.tags.map((t) => `#${t}`)].filter(Boolean).join(' ');
  const base = targetAddress(target);
  if (push.title !== undefined || push.markdown || push.click !== undefined) {
    // The marks first, then as much of the title as DingTalk's title limit leaves room for (counted in characters).
    const title = [...[marks, push.title ?? firstLine(push.message)].filter(Boolean).join(' ')].slice(0, LIMITS.title).join('');
    const text = [push.title !== undefined ? `### ${push.title}` : '', push.message, push.tags.length ? push.tags.map((t) => `\`${t}\``).join(' ') : '', push.click ? `[打开](${push.click})` : '']
      .filter(Boolean)
      .join('\n\n');
    return { ...base, message: { type: 'markdown', title, text } };
  }
  return { ...base, message: { type: 'text', content: marks ? `${marks} ${push.message}` : push.message } };
}

const firstLine = (s: string) => s.split('\n')[0]!.slice(0, 64);
