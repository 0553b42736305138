/**
 * DingTalk's error codes, in one table: what each means and what to do about it (shared/dingtalk-api.md §11, robot
 * §6.5, new API §11.4). The class decides retries in the client and in the gateway, and what senders are told.
 */
export type ErrorClass =
  /** Transient: retry with exponential backoff. */
  | 'retry'
  /** The token is bad or expired: drop it, fetch a new one, retry once. */
  | 'refresh_token'
  /** A quota was hit: wait `waitMs`, then retry. */
  | 'rate_limited'
  /** Fix the request or the configuration; retrying cannot help. */
  | 'permanent';

export interface ErrorInfo {
  class: ErrorClass;
  meaning: string;
  /** For rate_limited: how long DingTalk asks us to wait. */
  waitMs?: number;
}

const SECOND = 1000;
const MINUTE = 60 * SECOND;

const e = (cls: ErrorClass, meaning: string, waitMs?: number): ErrorInfo => ({ class: cls, meaning, ...(waitMs ? { waitMs } : {}) });

/** oapi numeric errcodes (HTTP 200 with errcode ≠ 0), including the custom-robot webhook's. */
export const OAPI_ERRORS: Readonly<Record<number, ErrorInfo>> = {
  [-1]: e('retry', 'DingTalk is busy'),
  15: e('retry', 'backend service unavailable'),
  22: e('permanent', 'unknown topapi method'),
  404: e('permanent', 'the URL does not exist'),
  500: e('retry', 'DingTalk server error'),
  400001: e('retry', 'DingTalk system error'),
  34015: e('retry', 'group message send failed'),
  33001: e('refresh_token', 'token does not match the organisation'),
  40001: e('refresh_token', 'wrong app secret or invalid token'),
  40014: e('refresh_token', 'invalid access token'),
  42001: e('refresh_token', 'access token expired'),
  43007: e('permanent', 'authorisation required'),
  41001: e('permanent', 'access_token missing from the URL'),
  40089: e('permanent', 'invalid AppKey or AppSecret'),
  41002: e('permanent', 'AppKey missing'),
  41004: e('permanent', 'AppSecret missing'),
  60011: e('permanent', 'the app lacks the permission for this API'),
  60020: e('permanent', 'this server IP is not in the app\'s whitelist'),
  90001: e('rate_limited', 'all APIs temporarily disabled for this server', SECOND),
  90002: e('rate_limited', 'global per-API QPS exceeded', SECOND),
  90018: e('rate_limited', 'per-app per-API QPS exceeded (20/s)', SECOND),
  90020: e('permanent', 'monthly API call quota exhausted'),
  45009: e('rate_limited', 'API call limit', SECOND),
  41046: e('rate_limited', 'to-all messages per minute exceeded', MINUTE),
  41047: e('rate_limited', 'recipients per minute exceeded', MINUTE),
  41048: e('rate_limited', 'messages per minute exceeded', MINUTE),
  41045: e('permanent', 'to-all messages per day exceeded (3); next day'),
  41028: e('permanent', 'this app may not send to all users'),
  41029: e('permanent', 'too many recipients in one call'),
  41044: e('permanent', 'sending forbidden'),
  41049: e('permanent', 'prohibited content'),
  41052: e('permanent', 'too many recipients: no send result'),
  40035: e('permanent', 'invalid parameter'),
  400002: e('permanent', 'invalid parameter'),
  40056: e('permanent', 'invalid agent_id'),
  41011: e('permanent', 'agent_id missing'),
  40048: e('permanent', 'a URL in the message has a forbidden domain'),
  34001: e('permanent', 'invalid chatid'),
  34004: e('permanent', 'invalid message type'),
  40008: e('permanent', 'invalid message type'),
  34008: e('permanent', 'image media_id missing'),
  34009: e('permanent', 'link URL missing'),
  34010: e('permanent', 'file media_id missing'),
  34011: e('permanent', 'voice media_id missing'),
  34014: e('permanent', 'message JSON invalid or incomplete'),
  34016: e('permanent', 'message content too long'),
  44004: e('permanent', 'text content empty'),
  40007: e('permanent', 'invalid media_id'),
  40004: e('permanent', 'invalid media type'),
  40005: e('permanent', 'invalid file type'),
  40006: e('permanent', 'invalid file size'),
  41005: e('permanent', 'media data missing'),
  43008: e('permanent', 'multipart body required'),
  44001: e('permanent', 'empty media file'),
  40016: e('permanent', 'invalid chatid'),
  49000: e('permanent', 'chatid missing'),
  33012: e('permanent', 'invalid userid'),
  60121: e('permanent', 'no user with this mobile'),
  40104: e('permanent', 'invalid mobile number'),
  60003: e('permanent', 'department not found'),
  43004: e('permanent', 'invalid Content-Type'),
  43009: e('permanent', 'JSON body required'),
  47001: e('permanent', 'JSON parse error'),
  // custom robot webhook (§6.5)
  130101: e('rate_limited', 'robot sent more than 20 messages in a minute; blocked for 10 minutes', 10 * MINUTE),
  410100: e('rate_limited', 'robot rate limited; blocked for 10 minutes', 10 * MINUTE),
  300001: e('permanent', 'robot access token does not exist'),
  300005: e('permanent', 'robot access token does not exist'),
  310000: e('permanent', 'robot security check failed (keywords, signature, timestamp or IP whitelist)'),
  400013: e('permanent', 'the group was dissolved'),
  400101: e('permanent', 'robot access token does not exist'),
  400102: e('permanent', 'robot disabled'),
  400105: e('permanent', 'message type not supported by robots'),
  400106: e('permanent', 'robot not in the group'),
  400402: e('permanent', 'a message field is missing or invalid'),
  430101: e('permanent', 'unsafe external link'),
  430102: e('permanent', 'inappropriate text'),
  430103: e('permanent', 'inappropriate image'),
  430104: e('permanent', 'inappropriate content'),
  460101: e('permanent', 'robot message over 20 000 bytes'),
  101002: e('permanent', 'robot message too long'),
};

