import { timingSafeEqual } from 'node:crypto';
import { type RobotRefusal, robotSignatureProblem } from '@dingpush/dingtalk';
import type { RobotConfig } from '../config/schema.js';

function same(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

/** The configured robot whose real access token, or ingest token, this is (compared in constant time). */
export function robotFor(robots: readonly RobotConfig[], token: string): RobotConfig | undefined {
  return robots.find((r) => same(new URL(r.webhook).searchParams.get('access_token') ?? '', token) || (r.ingestToken !== undefined && same(r.ingestToken, token)));
}

/**
 * Whether a request that named `robot` by `token` may post to it, by the rule of the drop-in robot endpoints: a robot
 * with a secret (加签) takes only signed requests at its real token, as DingTalk does. An ingest token is the gateway's
 * own credential: a signature there is optional, and checked whenever any part of it is given. DingTalk's refusal, or
 * null.
 */
export function robotSignatureRefusal(robot: RobotConfig, token: string, q: { timestamp?: string | undefined; sign?: string | undefined }, now: number): RobotRefusal | null {
  const viaIngestToken = robot.ingestToken !== undefined && same(robot.ingestToken, token);
  if (!robot.secret || (viaIngestToken && q.timestamp === undefined && q.sign === undefined)) return null;
  if (typeof q.timestamp !== 'string' || typeof q.sign !== 'string') return { errcode: 310000, errmsg: 'sign not match' };
  return robotSignatureProblem(robot.secret, q.timestamp, q.sign, now);
}
