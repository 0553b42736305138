import type { FastifyInstance } from 'fastify';
import type { Runtime } from '../dispatch/runtime.js';
import { acceptNotification } from '../notifications/accept.js';
import { alertSource } from '../notifications/alerts.js';
import { invalid, RequestError } from '../notifications/errors.js';
import { firstIssue, notificationRequestSchema } from '../notifications/request.js';
import { targetTemplateRequest } from '../notifications/target.js';
import type { Templates } from '../templates/engine.js';
import type { ApiKeys } from './auth.js';
import { guardStore } from './guard-store.js';

/**
 * `POST /dingtalk/<target>/send` — the path prometheus-webhook-dingtalk users already have in their Alertmanager
 * configuration. Takes Alertmanager's webhook (version 4) or Grafana's webhook contact point (by its shape), renders
 * it with the target's template (default: the built-in `alertmanager`) and stores it for the target. 200 only once stored; 4xx only for a body that is
 * neither (Alertmanager gives up on a 4xx); 503 when the store cannot take it (Alertmanager retries a 5xx).
 */
export async function alertsRoute(app: FastifyInstance, rt: Runtime, keys: ApiKeys, templates: Templates): Promise<void> {
  app.post(
    '/dingtalk/:target/send',
    {
      // A large alert group is cut, not refused: Alertmanager drops a 4xx for good.
      bodyLimit: 32 * 1024 * 1024,
      schema: { summary: 'Drop-in Alertmanager / Grafana webhook receiver', tags: ['drop-in'], params: { type: 'object', properties: { target: { type: 'string' } }, required: ['target'] } },
    },
    async (req, reply) => {
      const caller = keys.authenticateDropIn(req.headers.authorization, (req.query as { key?: string }).key);
      const name = (req.params as { target: string }).target;
      const target = rt.config.targets.find((t) => t.name === name);
      if (!target || (caller.limits?.targets && !caller.limits.targets.includes(name))) throw new RequestError(404, 'not_found', 'target', 'no such target for this key');
      const body = req.body;
      if (!alertSource(body)) throw invalid('body', 'neither an Alertmanager webhook (version 4) nor a Grafana webhook contact point payload');
      const { request: input, hints } = await targetTemplateRequest(templates, target, body as Record<string, unknown>);
      const parsed = notificationRequestSchema.safeParse(input);
      if (!parsed.success) {
        const { path, message } = firstIssue(parsed.error, input);
        throw invalid(path, message);
      }
      const result = await guardStore(() => acceptNotification(rt, parsed.data, caller, rt.now(), hints));
      if (result.outcome === 'created') {
        rt.metrics.accepted.inc();
        rt.wake();
      }
      return reply.code(200).send({ id: result.outcome === 'conflict' ? null : result.id, status: 'queued' });
    },
  );
}
