import type { TargetConfig } from '../config/schema.js';
import type { Templates } from '../templates/engine.js';
import type { DigestHints } from '../domain/digest.js';
import { alertHints, alertMentions, alertSource, alertTemplateData } from './alerts.js';
import { invalid } from './errors.js';
import { nestedDeeperThan, RAW_BOUNDS, type NotificationRequestInput } from './request.js';
import { mentionText, renderTemplate } from './templated.js';

type Mentions = NonNullable<NotificationRequestInput['mentions']>;

/** What rendering for a target needs of it: a configured target, or a route built for one request (PrometheusAlert). */
export type TemplateTarget = Pick<TargetConfig, 'to' | 'app' | 'timeZone' | 'mentions' | 'template'> & { digest?: boolean; name?: string };

/** What the target says about storm digests (may its messages be folded, in which time zone), with what the message adds. */
export function targetHints(target: TemplateTarget, more: Omit<DigestHints, 'digest' | 'timeZone'> = {}): DigestHints {
  return { digest: target.digest !== false, timeZone: target.timeZone, ...(target.name ? { target: target.name } : {}), ...more };
}

/** The target's base mentions (its `bySeverity` apply to alert groups only, see alertMentions). */
export function baseMentions(target: TemplateTarget): Mentions | undefined {
  if (!target.mentions) return undefined;
  const { bySeverity: _bySeverity, ...base } = target.mentions;
  return base;
}

/** Where a message to the target goes: its recipients and app, and the mentions when it has robots (robots only). */
export function targetAddress(target: TemplateTarget, mentions = baseMentions(target)): Pick<NotificationRequestInput, 'to' | 'app' | 'mentions'> {
  return { to: { ...target.to }, ...(target.app ? { app: target.app } : {}), ...(mentions && target.to.robots.length ? { mentions } : {}) };
}

/**
 * A JSON body (an alert group, Grafana's contact point, GitLab's or Sentry's webhook …) as the notification it
 * becomes at a target: rendered by the target's template (default: the built-in `alertmanager`) with the body as its
 * data, plus `timeZone` (the target's). An alert group is bounded (alertTemplateData) and mentions by severity.
 */
export async function targetTemplateRequest(
  templates: Templates,
  target: TemplateTarget,
  body: Record<string, unknown>,
): Promise<{ request: NotificationRequestInput; hints: DigestHints }> {
  if (nestedDeeperThan(body, RAW_BOUNDS.maxDepth)) throw invalid('body', `nested deeper than ${RAW_BOUNDS.maxDepth} levels`);
  const alerts = alertSource(body) ? (body.alerts as unknown[]) : undefined;
  const data = alerts ? alertTemplateData({ ...body, alerts }) : body;
  const address = targetAddress(target, alerts ? alertMentions(target.mentions, alerts) : baseMentions(target));
  const message = await renderTemplate(templates, target.template ?? 'alertmanager', { ...data, timeZone: target.timeZone }, mentionText(address.mentions));
  return { request: { ...address, message }, hints: targetHints(target, alerts ? alertHints({ ...body, alerts }) : {}) };
}
