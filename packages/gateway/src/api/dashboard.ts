import type { FastifyInstance, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { CHANNELS, NOTIFICATION_STATUSES } from '../domain/delivery-states.js';
import { notificationView } from '../domain/notification-view.js';
import type { DeliveryRow, NotificationRow } from '../domain/records.js';
import type { Runtime } from '../dispatch/runtime.js';
import { acceptNotification } from '../notifications/accept.js';
import { invalid, RequestError } from '../notifications/errors.js';
import { firstIssue } from '../notifications/request.js';
import { type Caller, ApiKeys } from './auth.js';
import { destinationsView } from './destinations.js';
import { guardStore } from './guard-store.js';
import { jsonSchema, schemas } from './openapi.js';
import { resendRequest } from './resend.js';
import { timelineOf } from './timeline.js';

/**
 * The reads the dashboard is built on (and anyone may use): who am I, the list with its filters, charts, destination
 * health, a notification's timeline; and resending a notification's failed recipients. Everything is what the caller
 * may see: its own notifications, or every owner's for a read key and in sandbox mode. No answer carries a secret.
 */

const iso = z.iso.datetime({ offset: true });
export const listQuerySchema = z
  .object({
    q: z.string().trim().min(1).max(200).optional().meta({ description: 'Words in the title or content (case-insensitive)' }),
    status: z.enum(NOTIFICATION_STATUSES).optional(),
    channel: z.enum(CHANNELS).optional(),
    destination: z.string().min(1).max(200).optional().meta({ description: 'A robot or app name' }),
    recipient: z.string().min(1).max(200).optional().meta({ description: 'A userid, mobile, department id, robot or chat id' }),
    target: z.string().min(1).max(200).optional().meta({ description: 'The drop-in target it came in by' }),
    key: z.string().min(1).max(200).optional().meta({ description: "The sending API key's name" }),
    since: iso.optional(),
    until: iso.optional(),
    limit: z.coerce.number().int().min(1).max(500).default(50),
    cursor: z.string().min(1).max(200).optional(),
  })
  .strict();

const statsQuerySchema = z.object({ window: z.enum(['hour', 'day']).default('hour') }).strict();

const WINDOWS = { hour: { ms: 3_600_000, bucketMs: 60_000 }, day: { ms: 86_400_000, bucketMs: 3_600_000 } } as const;
const STAT_FIELDS = ['accepted', 'sent', 'read', 'unread', 'throttled', 'failed', 'invalid', 'recalled'] as const;

function parse<T extends z.ZodType>(schema: T, given: unknown): z.infer<T> {
  const parsed = schema.safeParse(given ?? {});
  if (!parsed.success) {
    const { path, message } = firstIssue(parsed.error, given);
    throw invalid(path, message);
  }
  return parsed.data;
}

/** The list and detail answers' extra facts for a dashboard: who sent it, and on which destinations. */
export function listItem(n: NotificationRow, deliveries: DeliveryRow[]) {
  const destinations = [...new Set(deliveries.map((d) => `${d.channel}:${d.destination}`))];
  return { ...notificationView(n, deliveries, { withDeliveries: false }), key: n.apiKey, destinations };
}

export async function dashboardRoutes(app: FastifyInstance, rt: Runtime, keys: ApiKeys, configuredKeys: Runtime['config']['apiKeys']): Promise<void> {
  const reading = async (req: FastifyRequest) => {
    req.sender = keys.authenticate(req.headers.authorization, 'read');
  };
  const sending = async (req: FastifyRequest) => {
    req.sender = keys.authenticate(req.headers.authorization, 'send');
  };
  const owned = async (req: FastifyRequest): Promise<NotificationRow> => {
    const { id } = req.params as { id: string };
    const n = await guardStore(() => rt.store.getNotification(id));
    if (!n || !ApiKeys.owns(req.sender!, n.apiKey)) throw new RequestError(404, 'not_found', 'id', `no notification ${id}`);
    return n;
  };

  app.get(
    '/v1/me',
    { onRequest: reading, schema: { summary: 'The calling key: its name, scope and what it may see and do (never its value)', response: { 200: schemas.me } } },
    async (req) => me(req.sender!),
  );

  app.get(
    '/v1/keys',
    { onRequest: reading, schema: { summary: 'The API keys the caller may see, by name and scope only', response: { 200: schemas.keys } } },
    async (req) => {
      const c = req.sender!;
      const visible = ApiKeys.ownerOf(c) === undefined ? configuredKeys : configuredKeys.filter((k) => k.name === c.name);
      return {
        items: visible.map((k) => ({
          name: k.name,
          scope: k.scope,
          ...(k.apps ? { apps: k.apps } : {}),
          ...(k.robots ? { robots: k.robots } : {}),
          ...(k.targets ? { targets: k.targets } : {}),
        })),
      };
    },
  );

  app.get(
    '/v1/notifications',
    {
      onRequest: reading,
      schema: {
        summary: 'List notifications, newest first, with filters and a text search',
        querystring: jsonSchema(listQuerySchema),
        response: { 200: schemas.list, 400: schemas.error },
      },
    },
    async (req) => {
      const q = parse(listQuerySchema, req.query);
      const own = ApiKeys.ownerOf(req.sender!);
      // A key limited to its own notifications asking for another key's sees none of them.
      if (own !== undefined && q.key !== undefined && q.key !== own) return { items: [], nextCursor: null };
      const owner = q.key ?? own;
      return guardStore(async () => {
        const rows = await rt.store.listNotifications({
          ...(owner !== undefined ? { apiKey: owner } : {}),
          ...(q.status ? { status: q.status } : {}),
          ...(q.since ? { since: Date.parse(q.since) } : {}),
          ...(q.until ? { until: Date.parse(q.until) } : {}),
          ...(q.cursor ? { cursor: q.cursor } : {}),
          ...(q.channel ? { channel: q.channel } : {}),
          ...(q.destination ? { destination: q.destination } : {}),
          ...(q.recipient ? { recipient: q.recipient } : {}),
          ...(q.target ? { target: q.target } : {}),
          ...(q.q ? { text: q.q } : {}),
          limit: q.limit,
        });
        const byNotification = new Map<string, DeliveryRow[]>();
        for (const d of await rt.store.deliveriesOfNotifications(rows.map((n) => n.id))) {
          const list = byNotification.get(d.notificationId);
          if (list) list.push(d);
          else byNotification.set(d.notificationId, [d]);
        }
        const items = rows.map((n) => listItem(n, byNotification.get(n.id) ?? []));
        return { items, nextCursor: rows.length === q.limit ? rows[rows.length - 1]!.id : null };
      });
    },
  );

  app.get(
    '/v1/stats',
    {
      onRequest: reading,
      schema: {
        summary: 'Counts per time bucket for charts: accepted notifications, and deliveries that became sent, read, unread, throttled, failed…',
        querystring: jsonSchema(statsQuerySchema),
        response: { 200: schemas.stats, 400: schemas.error },
      },
    },
    async (req) => {
      const { window } = parse(statsQuerySchema, req.query);
      const { ms, bucketMs } = WINDOWS[window];
      const now = rt.now();
      const first = Math.floor((now - ms) / bucketMs) + 1;
      const last = Math.floor(now / bucketMs);
      const owner = ApiKeys.ownerOf(req.sender!);
      const rows = await guardStore(() => rt.store.stats({ since: first * bucketMs, bucketMs, ...(owner !== undefined ? { apiKey: owner } : {}) }));
      const buckets = new Map<number, Record<(typeof STAT_FIELDS)[number], number>>();
      for (let b = first; b <= last; b++) buckets.set(b, Object.fromEntries(STAT_FIELDS.map((f) => [f, 0])) as Record<(typeof STAT_FIELDS)[number], number>);
      for (const r of rows.accepted) {
        const b = buckets.get(r.bucket);
        if (b) b.accepted += r.n;
      }
      for (const r of rows.moved) {
        const b = buckets.get(r.bucket);
        if (b && (STAT_FIELDS as readonly string[]).includes(r.status)) b[r.status as (typeof STAT_FIELDS)[number]] += r.n;
      }
      const totals = Object.fromEntries(STAT_FIELDS.map((f) => [f, [...buckets.values()].reduce((s, b) => s + b[f], 0)]));
      return {
        window,
        bucketMs,
        buckets: [...buckets].map(([b, counts]) => ({ at: new Date(b * bucketMs).toISOString(), ...counts })),
        totals,
      };
    },
  );

  app.get(
    '/v1/destinations',
    {
      onRequest: reading,
      schema: {
        summary: 'Each robot and app: queue, quota in use, blocks, last success, last error with what to do, users near their daily cap',
        response: { 200: schemas.destinations },
      },
    },
    async (req) => guardStore(() => destinationsView(rt, visibleTo(req.sender!))),
  );

  app.get(
    '/v1/notifications/:id/timeline',
    {
      onRequest: reading,
      schema: {
        summary: 'A notification as sent (its message) and each recipient\'s history: status moves, calls to DingTalk with their codes, read times',
        response: { 200: schemas.timeline, 404: schemas.error },
      },
    },
    async (req) => {
      const n = await owned(req);
      return guardStore(() => timelineOf(rt.store, n));
    },
  );

  app.post(
    '/v1/notifications/:id/resend',
    {
      onRequest: sending,
      schema: {
        summary: "Send a notification's failed recipients again, as a new notification linked to it (resendOf)",
        description:
          'The recipients whose delivery failed or was throttled get the same message again. Once: asking again (a double click) answers the first resend (200); resend that one to try its failures again. 409 when there are none, or the notification was recalled.',
        response: { 200: schemas.resent, 202: schemas.resent, 404: schemas.error, 409: schemas.error },
      },
    },
    async (req, reply) => {
      const n = await owned(req);
      // Someone took the message back: sending it again would undo that.
      if (n.recalledAt !== null) throw new RequestError(409, 'recalled', 'id', `notification ${n.id} was recalled: it is not sent again`);
      const deliveries = await guardStore(() => rt.store.deliveries({ notificationId: n.id, statuses: ['failed', 'throttled'] }));
      const request = resendRequest(n, deliveries);
      if (!request) throw new RequestError(409, 'nothing_to_resend', 'id', `notification ${n.id} has no failed or throttled recipient`);
      // One resend per notification and sender, by the idempotency the API already has (a race of two clicks included).
      const once = { ...request, idempotencyKey: `resend:${n.id}` };
      const result = await guardStore(() => acceptNotification(rt, once, req.sender!, rt.now(), {}, n.id));
      if (result.outcome === 'replayed')
        return reply.code(200).header('idempotent-replayed', 'true').send({ id: result.id, status: result.status, resendOf: n.id, recipients: deliveries.length });
      if (result.outcome === 'conflict') throw new RequestError(409, 'already_resent', 'id', `notification ${n.id} was resent already, to other recipients`);
      rt.metrics.accepted.inc();
      if (result.dueNow) rt.wake(result.due);
      return reply.code(202).send({ id: result.id, status: 'queued', resendOf: n.id, recipients: deliveries.length });
    },
  );
}

/** What a caller sees of the destinations: a key limited to some apps or robots sees those. */
function visibleTo(c: Caller): { apps?: string[]; robots?: string[] } {
  if (ApiKeys.ownerOf(c) === undefined) return {};
  return { ...(c.limits?.apps ? { apps: c.limits.apps } : {}), ...(c.limits?.robots ? { robots: c.limits.robots } : {}) };
}

function me(c: Caller) {
  const send = c.scope === 'send';
  return {
    name: c.name,
    scope: c.scope,
    sandbox: c.sandbox,
    sees: ApiKeys.ownerOf(c) === undefined ? ('all' as const) : ('own' as const),
    may: { read: true, send, recall: send, retry: send, resend: send },
    ...(c.limits?.apps ? { apps: c.limits.apps } : {}),
    ...(c.limits?.robots ? { robots: c.limits.robots } : {}),
    ...(c.limits?.targets ? { targets: c.limits.targets } : {}),
  };
}
