import swagger from '@fastify/swagger';
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import { notificationView } from '../domain/notification-view.js';
import type { NotificationRow } from '../domain/records.js';
import type { Runtime } from '../dispatch/runtime.js';
import { invalid, RequestError } from '../notifications/errors.js';
import { acceptNotification } from '../notifications/accept.js';
import { recallNotification } from '../notifications/recall.js';
import { notificationRequestOf } from '../notifications/submission.js';
import { redeliverCallbacks, retryDeadLetters } from '../notifications/retry.js';
import { ApiKeys, type Caller } from './auth.js';
import { dashboardRoutes } from './dashboard.js';
import { Templates } from '../templates/engine.js';
import { alertsRoute } from './alerts.js';
import { directoryRoutes } from './directory.js';
import { guardStore } from './guard-store.js';
import { mediaRoutes } from './media.js';
import { prometheusAlertRoute } from './prometheusalert.js';
import { pushRoute } from './push.js';
import { robotSendRoute } from './robot-send.js';
import { schemas } from './openapi.js';
import { templatePreviewRoute } from './templates.js';
import { uiRoutes } from './ui.js';

/** The owner filter of a caller's lists (none: it sees every owner's). */
const owner = (c: Caller) => {
  const name = ApiKeys.ownerOf(c);
  return name === undefined ? {} : { apiKey: name };
};

declare module 'fastify' {
  interface FastifyRequest {
    sender?: Caller;
  }
}

export interface ServerOptions {
  keys: ApiKeys;
  /** A route that authenticates and answers without storing, for the ingest benchmark's baseline. */
  noopEndpoint?: boolean;
  /** How long a recall waits for DingTalk before answering with what is still pending. */
  recallWaitMs?: number;
  /** The configured templates (one instance, shared with the queue consumer). */
  templates?: Templates;
}


/** The gateway's HTTP API (shared/design.md contract). */
/** The API server, and the two steps of its graceful close that come before Fastify's own close(). */
export type ApiServer = FastifyInstance & {
  /** From now on every new request is answered 503 shutting_down with Connection: close. */
  closing(): void;
  /**
   * Resolves once no request has come for `quietMs` (or after `maxMs`): a client that was sending on a kept-alive
   * connection has by then been told to close it. Closing such a connection while it is idle instead races the
   * client's next request on it, which then fails with a reset connection and no answer.
   */
  drained(quietMs: number, maxMs: number): Promise<void>;
};

