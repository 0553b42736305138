import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Runtime } from '../dispatch/runtime.js';
import { acceptNotification } from '../notifications/accept.js';
import { invalid, RequestError } from '../notifications/errors.js';
import { type Push, parsePriority, pushToRequest } from '../notifications/push.js';
import { firstIssue, notificationRequestSchema } from '../notifications/request.js';
import { targetHints, targetTemplateRequest } from '../notifications/target.js';
import type { Templates } from '../templates/engine.js';
import type { ApiKeys } from './auth.js';
import { guardStore } from './guard-store.js';

const header = (req: FastifyRequest, name: string): string | undefined => {
  const v = req.headers[name.toLowerCase()];
  const raw = Array.isArray(v) ? v[0] : v;
  return raw === undefined ? undefined : decodeHeader(raw);
};

/**
 * Header values beyond ASCII, as senders send them: RFC 2047 words (`=?UTF-8?B?…?=`, as ntfy documents) or raw
 * UTF-8 bytes (as curl sends `-H "Title: 磁盘告警"`), which Node hands over as Latin-1 characters.
 */
function decodeHeader(value: string): string {
  const words = value.replace(/=\?utf-8\?([bq])\?([^?]*)\?=/gi, (_, enc: string, text: string) =>
    enc.toLowerCase() === 'b'
      ? Buffer.from(text, 'base64').toString('utf8')
      : Buffer.from(text.replace(/_/g, ' ').replace(/=([0-9a-f]{2})/gi, (_m, h: string) => String.fromCharCode(Number.parseInt(h, 16))), 'latin1').toString('utf8'),
  );
  if (!/[\x80-\xff]/.test(words)) return words;
  const utf8 = Buffer.from(words, 'latin1').toString('utf8');
  return utf8.includes('\uFFFD') ? words : utf8;
}
const yes = (v: string | undefined) => v !== undefined && /^(1|yes|true|on)$/i.test(v.trim());
const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : typeof v === 'number' ? String(v) : undefined);

/**
 * The push as it came: a text/plain body with ntfy's headers (Title, Priority, Tags, Click, Markdown), a form, or
 * JSON with `title` and `message` (or `body`) — apprise's json:// and form:// among them.
 */
function readPush(req: FastifyRequest): Push {
  const type = String(req.headers['content-type'] ?? 'text/plain').toLowerCase();
  const fromHeaders = {
    title: header(req, 'Title') ?? header(req, 'X-Title'),
    priority: parsePriority(header(req, 'Priority') ?? header(req, 'X-Priority')),
    tags: (header(req, 'Tags') ?? header(req, 'X-Tags') ?? '').split(',').map((t) => t.trim()).filter(Boolean),
    click: header(req, 'Click') ?? header(req, 'X-Click'),
    markdown: yes(header(req, 'Markdown') ?? header(req, 'X-Markdown')),
  };
  const clean = <T extends object>(o: T) => Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as T;
  // `curl -d "text"` sends its text as a form (curl's default content type) that has no field of a push: like ntfy,
  // such a body is the message itself. A form with message or body (apprise's form://) is read as a form.
  const form = type.includes('application/x-www-form-urlencoded') && typeof req.body === 'string' ? Object.fromEntries(new URLSearchParams(req.body)) : undefined;
  if (form && !('message' in form) && !('body' in form)) return clean({ ...fromHeaders, message: req.body as string });
  if (type.includes('application/json') || form) {
    const body = (form ?? req.body) as Record<string, unknown> | null;
    if (typeof body !== 'object' || body === null || Array.isArray(body)) throw invalid('body', 'must be a JSON object with title and message');
    const message = str(body.message) ?? str(body.body);
    if (message === undefined) throw invalid('message', 'give the text as "message" (or "body")');
    const title = str(body.title) ?? fromHeaders.title;
    return clean({ ...fromHeaders, title: title === '' ? undefined : title, message, markdown: fromHeaders.markdown || yes(str(body.markdown)) });
  }
  const text = typeof req.body === 'string' ? req.body : Buffer.isBuffer(req.body) ? req.body.toString('utf8') : '';
  return clean({ ...fromHeaders, message: text });
}

/** A JSON object body: with a target template, the template's data (Grafana's contact point, GitLab, Sentry …). */
const jsonObjectBody = (req: FastifyRequest): Record<string, unknown> | undefined =>
  String(req.headers['content-type'] ?? '').toLowerCase().includes('application/json') && typeof req.body === 'object' && req.body !== null && !Array.isArray(req.body)
    ? (req.body as Record<string, unknown>)
    : undefined;

/**
 * `POST /v1/push/<target>` (shared/design.md "Drop-in endpoints"): `curl -d "部署完成" …/v1/push/ops` and apprise's
 * json:// and form:// reach a configured target unchanged. A target with a template renders a JSON body with it (the
 * whole body is the data), so any tool's JSON webhook can post here. Answers as the rest of /v1 does (202 once stored;
 * the API's error object otherwise). An unknown target is a 404 that names no configured target.
 */
export async function pushRoute(app: FastifyInstance, rt: Runtime, keys: ApiKeys, templates: Templates): Promise<void> {
  await app.register(async (scope) => {
    scope.addContentTypeParser('text/plain', { parseAs: 'string' }, (_req, body, done) => done(null, body));
    scope.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string' }, (_req, body, done) => done(null, body));
    scope.post(
      '/v1/push/:target',
      {
        schema: {
          summary: 'Drop-in push to a target (text/plain with ntfy headers, form, or JSON title/message)',
          tags: ['drop-in'],
          params: { type: 'object', properties: { target: { type: 'string' } }, required: ['target'] },
        },
      },
      async (req, reply) => {
        const caller = keys.authenticateDropIn(req.headers.authorization, (req.query as { key?: string }).key);
        const name = (req.params as { target: string }).target;
        const target = rt.config.targets.find((t) => t.name === name);
        if (!target || (caller.limits?.targets && !caller.limits.targets.includes(name)))
          throw new RequestError(404, 'not_found', 'target', 'no such target for this key');
        const data = target.template ? jsonObjectBody(req) : undefined;
        const push = data ? undefined : readPush(req);
        const { request: input, hints } = push
          ? { request: pushToRequest(target, push), hints: targetHints(target, { urgent: (push.priority ?? 3) >= 4 }) }
          : await targetTemplateRequest(templates, target, data!);
        const idempotencyKey = header(req, 'Idempotency-Key');
        const parsed = notificationRequestSchema.safeParse({ ...input, ...(idempotencyKey ? { idempotencyKey } : {}) });
        if (!parsed.success) {
          const { path, message } = firstIssue(parsed.error, input);
          throw invalid(path, message);
        }
        const result = await guardStore(() => acceptNotification(rt, parsed.data, caller, rt.now(), hints));
        if (result.outcome === 'conflict') throw new RequestError(409, 'idempotency_conflict', 'idempotencyKey', 'this idempotency key was used with a different request');
        if (result.outcome === 'replayed') return reply.code(200).header('idempotent-replayed', 'true').send({ id: result.id, status: result.status });
        rt.metrics.accepted.inc();
        rt.wake();
        return reply.code(202).send({ id: result.id, status: 'queued' });
      },
    );
  });
}
