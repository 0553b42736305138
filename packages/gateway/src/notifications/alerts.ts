import { LIMITS, markdownProblem, markdownTargets, urlProblem } from '@dingpush/dingtalk';
import type { TargetConfig } from '../config/schema.js';
import { TemplateError, type Templates } from '../templates/engine.js';
import { invalid } from './errors.js';
import type { NotificationRequestInput } from './request.js';

type Obj = Record<string, unknown>;
const MAX_RENDERED_ALERTS = 50;

/**
 * Links from the payload that break the message URL rule (a relative runbook link, `javascript:`) keep their text
 * and lose their target: one alert's odd link must not get the whole group refused (Alertmanager drops a 4xx).
 */
function withoutBadLinks(text: string): string {
  const bad = new Set(markdownTargets(text).filter((t) => urlProblem(t) !== undefined));
  let out = text.replace(/(!?)\[([^\]]*)\]\(\s*<?([^)\s>]*)>?(?:\s+"[^"]*")?\s*\)/g, (all, _bang: string, label: string, target: string) => (bad.has(target) ? label : all));
  out = out.replace(/<([a-z][a-z0-9+.-]*:[^>\s]*)>/gi, (all, target: string) => (urlProblem(target) !== undefined ? target : all));
  // Whatever the patterns above missed (a reference definition, an unusual spelling): defused by breaking the syntax.
  return markdownProblem(out) === undefined ? out : out.replace(/\]\(/g, '] (').replace(/\]:/g, '] :');
}
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Which alerting tool posted this body, by its shape: Alertmanager's webhook (version 4) or Grafana's contact point. */
export function alertSource(body: unknown): 'alertmanager' | 'grafana' | null {
  if (!isObj(body) || !Array.isArray(body.alerts) || typeof body.status !== 'string') return null;
  if ('orgId' in body && 'state' in body) return 'grafana';
  if (body.version === '4') return 'alertmanager';
  return null;
}

/**
 * An alert group as the notification it becomes: rendered by the built-in `alertmanager` template (its first line is
 * the title), the target's mentions written into the text (DingTalk notifies only who the text names), cut at a line
 * under DingTalk's markdown limit with a note rather than refused (Alertmanager drops a 4xx for good).
 */
export async function alertToRequest(templates: Templates, target: TargetConfig, body: Obj): Promise<NotificationRequestInput> {
  const mentions = target.mentions;
  const mentionText = mentions && target.to.robots.length ? [...mentions.mobiles, ...mentions.userIds].map((m) => `@${m}`).join(' ') : '';
  // Only the first alerts can fit in one message: the others are counted as truncated (and not rendered at all, so
  // that a group of thousands renders in time).
  const alerts = body.alerts as unknown[];
  const shown = alerts.slice(0, MAX_RENDERED_ALERTS);
  const truncatedAlerts = Number(body.truncatedAlerts ?? 0) + (alerts.length - shown.length);
  const rendered = await templates
    .render('alertmanager', { ...body, alerts: shown, truncatedAlerts, timeZone: target.timeZone, mentionText })
    .catch((err: unknown) => {
      throw err instanceof TemplateError ? invalid('template', err.message) : err;
    });
  const [first, ...rest] = rendered.trim().split('\n');
  const title = [...(first ?? '').trim()].slice(0, LIMITS.title).join('') || 'alert';
  let text = withoutBadLinks(rest.join('\n').trim()) || title;
  if (text.length > LIMITS.markdownText) {
    const note = `\n\n…(cut at ${LIMITS.markdownText} characters)${mentionText ? `\n${mentionText}` : ''}`;
    const room = LIMITS.markdownText - note.length;
    const cut = text.lastIndexOf('\n', room);
    text = `${text.slice(0, cut > 0 ? cut : room)}${note}`;
  }
  if (text.trim() === '') throw invalid('alerts', 'nothing to send');
  return {
    to: { ...target.to },
    ...(target.app ? { app: target.app } : {}),
    ...(mentions && target.to.robots.length ? { mentions } : {}),
    message: { type: 'markdown', title, text },
  };
}
