import { classify, DingTalkError } from './errors.js';
import type { RawResponse } from './http.js';

type Body = Record<string, unknown>;

/** Reads an oapi answer: DingTalk says HTTP 200 even on failure, so the errcode is always checked. */
export function readOapi(api: string, res: RawResponse): Body {
  const body = (typeof res.body === 'object' && res.body !== null ? res.body : {}) as Body;
  if (res.status >= 400) {
    throw new DingTalkError(api, `HTTP ${res.status}`, '', undefined, classify({ httpStatus: res.status }), false, res.status);
  }
  const errcode = body.errcode === undefined ? 0 : Number(body.errcode);
  if (errcode === 0) return body;
  const subCode = body.sub_code === undefined ? undefined : String(body.sub_code);
  const message = String(body.sub_msg ?? body.errmsg ?? '');
  const requestId = typeof body.request_id === 'string' ? body.request_id : undefined;
  const code: number | string = errcode === 88 && subCode ? `88/${subCode}` : errcode;
  throw new DingTalkError(api, code, message, requestId, classify({ errcode, ...(subCode ? { subCode } : {}) }), false, res.status);
}

/** Reads a new-API answer: success is 2xx with the payload; failure is 4xx/5xx with {code, message, requestid}. */
export function readNewApi(api: string, res: RawResponse): Body {
  const body = (typeof res.body === 'object' && res.body !== null ? res.body : {}) as Body;
  if (res.status < 400) return body;
  const code = typeof body.code === 'string' ? body.code : `HTTP ${res.status}`;
  const header = res.headers['x-acs-request-id'];
  const requestId = typeof body.requestid === 'string' ? body.requestid : typeof header === 'string' ? header : undefined;
  throw new DingTalkError(api, code, String(body.message ?? ''), requestId, classify({ code, httpStatus: res.status }), false, res.status);
}
