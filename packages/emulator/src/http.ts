import type { FastifyRequest } from 'fastify';
import { monthKey } from './clock.js';
import { fail, newApiError, OapiFailure, oapiError, topFail } from './oapi.js';
import type { OrgApp, Scope } from './org.js';
import { ipAllowed } from './signing.js';
import type { EmulatorState } from './state.js';

/** Request helpers shared by the route modules: reading bodies the way DingTalk does and checking tokens. */

export type Obj = Record<string, unknown>;

/** Marks a body that claimed to be JSON but did not parse. */
export const INVALID_JSON = Symbol('invalid-json');

declare module 'fastify' {
  interface FastifyRequest {
    /** Who made the call, for the call log. */
    caller?: { app?: string; robot?: string };
    rawBody?: string;
  }
}

export function query(req: FastifyRequest): Record<string, string | undefined> {
  return req.query as Record<string, string | undefined>;
}

/** A /topapi/* body: JSON or form-encoded (where nested values are JSON strings, booleans "true"/"false"). */
export function topBody(req: FastifyRequest): Obj {
  const body = req.body as unknown;
  if (body === INVALID_JSON) throw oapiError(47001, 'body');
  if (body === undefined || body === null || body === '') return {};
  if (typeof body !== 'object' || Array.isArray(body)) throw oapiError(40035, 'body');
  return body as Obj;
}

export function optNumber(body: Obj, field: string): number | undefined {
  const v = body[field];
  if (v === undefined || v === null || v === '') return undefined;
  const n = typeof v === 'number' ? v : Number(v);
  if (!Number.isFinite(n)) throw oapiError(40035, `${field} 须为数字`);
  return n;
}

export function needNumber(body: Obj, field: string, missingCode = 40035): number {
  const n = optNumber(body, field);
  if (n === undefined) throw oapiError(missingCode, `${field} 缺失`);
  return n;
}

export function optBool(body: Obj, field: string): boolean {
  const v = body[field];
  return v === true || v === 'true';
}

/** Comma-separated list (the documented form) or, tolerantly, a JSON array. */
export function commaList(body: Obj, field: string): string[] {
  const v = body[field];
  if (v === undefined || v === null || v === '') return [];
  if (Array.isArray(v)) return v.map(String);
  if (typeof v !== 'string' && typeof v !== 'number') throw oapiError(40035, `${field} 须为逗号分隔的字符串`);
  return String(v)
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
}

/** A nested object that form mode sends as a JSON string. */
export function jsonField(body: Obj, field: string): unknown {
  const v = body[field];
  if (typeof v !== 'string') return v;
  try {
    return JSON.parse(v);
  } catch {
    throw oapiError(34014, `${field} 不是合法的JSON`);
  }
}

function chargeQuota(state: EmulatorState, app: OrgApp, path: string, newApi: boolean, quotaExempt = false): void {
  const { appQps, monthlyQuota } = state.org.switches;
  const now = state.now();
  const key = `${app.appKey}|${path}`;
  if (appQps > 0) {
    if (state.qpsWindow.count(key, now) >= appQps) {
      if (newApi)
        throw newApiError(403, 'Forbidden.AccessDenied.QpsLimitForAppkeyAndApi', '当前应用调用该接口超过每秒调用次数上限');
      throw oapiError(90018);
    }
    state.qpsWindow.add(key, now);
  }
  if (monthlyQuota !== null && !quotaExempt) {
    const mkey = `${app.appKey}|${monthKey(now)}`;
    const used = state.monthlyCalls.get(mkey) ?? 0;
    if (used >= monthlyQuota) {
      if (newApi) throw newApiError(403, 'Forbidden.AccessDenied.ApiCountLimitForOrg', '当前企业调用接口次数超过每月调用次数上限');
      throw oapiError(90020);
    }
    state.monthlyCalls.set(mkey, used + 1);
  }
}