export async function buildServer(rt: Runtime, opts: ServerOptions): Promise<ApiServer> {
  const app = Fastify({ logger: false, bodyLimit: rt.config.server.bodyLimitBytes, return503OnClosing: false });
  const templates = opts.templates ?? new Templates(rt.config.templates);
  let closing = false;
  let lastRequestAt = 0;
  // zod validates (with errors naming the field); the JSON schemas on routes are for the OpenAPI document only.
  app.setValidatorCompiler(() => () => true);
  app.setSerializerCompiler(() => (data) => JSON.stringify(data));
  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: { title: 'dingpush', version: '0.2.0', description: 'Deliver notifications to people on DingTalk, durably and inside its quotas.' },
      components: { securitySchemes: { apiKey: { type: 'http', scheme: 'bearer' } } },
      security: [{ apiKey: [] }],
    },
  });

  // At shutdown every new request is refused with the API's own error object (a load balancer retries elsewhere).
  app.addHook('onRequest', async (_req, reply) => {
    if (!closing) return;
    lastRequestAt = Date.now();
    return reply
      .code(503)
      .header('connection', 'close')
      .send({ error: { code: 'shutting_down', message: 'the gateway is shutting down; nothing was stored, send it again (another instance will take it)' } });
  });

  app.setErrorHandler((err: unknown, req: FastifyRequest, reply: FastifyReply) => {
    if (err instanceof RequestError) {
      if (err.status >= 500) rt.log.error({ url: req.url.split('?')[0], err: err.message }, 'request refused');
      return reply.code(err.status).send(err.body());
    }
    const e = err as { statusCode?: number; code?: string; message: string };
    if (e.code === 'FST_ERR_CTP_BODY_TOO_LARGE')
      return reply.code(413).send({ error: { code: 'payload_too_large', message: `body is larger than ${rt.config.server.bodyLimitBytes} bytes` } });
    if (e.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE')
      return reply.code(415).send({ error: { code: 'unsupported_media_type', message: 'send JSON (Content-Type: application/json)' } });
    if (e.statusCode === 400) return reply.code(400).send({ error: { code: 'invalid_json', message: `body is not valid JSON: ${e.message}` } });
    rt.log.error({ err, url: req.url.split('?')[0] }, 'request failed');
    return reply.code(500).send({ error: { code: 'internal', message: 'internal error; the request was not stored' } });
  });
  app.setNotFoundHandler((req, reply) => reply.code(404).send({ error: { code: 'not_found', message: `no route ${req.method} ${req.url.split('?')[0]}` } }));

  const authenticate = async (req: FastifyRequest) => {
    req.sender = opts.keys.authenticate(req.headers.authorization, 'send');
  };
  const reading = async (req: FastifyRequest) => {
    req.sender = opts.keys.authenticate(req.headers.authorization, 'read');
  };

  app.post(
    '/v1/notifications',
    {
      onRequest: authenticate,
      schema: {
        summary: 'Send a notification',
        description:
          'Stored durably before the answer; delivered inside DingTalk quotas; tracked per recipient. Give a message, or a template and its data: the template renders the markdown message (first line the title).',
        headers: { type: 'object', properties: { 'idempotency-key': { type: 'string' } } },
        body: schemas.createBody,
        response: { 202: schemas.accepted, 200: schemas.accepted, 400: schemas.error, 401: schemas.error, 403: schemas.error, 409: schemas.error, 413: schemas.error, 503: schemas.error },
      },
    },
    async (req, reply) => {
      const given = (req.body ?? {}) as Record<string, unknown>;
      const header = req.headers['idempotency-key'];
      // A body that is not an object (a JSON string or number) is left for the schema to refuse.
      if (typeof header === 'string' && header !== '' && typeof given === 'object') {
        if (given.idempotencyKey !== undefined && given.idempotencyKey !== header)
          throw invalid('idempotencyKey', 'differs from the Idempotency-Key header');
        given.idempotencyKey = header;
      }
      const request = await notificationRequestOf(templates, given, req.sender!);
      const result = await guardStore(() => acceptNotification(rt, request, req.sender!, rt.now()));
      if (result.outcome === 'conflict')
        throw new RequestError(409, 'idempotency_conflict', 'idempotencyKey', 'this idempotency key was used with a different request');
      if (result.outcome === 'replayed') return reply.code(200).header('idempotent-replayed', 'true').send({ id: result.id, status: result.status });
      rt.metrics.accepted.inc();
      // Work due now is claimed at once (latency); scheduled work waits for the dispatcher's regular look.
      if (result.dueNow) rt.wake(result.due);
      return reply.code(202).send({ id: result.id, status: 'queued' });
    },
  );

  const owned = async (req: FastifyRequest): Promise<NotificationRow> => {
    const { id } = req.params as { id: string };
    const n = await guardStore(() => rt.store.getNotification(id));
    if (!n || !ApiKeys.owns(req.sender!, n.apiKey)) throw new RequestError(404, 'not_found', 'id', `no notification ${id}`);
    return n;
  };

  const fullView = async (n: NotificationRow) => {
    const [deliveries, events, deadJobs] = await Promise.all([
      rt.store.deliveries({ notificationId: n.id }),
      rt.store.events(n.id),
      rt.store.jobs({ notificationId: n.id, states: ['dead'] }),
    ]);
    return notificationView(n, deliveries, { events, deadJobs });
  };

  app.get(
    '/v1/notifications/:id',
    { onRequest: reading, schema: { summary: 'A notification with one row per recipient', response: { 200: schemas.notification, 404: schemas.error } } },
    async (req) => guardStore(async () => fullView(await owned(req))),
  );

  app.post(
    '/v1/notifications/:id/recall',
    {
      onRequest: authenticate,
      schema: {
        summary: 'Recall a notification',
        description: 'Cancels what is not sent yet and recalls what DingTalk can recall; waits briefly for DingTalk and reports per recipient.',
        response: { 200: schemas.recall, 404: schemas.error },
      },
    },
    async (req) => {
      const n = await owned(req);
      const result = await guardStore(() => recallNotification({ store: rt.store, now: rt.now, wake: rt.wake, waitMs: opts.recallWaitMs ?? 10_000 }, n));
      return { id: n.id, ...result };
    },
  );

  app.post(
    '/v1/notifications/:id/retry',
    {
      onRequest: authenticate,
      schema: { summary: "Retry a notification's dead letters (failed deliveries go back to the queue)", response: { 200: schemas.retry, 404: schemas.error } },
    },
    async (req) => {
      const n = await owned(req);
      const result = await guardStore(() => retryDeadLetters(rt.store, n.id, rt.now()));
      rt.wake();
      return { id: n.id, ...result };
    },
  );

  app.post(
    '/v1/notifications/:id/callback',
    { onRequest: authenticate, schema: { summary: 'Deliver the callback again (failed events, or the latest)', response: { 200: schemas.redeliver, 404: schemas.error } } },
    async (req) => {
      const n = await owned(req);
      if (!n.callbackUrl) throw invalid('id', `notification ${n.id} has no callbackUrl`);
      const events = await guardStore(() => redeliverCallbacks(rt.store, n.id, rt.now()));
      rt.wake();
      return { id: n.id, events };
    },
  );

  app.get(
    '/v1/dead-letters',
    { onRequest: reading, schema: { summary: 'Jobs that gave up and wait for an operator', response: { 200: schemas.deadLetters } } },
    async (req) =>
      guardStore(async () => {
        const jobs = await rt.store.jobs({ states: ['dead'], limit: 500, ...owner(req.sender!) });
        return {
          items: jobs.map((j) => ({
            notification: j.notificationId,
            job: j.id,
            kind: j.kind,
            ...(j.channel ? { channel: j.channel } : {}),
            ...(j.destination ? { destination: j.destination } : {}),
            reason: j.lastError ?? 'gave up',
            deadAt: new Date(j.deadAt ?? j.createdAt).toISOString(),
          })),
        };
      }),
  );

  await mediaRoutes(app, rt, opts.keys);
  await robotSendRoute(app, rt);
  await pushRoute(app, rt, opts.keys, templates);
  await alertsRoute(app, rt, opts.keys, templates);
  await prometheusAlertRoute(app, rt, templates);
  await templatePreviewRoute(app, opts.keys, templates);
  await directoryRoutes(app, rt, opts.keys);
  await dashboardRoutes(app, rt, opts.keys, rt.config.apiKeys);

  if (opts.noopEndpoint) {
    app.post('/v1/noop', { onRequest: authenticate, schema: { hide: true } }, async (_req, reply) => reply.code(202).send({ id: 'noop', status: 'queued' }));
  }

  app.get('/healthz', { schema: { summary: 'The process is up' } }, async () => ({ ok: true }));
  app.get('/readyz', { schema: { summary: 'The store takes writes and the gateway is not shutting down' } }, async (_req, reply) => {
    try {
      await rt.store.probe();
      const stats = await rt.store.queueStats(rt.now());
      // Degraded (Redis away) still takes accepts: the instance stays in the load balancer, and says why it waits.
      const degraded = rt.degraded();
      // RabbitMQ links (ingest, events) away do not make the instance unready: HTTP accepts go on, and they reconnect.
      const links = rt.links();
      return { ok: true, queueDepth: stats.depth, deadLetters: stats.dead, ...(degraded ? { degraded } : {}), ...(Object.keys(links).length ? { amqp: links } : {}) };
    } catch (err) {
      return reply.code(503).send({ ok: false, reason: `the store cannot write: ${(err as { code?: string }).code ?? (err as Error).message}` });
    }
  });
  app.get('/metrics', { schema: { summary: 'Prometheus metrics' } }, async (_req, reply) =>
    reply.type(rt.metrics.registry.contentType).send(await rt.metrics.registry.metrics()),
  );
  app.get('/openapi.json', { schema: { hide: true } }, async () => app.swagger());
  await uiRoutes(app);
  return Object.assign(app, {
    closing: () => {
      closing = true;
      lastRequestAt = Date.now();
    },
    drained: async (quietMs: number, maxMs: number) => {
      const end = Date.now() + maxMs;
      for (;;) {
        const now = Date.now();
        const wait = Math.min(lastRequestAt + quietMs, end) - now;
        if (wait <= 0) return;
        await new Promise((r) => setTimeout(r, wait));
      }
    },
  }) as unknown as ApiServer;
}
