import type { TargetConfig } from '../config/schema.js';
import type { DigestHints } from '../domain/digest.js';

type Obj = Record<string, unknown>;
type Mentions = { mobiles: string[]; userIds: string[]; all: boolean };
const MAX_RENDERED_ALERTS = 50;

const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Which alerting tool posted this body, by its shape: Alertmanager's webhook (version 4) or Grafana's contact point. */
export function alertSource(body: unknown): 'alertmanager' | 'grafana' | null {
  if (!isObj(body) || !Array.isArray(body.alerts) || typeof body.status !== 'string') return null;
  if ('orgId' in body && 'state' in body) return 'grafana';
  if (body.version === '4') return 'alertmanager';
  return null;
}

/**
 * An alert group as a template's data: only the first alerts can fit in one message, so the others are counted in
 * `truncatedAlerts` and not rendered at all (a group of thousands renders in time).
 */
export function alertTemplateData(body: Obj & { alerts: unknown[] }): Obj {
  const shown = body.alerts.slice(0, MAX_RENDERED_ALERTS);
  return { ...body, alerts: shown, truncatedAlerts: Number(body.truncatedAlerts ?? 0) + (body.alerts.length - shown.length) };
}

/**
 * Who an alert group mentions: the target's mentions, plus those its `bySeverity` gives for each severity (compared
 * without case) among the group's firing alerts; a group of resolved alerts only mentions the base.
 */
export function alertMentions(mentions: TargetConfig['mentions'], alerts: readonly unknown[]): Mentions | undefined {
  if (!mentions) return undefined;
  const { bySeverity, ...base } = mentions;
  const firing = new Set<string>();
  for (const a of alerts) {
    const severity = isObj(a) && a.status === 'firing' && isObj(a.labels) ? a.labels.severity : undefined;
    if (typeof severity === 'string') firing.add(severity.toLowerCase());
  }
  const extra = Object.entries(bySeverity ?? {})
    .filter(([severity]) => firing.has(severity.toLowerCase()))
    .map(([, m]) => m);
  return extra.reduce<Mentions>(
    (all, m) => ({ mobiles: [...new Set([...all.mobiles, ...m.mobiles])], userIds: [...new Set([...all.userIds, ...m.userIds])], all: all.all || m.all }),
    base,
  );
}

/** Severities whose firing alerts may use the part of a robot's minute kept in reserve (with every resolution). */
const URGENT_SEVERITIES = new Set(['critical', 'emergency', 'fatal', 'disaster', 'page', 'p0', 'p1']);
const str = (v: unknown) => (typeof v === 'string' && v !== '' ? v : undefined);

/**
 * How an alert group shows in a storm digest: its name (and how many alerts), the first alert's summary, firing or
 * resolved under its group key (so that a group that fired and resolved while waiting shows once), and whether it is
 * urgent (resolved, or a firing alert of a critical severity).
 */
export function alertHints(body: Obj & { alerts: unknown[] }): Omit<DigestHints, 'digest' | 'timeZone'> {
  const labels = (o: unknown, key: string) => (isObj(o) && isObj(o[key]) ? (o[key] as Obj) : {});
  const first = body.alerts[0];
  const name = str(labels(body, 'commonLabels').alertname) ?? str(labels(body, 'groupLabels').alertname) ?? str(body.title) ?? str(labels(first, 'labels').alertname) ?? 'alerts';
  const instance = body.alerts.length === 1 ? str(labels(first, 'labels').instance) : undefined;
  const status = body.status === 'resolved' ? 'resolved' : 'firing';
  const urgent =
    status === 'resolved' ||
    body.alerts.some((a) => isObj(a) && a.status === 'firing' && URGENT_SEVERITIES.has(String(labels(a, 'labels').severity ?? '').toLowerCase()));
  const excerpt = str(labels(first, 'annotations').summary) ?? str(labels(first, 'annotations').description) ?? str(labels(body, 'commonAnnotations').summary) ?? '';
  return {
    title: `${name}${instance ? ` ${instance}` : ''}${body.alerts.length > 1 ? ` ×${body.alerts.length}` : ''}`,
    excerpt,
    urgent,
    alert: { status, group: str(body.groupKey) ?? name },
  };
}