/** New-API string codes (HTTP 4xx/5xx with {code, message, requestid}). */
export const NEW_API_ERRORS: Readonly<Record<string, ErrorInfo>> = {
  InvalidAuthentication: e('refresh_token', 'invalid or expired access token'),
  invalidClientIdOrSecret: e('permanent', 'invalid AppKey or AppSecret'),
  'Forbidden.AccessDenied.AccessTokenPermissionDenied': e('permanent', 'the app lacks the permission for this API'),
  'Forbidden.AccessDenied.IpNotInWhiteList': e('permanent', 'this server IP is not in the app\'s whitelist'),
  'Forbidden.AccessDenied.QpsLimitForAppkeyAndApi': e('rate_limited', 'per-app per-API QPS exceeded', SECOND),
  'Forbidden.AccessDenied.QpmLimitForAppkeyAndApi': e('rate_limited', 'per-app per-API per-minute limit exceeded', MINUTE),
  'Forbidden.AccessDenied.QpsLimitForApi': e('rate_limited', 'global per-API QPS exceeded', SECOND),
  'Forbidden.AccessDenied.ApiCountLimitForOrg': e('permanent', 'monthly API call quota exhausted'),
  'system.busy': e('retry', 'DingTalk is busy'),
  systemBusy: e('retry', 'DingTalk is busy'),
  'system.error': e('retry', 'DingTalk server error'),
  systemError: e('retry', 'DingTalk server error'),
  unknownError: e('retry', 'DingTalk server error'),
  'service.timeout': e('retry', 'DingTalk timed out'),
  'send.too.fast': e('rate_limited', 'robot sending too fast', MINUTE),
  'send.byToken.tooFast': e('rate_limited', 'robot sending too fast', MINUTE),
  'too.many.group': e('rate_limited', 'too many groups', MINUTE),
  'too.many.people': e('rate_limited', 'too many people', MINUTE),
  'unknown.send.result': e('retry', 'send result unknown'),
};

/** Token-invalidating sub-codes inside errcode 88 (project rule, §0.2). */
const TOKEN_SUB_CODES = new Set(['40014', '42001', '40001', '33001']);

export interface ErrorFacts {
  errcode?: number;
  subCode?: string;
  code?: string;
  httpStatus?: number;
}

/** What to do about one failure. Unknown codes are permanent, except unknown 5xx and network failures. */
export function classify(facts: ErrorFacts): ErrorInfo {
  if (facts.errcode === 88) {
    if (facts.subCode && TOKEN_SUB_CODES.has(facts.subCode)) return e('refresh_token', `token rejected (sub_code ${facts.subCode})`);
    if (facts.subCode === 'isp.-1') return e('retry', 'backend service unavailable');
    return e('permanent', `authorisation or permission problem (sub_code ${facts.subCode ?? '?'})`);
  }
  if (facts.errcode !== undefined) {
    const known = OAPI_ERRORS[facts.errcode];
    if (known) return known;
  }
  if (facts.code !== undefined) {
    const known = NEW_API_ERRORS[facts.code];
    if (known) return known;
    if (facts.code.startsWith('Missing') || facts.code.startsWith('invalid') || facts.code.startsWith('miss.'))
      return e('permanent', 'invalid request');
  }
  if (facts.httpStatus !== undefined) {
    if (facts.httpStatus === 429) return e('rate_limited', 'too many requests', SECOND);
    if (facts.httpStatus >= 500) return e('retry', `HTTP ${facts.httpStatus} from DingTalk`);
  }
  return e('permanent', 'unrecognised DingTalk error');
}

/**
 * A failed DingTalk call. Carries DingTalk's code and message, the request id and what to do about it; never a
 * token, secret or full URL (query strings carry tokens).
 */
export class DingTalkError extends Error {
  override name = 'DingTalkError';
  readonly errorClass: ErrorClass;
  readonly waitMs: number | undefined;

  constructor(
    readonly api: string,
    readonly code: number | string,
    readonly dingMessage: string,
    readonly requestId: string | undefined,
    info: ErrorInfo,
    /** The request may have reached DingTalk (timeout, dropped connection): check before repeating a send. */
    readonly mayHaveSucceeded = false,
    readonly httpStatus?: number,
  ) {
    super(`DingTalk ${api} failed: ${code} ${dingMessage}${dingMessage ? ' — ' : ''}${info.meaning}${requestId ? ` (request ${requestId})` : ''}`);
    this.errorClass = info.class;
    this.waitMs = info.waitMs;
  }

  get retryable(): boolean {
    return this.errorClass !== 'permanent';
  }
}

/** Input that DingTalk would refuse, caught before any call; `path` names the field. */
export class DingTalkValidationError extends Error {
  override name = 'DingTalkValidationError';
  constructor(
    readonly path: string,
    readonly rule: string,
  ) {
    super(`${path}: ${rule}`);
  }
}