/** The permission group an endpoint belongs to (org file `apps[].scopes`); undefined: any app may call it. */
export function scopeOfPath(path: string): Scope | undefined {
  if (/^\/(topapi\/v2\/user|topapi\/user|topapi\/v2\/department|user)\//.test(path)) return 'contacts';
  if (path.startsWith('/topapi/message/corpconversation/')) return 'workNotice';
  if (path.startsWith('/v1.0/robot/')) return 'robot';
  return undefined;
}

/** The caller's address as DingTalk would see it (IPv4-mapped IPv6 shown as IPv4). */
const callerIp = (req: FastifyRequest) => req.ip.replace(/^::ffff:/, '');

/**
 * The app's IP whitelist (org file `apps[].ipWhitelist`): a call from elsewhere answers 60020, naming the address it
 * came from as DingTalk's answer does. Checked at token issuance and on every call made with the app's token.
 */
export function checkAppIp(app: OrgApp, req: FastifyRequest, newApi: boolean): void {
  if (app.ipWhitelist.length === 0 || ipAllowed(callerIp(req), app.ipWhitelist)) return;
  if (newApi) throw newApiError(403, 'Forbidden.AccessDenied.IpNotInWhiteList', `ip not in white list, ip: ${callerIp(req)}`);
  throw new OapiFailure({ ...fail(60020), errmsg: `访问ip不在白名单之中,request ip=${callerIp(req)} appKey(${app.appKey})` });
}

/** The app's permission groups (org file `apps[].scopes`): a call outside them answers 88 / sub_code 60011. */
function checkScope(app: OrgApp, path: string, style: 'top' | 'plain' | 'newApi'): void {
  const scope = scopeOfPath(path);
  if (scope === undefined || app.scopes === undefined || app.scopes.includes(scope)) return;
  if (style === 'newApi') throw newApiError(403, 'Forbidden.AccessDenied.AccessTokenPermissionDenied', `没有调用该接口的权限 (${scope})`);
  throw style === 'top' ? new OapiFailure(topFail(60011)) : oapiError(60011);
}

/**
 * Checks `access_token` in the query. /topapi/* answers auth problems in the TOP envelope (88 + sub_code);
 * older paths in the plain one. Quota-exempt calls (directory) skip the monthly count.
 */
export function oapiAuth(
  state: EmulatorState,
  req: FastifyRequest,
  opts: { top: boolean; quotaExempt?: boolean },
): OrgApp {
  const token = query(req).access_token;
  const check = state.checkToken(token);
  if ('error' in check) {
    if (check.error === 'missing') throw oapiError(41001);
    const code = check.error === 'expired' ? 42001 : 40014;
    throw opts.top ? new OapiFailure(topFail(code)) : oapiError(code);
  }
  req.caller = { app: check.app.name };
  const path = req.routeOptions.url ?? req.url;
  checkAppIp(check.app, req, false);
  checkScope(check.app, path, opts.top ? 'top' : 'plain');
  chargeQuota(state, check.app, path, false, opts.quotaExempt);
  return check.app;
}

/** Checks the `x-acs-dingtalk-access-token` header of a new-API call. */
export function newApiAuth(state: EmulatorState, req: FastifyRequest): OrgApp {
  const header = req.headers['x-acs-dingtalk-access-token'];
  const token = Array.isArray(header) ? header[0] : header;
  if (!token) throw newApiError(400, 'MissingxAcsDingtalkAccessToken', 'x-acs-dingtalk-access-token is mandatory for this action.');
  const check = state.checkToken(token);
  if ('error' in check) throw newApiError(400, 'InvalidAuthentication', '不合法的access_token');
  req.caller = { app: check.app.name };
  const path = req.routeOptions.url ?? req.url;
  checkAppIp(check.app, req, true);
  checkScope(check.app, path, 'newApi');
  chargeQuota(state, check.app, path, true);
  return check.app;
}

/** A new-API JSON body; anything else is "Missingbody" as DingTalk's gateway says. */
export function newApiBody(req: FastifyRequest): Obj {
  const body = req.body as unknown;
  const ctype = String(req.headers['content-type'] ?? '');
  if (!ctype.includes('application/json') || body === INVALID_JSON || typeof body !== 'object' || body === null)
    throw newApiError(400, 'Missingbody', 'body is mandatory for this action.');
  return body as Obj;
}

export function needString(body: Obj, field: string, code: string): string {
  const v = body[field];
  if (typeof v !== 'string' || v === '') throw newApiError(400, code, `${field} is mandatory for this action.`);
  return v;
}

