/**
 * DingTalk's robot answers (`{"errcode","errmsg"}`), for the drop-in endpoints whose callers speak DingTalk's shape:
 * /robot/send and PrometheusAlert's URL.
 */
export const OK = { errcode: 0, errmsg: 'ok' } as const;
export const BUSY = { errcode: -1, errmsg: '系统繁忙' } as const;
export const UNKNOWN_TOKEN = { errcode: 300001, errmsg: 'token is not exist' } as const;
export const TOO_LONG = { errcode: 460101, errmsg: 'message too long, exceed 20000 bytes' } as const;

/** DingTalk's parameter error, naming the field and the rule. */
export const parameterError = (path: string, message: string) => ({ errcode: 400402, errmsg: `错误描述:${path}: ${message}` });
