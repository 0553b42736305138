import { timingSafeEqual } from 'node:crypto';
import { type RobotRefusal, robotKeywordProblem, robotSignatureProblem, robotWebhookBodyProblem } from '@dingpush/dingtalk';
import type { FastifyInstance } from 'fastify';
import type { Config } from '../config/schema.js';
import type { Runtime } from '../dispatch/runtime.js';
import { acceptNotification } from '../notifications/accept.js';
import { notificationRequestSchema } from '../notifications/request.js';

type RobotConfig = Config['robots'][number];

/** What DingTalk answers (always HTTP 200, the outcome in errcode). */
const answer = (r: RobotRefusal) => r;
const OK = { errcode: 0, errmsg: 'ok' };
const BUSY = { errcode: -1, errmsg: '系统繁忙' };
const UNKNOWN_TOKEN = { errcode: 300001, errmsg: 'token is not exist' };

function same(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

/** The configured robot whose real access token, or ingest token, this is. */
function robotFor(robots: RobotConfig[], token: string): RobotConfig | undefined {
  return robots.find((r) => same(new URL(r.webhook).searchParams.get('access_token') ?? '', token) || (r.ingestToken !== undefined && same(r.ingestToken, token)));
}

/**
 * The drop-in robot webhook (shared/design.md): `POST /robot/send?access_token=T[&timestamp=&sign=]` with DingTalk's
 * own robot body, so that a tool configured with a robot's webhook switches to the gateway by changing the host. It
 * checks the request as DingTalk would (token, signature when given, keywords, body) and answers in DingTalk's shape:
 * `{"errcode":0,"errmsg":"ok"}` only once the notification is stored. The gateway signs again when it sends.
 * The body's `msgUuid` is the idempotency key, as DingTalk de-duplicates by it.
 */
export async function robotSendRoute(app: FastifyInstance, rt: Runtime): Promise<void> {
  await app.register(async (scope) => {
    // DingTalk's own answers for bodies that are not JSON, not Fastify's.
    scope.removeAllContentTypeParsers();
    scope.addContentTypeParser('*', { parseAs: 'buffer' }, (_req, body, done) => done(null, body));
    scope.post(
      '/robot/send',
      { schema: { summary: 'Drop-in custom robot webhook (DingTalk body and answers)', tags: ['drop-in'], querystring: { type: 'object', properties: { access_token: { type: 'string' }, timestamp: { type: 'string' }, sign: { type: 'string' } } } } },
      async (req) => {
        const q = req.query as { access_token?: string; timestamp?: string; sign?: string };
        const robot = q.access_token ? robotFor(rt.config.robots, q.access_token) : undefined;
        if (!robot) return answer(UNKNOWN_TOKEN);
        if (!String(req.headers['content-type'] ?? '').toLowerCase().includes('application/json'))
          return answer({ errcode: 43004, errmsg: '无效的HTTP HEADER Content-Type' });
        const raw = req.body instanceof Buffer ? req.body : Buffer.alloc(0);
        let body: unknown;
        try {
          body = JSON.parse(raw.toString('utf8'));
        } catch {
          return answer({ errcode: 40035, errmsg: '缺少参数 json' });
        }
        if (robot.secret && q.timestamp !== undefined && q.sign !== undefined) {
          const refused = robotSignatureProblem(robot.secret, q.timestamp, q.sign, Date.now());
          if (refused) return answer(refused);
        }
        const refused = robotWebhookBodyProblem(body, raw.length) ?? robotKeywordProblem(body, robot.keywords);
        if (refused) return answer(refused);

        const b = body as Record<string, unknown>;
        const parsed = notificationRequestSchema.safeParse({
          to: { robots: [robot.name] },
          message: { raw: b },
          ...(typeof b.msgUuid === 'string' && b.msgUuid !== '' ? { idempotencyKey: b.msgUuid.slice(0, 200) } : {}),
        });
        // What the gateway holds every message to beyond DingTalk's shape: links only to http, https and dingtalk.
        if (!parsed.success) return answer({ errcode: 430101, errmsg: `含有不安全的外链: ${parsed.error.issues[0]?.message ?? ''}` });
        let result: Awaited<ReturnType<typeof acceptNotification>>;
        try {
          result = await acceptNotification(rt, parsed.data, { name: `robot:${robot.name}` }, rt.now());
        } catch (err) {
          // Nothing was stored: DingTalk's "busy" makes a sender try again.
          rt.log.warn({ err, robot: robot.name }, 'storing a /robot/send message failed');
          return answer(BUSY);
        }
        if (result.outcome === 'created') {
          rt.metrics.accepted.inc();
          rt.wake();
        }
        // A repeated msgUuid is DingTalk's duplicate: answered ok, stored and sent once.
        return answer(OK);
      },
    );
  });
}
