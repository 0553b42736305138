import type { FastifyInstance, FastifyReply } from 'fastify';
import type { RobotConfig } from '../config/schema.js';
import type { Runtime } from '../dispatch/runtime.js';
import { acceptNotification } from '../notifications/accept.js';
import { RequestError } from '../notifications/errors.js';
import { firstIssue, mentionsSchema, notificationRequestSchema } from '../notifications/request.js';
import { targetTemplateRequest } from '../notifications/target.js';
import type { Templates } from '../templates/engine.js';
import { BUSY, OK, parameterError, UNKNOWN_TOKEN } from './dingtalk-answers.js';
import { guardStore } from './guard-store.js';
import { robotFor, robotSignatureRefusal } from './robot-credentials.js';

/** As /dingtalk/<target>/send: an alert group is cut to what one message shows, not refused for its size. */
const BODY_LIMIT = 32 * 1024 * 1024;

type Answer = { errcode: number; errmsg: string };

/** A refusal: DingTalk's answer shape, with an HTTP status an alert sender acts on (4xx: give up; 5xx: try again). */
class Refusal extends Error {
  constructor(
    readonly status: number,
    readonly answer: Answer,
  ) {
    super(answer.errmsg);
  }
}
const badParameter = (path: string, message: string) => new Refusal(400, parameterError(path, message));

/** A query parameter's values: given once, repeated, or comma-separated in one (PrometheusAlert's ddurl and at). */
const list = (v: unknown): string[] =>
  (Array.isArray(v) ? v : v === undefined ? [] : [v])
    .flatMap((x) => String(x).split(','))
    .map((x) => x.trim())
    .filter(Boolean);

/**
 * The robots that `ddurl` names, by the access token of each URL, under /robot/send's rule: a configured robot's real
 * token or its ingest token, and a robot with a secret (加签) at its real token only with a valid `timestamp` and `sign`
 * in that URL (as DingTalk would demand; give such a robot an ingestToken for PrometheusAlert's URLs). A URL that names
 * no configured robot refuses the whole request: the gateway never relays to a webhook it was not configured with.
 */
function robotsOf(rt: Runtime, ddurls: string[]): RobotConfig[] {
  if (ddurls.length === 0) throw badParameter('ddurl', 'give the robot webhook URL (…/robot/send?access_token=…), several separated by commas');
  const robots = ddurls.map((u, i) => {
    let url: URL;
    try {
      url = new URL(u);
    } catch {
      throw badParameter(`ddurl[${i}]`, 'must be a robot webhook URL (…/robot/send?access_token=…)');
    }
    const token = url.searchParams.get('access_token');
    const robot = token ? robotFor(rt.config.robots, token) : undefined;
    if (!token || !robot) throw new Refusal(400, UNKNOWN_TOKEN);
    const refused = robotSignatureRefusal(robot, token, { timestamp: url.searchParams.get('timestamp') ?? undefined, sign: url.searchParams.get('sign') ?? undefined }, rt.now());
    if (refused) throw new Refusal(400, refused);
    return robot;
  });
  return [...new Map(robots.map((r) => [r.name, r])).values()];
}

/** The body as the template's data: any JSON object (Alertmanager's, Grafana's, anything a sender posts). */
function dataOf(body: unknown): Record<string, unknown> {
  let data: unknown;
  try {
    data = JSON.parse(Buffer.isBuffer(body) ? body.toString('utf8') : '');
  } catch {
    throw badParameter('body', 'must be JSON');
  }
  if (typeof data !== 'object' || data === null || Array.isArray(data)) throw badParameter('body', 'must be a JSON object');
  return data as Record<string, unknown>;
}

