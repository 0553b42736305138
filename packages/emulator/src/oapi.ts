import { randomBytes, randomUUID } from 'node:crypto';

/** errmsg for each oapi errcode the emulator returns, as DingTalk words them (shared/dingtalk-api.md §11.1). */
export const OAPI_ERRMSG: Record<number, string> = {
  [-1]: '系统繁忙',
  0: 'ok',
  22: 'Invalid method',
  88: 'ding talk error',
  404: '请求的URI地址不存在',
  33012: '无效的USERID',
  34001: '无效的会话id',
  34004: '无效的会话消息的类型',
  34008: '图片不能为空',
  34009: '链接不能为空',
  34010: '文件不能为空',
  34011: '音频不能为空',
  34014: '会话消息的json结构无效或不完整',
  34016: '会话消息的内容超长',
  40001: '获取access_token时Secret错误，或者access_token无效',
  40004: '不合法的媒体文件类型',
  40005: '不合法的文件类型',
  40006: '不合法的文件大小',
  40007: '不合法的媒体文件id',
  40008: '不合法的消息类型',
  40014: '不合法的access_token',
  40016: '不合法的会话ID',
  40031: '不合法的UserID列表',
  40035: '不合法的参数',
  40056: '不合法的agentid',
  40089: '不合法的corpId或corpSecret',
  40104: '无效手机号',
  41001: '缺少access_token参数',
  41002: '缺少corpid参数',
  41004: '缺少secret参数',
  41005: '缺少多媒体文件数据',
  41011: '缺少agentid',
  41029: '超过消息接收者人数上限，企业接入为5000，ISV接入为1000',
  41045: '单应用全员消息/每天总量超限',
  41052: '本次发送人数过多,不再返回发送结果',
  42001: 'access_token超时',
  43002: '需要POST请求',
  43004: '无效的HTTP HEADER Content-Type',
  43008: '参数需要multipart类型',
  43009: 'post参数需要json类型',
  44001: '多媒体文件为空',
  44004: '文本消息内容为空',
  49000: '缺少chatid',
  49010: '群成员为空',
  49011: '群成员列表超长',
  49013: '群主为空',
  60003: '部门不存在',
  60011: '没有调用该接口的权限',
  60020: '访问ip不在白名单之中',
  60121: '找不到该用户',
  90018: '当前企业调用该接口超过每秒调用次数上限',
  90020: '当前企业调用接口次数超过每月调用次数上限',
  400002: '无效的参数',
};

/** Opaque request ids shaped like DingTalk's (12–13 lowercase alphanumerics). */
export function requestId(): string {
  const alphabet = 'abcdefghijklmnopqrstuvwxyz0123456789';
  const bytes = randomBytes(12);
  let out = '';
  for (const b of bytes) out += alphabet[b % alphabet.length];
  return out;
}

/** New-API request ids: upper-case UUIDs. */
export function newApiRequestId(): string {
  return randomUUID().toUpperCase();
}

export type OapiBody = Record<string, unknown> & { errcode: number; errmsg: string };

export function ok(payload: Record<string, unknown> = {}): OapiBody {
  return { errcode: 0, errmsg: 'ok', ...payload, request_id: requestId() };
}

/** A failure in the plain envelope; detail is appended the way DingTalk names the offending field. */
export function fail(errcode: number, detail?: string): OapiBody {
  const base = OAPI_ERRMSG[errcode];
  const errmsg = base && detail ? `${base}: ${detail}` : (base ?? detail ?? 'error');
  return { errcode, errmsg, request_id: requestId() };
}

/** A failure in the TOP-gateway envelope used by /topapi/* for auth problems (errcode 88 + sub_code). */
export function topFail(subCode: number): OapiBody {
  const subMsg = OAPI_ERRMSG[subCode] ?? 'error';
  return {
    errcode: 88,
    sub_code: String(subCode),
    sub_msg: subMsg,
    errmsg: `ding talk error[subcode=${subCode},submsg=${subMsg}]`,
    request_id: requestId(),
  };
}

/** A thrown oapi failure; route handlers throw it and the server turns it into an HTTP 200 answer. */
export class OapiFailure extends Error {
  constructor(readonly body: OapiBody) {
    super(body.errmsg);
  }
}

export function oapiError(errcode: number, detail?: string): OapiFailure {
  return new OapiFailure(fail(errcode, detail));
}

/** A new-API failure: HTTP status plus {code, message, requestid}. */
export class NewApiFailure extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }

  body(): { code: string; message: string; requestid: string } {
    return { code: this.code, message: this.message, requestid: newApiRequestId() };
  }
}

export function newApiError(status: number, code: string, message: string): NewApiFailure {
  return new NewApiFailure(status, code, message);
}
