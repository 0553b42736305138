import { createHash } from 'node:crypto';
import { robotKeywordProblem, robotWebhookBodyProblem } from '@dingpush/dingtalk';
import type { FastifyInstance } from 'fastify';
import type { Runtime } from '../dispatch/runtime.js';
import { shanghaiDay } from '../dispatch/day.js';
import { acceptNotification } from '../notifications/accept.js';
import { RequestError } from '../notifications/errors.js';
import { notificationRequestSchema } from '../notifications/request.js';
import { BUSY, OK, parameterError, TOO_LONG, UNKNOWN_TOKEN } from './dingtalk-answers.js';
import { robotFor, robotSignatureRefusal } from './robot-credentials.js';

/**
 * The msgUuid as an idempotency key, for the day (Asia/Shanghai) it came on: DingTalk forgets a msgUuid after a day,
 * so the same one a day later is a new message. Long ones are hashed (two different ones never collide).
 */
const idempotencyKeyOf = (msgUuid: string, now: number) =>
  `msgUuid:${shanghaiDay(now)}:${msgUuid.length <= 160 ? msgUuid : `sha256:${createHash('sha256').update(msgUuid).digest('hex')}`}`;

/**
 * The drop-in robot webhook (shared/design.md): `POST /robot/send?access_token=T[&timestamp=&sign=]` with DingTalk's
 * own robot body, so that a tool configured with a robot's webhook switches to the gateway by changing the host. It
 * checks the request as DingTalk would (token, signature when given, keywords, body) and answers in DingTalk's shape:
 * `{"errcode":0,"errmsg":"ok"}` only once the notification is stored, always with HTTP 200 as DingTalk does. The
 * gateway signs again when it sends. The body's `msgUuid` is the idempotency key, as DingTalk de-duplicates by it.
 */
export async function robotSendRoute(app: FastifyInstance, rt: Runtime): Promise<void> {
  await app.register(async (scope) => {
    // DingTalk's own answers for bodies that are not JSON, or too large, not Fastify's.
    scope.setErrorHandler((err, _req, reply) => {
      if ((err as { statusCode?: number }).statusCode === 413) return reply.code(200).send(TOO_LONG);
      throw err;
    });
    scope.removeAllContentTypeParsers();
    scope.addContentTypeParser('*', { parseAs: 'buffer' }, (_req, body, done) => done(null, body));
    scope.post(
      '/robot/send',
      { schema: { summary: 'Drop-in custom robot webhook (DingTalk body and answers)', tags: ['drop-in'], querystring: { type: 'object', properties: { access_token: { type: 'string' }, timestamp: { type: 'string' }, sign: { type: 'string' } } } } },
      async (req) => {
        // A parameter given twice counts once (the first), as a string.
        const one = (v: unknown) => (Array.isArray(v) ? v[0] : v) as string | undefined;
        const query = req.query as Record<string, unknown>;
        const q = { access_token: one(query.access_token), timestamp: one(query.timestamp), sign: one(query.sign) };
        const robot = q.access_token ? robotFor(rt.config.robots, q.access_token) : undefined;
        if (!robot) return UNKNOWN_TOKEN;
        if (!String(req.headers['content-type'] ?? '').toLowerCase().includes('application/json'))
          return { errcode: 43004, errmsg: '无效的HTTP HEADER Content-Type' };
        const raw = req.body instanceof Buffer ? req.body : Buffer.alloc(0);
        let body: unknown;
        try {
          body = JSON.parse(raw.toString('utf8'));
        } catch {
          return { errcode: 40035, errmsg: '缺少参数 json' };
        }
        const refused = robotSignatureRefusal(robot, q.access_token!, q, rt.now()) ?? robotWebhookBodyProblem(body, raw.length) ?? robotKeywordProblem(body, robot.keywords);
        if (refused) return refused;

        const b = body as Record<string, unknown>;
        const parsed = notificationRequestSchema.safeParse({
          to: { robots: [robot.name] },
          message: { raw: b },
          ...(typeof b.msgUuid === 'string' && b.msgUuid !== '' ? { idempotencyKey: idempotencyKeyOf(b.msgUuid, rt.now()) } : {}),
        });
        if (!parsed.success) {
          // What the gateway holds every message to beyond DingTalk's shape: links only to http, https and dingtalk
          // (DingTalk's own code for an unsafe link), a bounded depth (a parameter error).
          const issue = parsed.error.issues[0];
          const message = issue?.message ?? 'invalid body';
          return /URL/i.test(message) ? { errcode: 430101, errmsg: `含有不安全的外链: ${message}` } : parameterError(issue?.path.slice(2).join('.') || 'body', message);
        }
        let result: Awaited<ReturnType<typeof acceptNotification>>;
        try {
          result = await acceptNotification(rt, parsed.data, { name: `robot:${robot.name}` }, rt.now());
        } catch (err) {
          // A refusal of the request itself is final; anything else is the store: nothing was stored, and DingTalk's
          // "busy" makes a sender try again.
          if (err instanceof RequestError) return parameterError(err.path ?? 'body', err.message);
          rt.log.warn({ err: (err as Error).message, robot: robot.name }, 'storing a /robot/send message failed');
          return BUSY;
        }
        if (result.outcome === 'created') {
          rt.metrics.accepted.inc();
          rt.wake();
        }
        // A repeated msgUuid is DingTalk's duplicate: answered ok, stored and sent once.
        return OK;
      },
    );
  });
}