/**
 * `POST /prometheusalert?type=dd&tpl=<template>&ddurl=<robot webhook>[,<webhook>…]&at=<mobiles>` — PrometheusAlert's
 * URL (shared/design.md "Drop-in endpoints"), so that an Alertmanager or Grafana pointed at a PrometheusAlert server
 * switches by changing the host. The raw JSON body is the data of template `tpl` (configured or built-in;
 * PrometheusAlert's `prometheus-dd` and `grafana-dd` are built-in), sent as one notification to every robot `ddurl`
 * names, with `at`'s mobiles mentioned (in the text and as DingTalk's @).
 *
 * Who may post: the access token in each ddurl is the credential, as at /robot/send (see robotsOf); there is no API
 * key (PrometheusAlert's URLs carry none). Answers: its callers are alert senders, which look only at the status, so
 * they get DingTalk's `{"errcode","errmsg"}` shape with a status they act on — 200 `{"errcode":0,"errmsg":"ok"}` once
 * stored; 400 for a refused request (300001 for a ddurl of no configured robot, 310000 for a missing or wrong
 * signature, 400402 naming the parameter or field otherwise: type other than dd, unknown tpl, a template error, bad
 * body or at); 413 for a body over 32 MiB; 503 `{"errcode":-1}` when the store cannot take it (senders retry a 5xx).
 * No answer or log carries a token.
 */
export async function prometheusAlertRoute(app: FastifyInstance, rt: Runtime, templates: Templates): Promise<void> {
  await app.register(async (scope) => {
    scope.setErrorHandler((err: unknown, _req, reply: FastifyReply) => {
      if (err instanceof Refusal) return reply.code(err.status).send(err.answer);
      if (err instanceof RequestError && err.status >= 500) {
        rt.log.warn({ err: err.message }, 'storing a /prometheusalert message failed');
        return reply.code(503).send(BUSY);
      }
      if (err instanceof RequestError) return reply.code(400).send(parameterError(err.path ?? 'body', err.message));
      if ((err as { statusCode?: number }).statusCode === 413) return reply.code(413).send(parameterError('body', `larger than ${BODY_LIMIT} bytes`));
      throw err;
    });
    // Any content type: the body is read as JSON whatever the sender calls it.
    scope.removeAllContentTypeParsers();
    scope.addContentTypeParser('*', { parseAs: 'buffer', bodyLimit: BODY_LIMIT }, (_req, body, done) => done(null, body));
    scope.post(
      '/prometheusalert',
      {
        bodyLimit: BODY_LIMIT,
        schema: {
          summary: "Drop-in PrometheusAlert URL (type=dd): the body rendered by template tpl, sent to the configured robots' ddurl",
          tags: ['drop-in'],
          querystring: {
            type: 'object',
            properties: { type: { type: 'string', enum: ['dd'] }, tpl: { type: 'string' }, ddurl: { type: 'string' }, at: { type: 'string' } },
            required: ['type', 'tpl', 'ddurl'],
          },
        },
      },
      async (req) => {
        const query = req.query as Record<string, unknown>;
        const one = (v: unknown) => (Array.isArray(v) ? v[0] : v) as string | undefined;
        const type = one(query.type);
        if (type !== 'dd') throw badParameter('type', 'only DingTalk (type=dd) is served here');
        const robots = robotsOf(rt, list(query.ddurl));
        const tpl = one(query.tpl);
        if (!tpl) throw badParameter('tpl', 'give the template that renders the body');
        if (!templates.has(tpl)) throw badParameter('tpl', `no template named "${tpl}"`);
        const at = mentionsSchema.shape.mobiles.safeParse(list(query.at));
        if (!at.success) {
          const { path, message } = firstIssue(at.error, undefined);
          throw badParameter(`at${path === '(body)' ? '' : path}`, message);
        }
        const { request: input, hints } = await targetTemplateRequest(
          templates,
          { to: { robots: robots.map((r) => r.name), chats: [], userIds: [], mobiles: [], deptIds: [] }, timeZone: 'Asia/Shanghai', template: tpl, mentions: { mobiles: at.data, userIds: [], all: false } },
          dataOf(req.body),
        );
        const parsed = notificationRequestSchema.safeParse(input);
        if (!parsed.success) {
          const { path, message } = firstIssue(parsed.error, input);
          throw badParameter(path, message);
        }
        const result = await guardStore(() => acceptNotification(rt, parsed.data, { name: 'prometheusalert' }, rt.now(), hints));
        if (result.outcome === 'created') {
          rt.metrics.accepted.inc();
          rt.wake();
        }
        return OK;
      },
    );
  });
}
