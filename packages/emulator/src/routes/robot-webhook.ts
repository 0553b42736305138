import type { FastifyInstance } from 'fastify';
import { INVALID_JSON, query } from '../http.js';
import { allStrings, validateRobotMessage } from '../messages/robot-message.js';
import { oapiError } from '../oapi.js';
import { ipAllowed, signMatches } from '../signing.js';
import type { EmulatorState } from '../state.js';

const MAX_BODY_BYTES = 20_000;
const SKEW_MS = 3_600_000;
const MSG_UUID_TTL_MS = 86_400_000;

/** Custom group robots (§6): security modes, message types, mentions, the 20 000-byte cap, 20 a minute. */
export function registerRobotWebhook(app: FastifyInstance, state: EmulatorState): void {
  app.post('/robot/send', async (req) => {
    const q = query(req);
    const robot = q.access_token ? state.robotByToken(q.access_token) : undefined;
    if (!robot) throw oapiError(300001, 'token is not exist');
    req.caller = { robot: robot.name };
    if (!String(req.headers['content-type'] ?? '').includes('application/json')) throw oapiError(43004);
    const body = req.body as unknown;
    if (body === INVALID_JSON || typeof body !== 'object' || body === null || Array.isArray(body))
      throw oapiError(40035, '缺少参数 json');
    const now = state.now();

    if (robot.secret) {
      const { timestamp, sign } = q;
      if (!timestamp || !sign) throw oapiError(310000, 'sign not match');
      const ts = Number(timestamp);
      if (!Number.isFinite(ts) || Math.abs(now - ts) > SKEW_MS) throw oapiError(310000, 'invalid timestamp');
      if (!signMatches(robot.secret, timestamp, sign)) throw oapiError(310000, 'sign not match');
    }
    if (robot.ipWhitelist.length > 0 && !ipAllowed(req.ip, robot.ipWhitelist))
      throw oapiError(310000, `ip ${req.ip.replace(/^::ffff:/, '')} not in whitelist`);
    if (robot.keywords.length > 0) {
      const text = allStrings(body).join('\n');
      if (!robot.keywords.some((k) => text.includes(k))) throw oapiError(310000, 'keywords not in content');
    }
    if (Buffer.byteLength(req.rawBody ?? JSON.stringify(body)) > MAX_BODY_BYTES)
      throw oapiError(460101, `message too long, exceed ${MAX_BODY_BYTES} bytes`);

    const sw = state.org.switches;
    const blockedUntil = state.robotBlockedUntil.get(robot.accessToken) ?? 0;
    if (now < blockedUntil) throw rateLimited(sw.robotRateLimitCode);
    if (sw.robotPerMinute > 0) {
      if (state.robotWindow.count(robot.accessToken, now) >= sw.robotPerMinute) {
        state.robotBlockedUntil.set(robot.accessToken, now + sw.robotBlockSeconds * 1000);
        throw rateLimited(sw.robotRateLimitCode);
      }
    }

    const message = body as Record<string, unknown>;
    const { msgtype, mentions } = validateRobotMessage(message);
    if (sw.robotPerMinute > 0) state.robotWindow.add(robot.accessToken, now);

    const uuid = typeof message.msgUuid === 'string' ? message.msgUuid : undefined;
    if (uuid) {
      const key = `${robot.accessToken}|${uuid}`;
      const seen = state.robotMsgUuids.get(key);
      if (seen !== undefined && now - seen < MSG_UUID_TTL_MS) return { errcode: 0, errmsg: 'ok' };
      state.robotMsgUuids.set(key, now);
    }
    state.deliver(
      state.inboxRobots,
      robot.name,
      state.newMessage({ channel: 'robot', from: robot.name, msgtype, message, sentAt: now, deliveredAt: now, mentions }),
    );
    return { errcode: 0, errmsg: 'ok' };
  });
}

function rateLimited(code: number) {
  return code === 130101 ? oapiError(130101, 'send too fast, exceed 20 times per minute') : oapiError(410100, '发送速度太快而限流');
}

