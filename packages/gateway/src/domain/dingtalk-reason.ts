import { classify, DEFAULT_TODO, type DingTalkError, type ErrorInfo, type ErrorTodo, robotSecurityAdvice } from '@dingpush/dingtalk';
import { type DeliveryStatus, FINAL_STATUSES } from './delivery-states.js';

/**
 * How a failed call to DingTalk reads in a delivery's `reason`: DingTalk's code and DingTalk's own message, nothing
 * more. Later reasons quote it ("gave up …; last error: …", "no answer from DingTalk (…)"), so it stays bare; what to
 * do about it is derived where the reason is shown (`adviceOfReason`), from the error table and the row's status.
 * The two live together because one reads what the other writes.
 */
export function dingtalkReason(err: DingTalkError): string {
  return `DingTalk ${err.code}: ${err.dingMessage || err.message}`;
}

/** A DingTalk failure inside a reason, wherever it is quoted: its code, and its message up to the quote's end. */
const QUOTED = /DingTalk (HTTP \d{3}|[^\s:();]+): ([^;)]*)/;
/** Reasons that only mention an earlier failure that no longer holds. */
const HISTORY = /^(?:retried by an operator after: |delivered; )/;
const NO_ANSWER = new Set(['network', 'timeout', 'proxy']);

const PROXY: ErrorInfo = {
  class: 'retry',
  meaning: 'proxy failure',
  todo: {
    en: 'dingpush retries; check the proxy (dingtalk.proxy, or HTTPS_PROXY): its address, its credentials, and that it lets DingTalk through',
    zh: 'dingpush 会自动重试；请检查代理（dingtalk.proxy 或 HTTPS_PROXY）：地址、凭据，以及是否放行钉钉',
  },
};

/** The error table's entry for a code as DingTalkError writes it (40056, 88/60011, invalidClientIdOrSecret, HTTP 502, timeout). */
export function adviceFor(code: string, message: string): ErrorInfo {
  if (code === 'proxy') return PROXY;
  if (NO_ANSWER.has(code)) return { class: 'retry', meaning: 'no answer', todo: DEFAULT_TODO.retry };
  if (code === '310000') return { ...classify({ errcode: 310000 }), todo: robotSecurityAdvice(message).todo };
  const http = /^HTTP (\d{3})$/.exec(code);
  if (http) return classify({ httpStatus: Number(http[1]) });
  const top = /^88\/(.+)$/.exec(code);
  if (top) return classify({ errcode: 88, subCode: top[1]! });
  if (/^-?\d+$/.test(code)) return classify({ errcode: Number(code) });
  return classify({ code });
}

/**
 * What to do about the DingTalk failure a delivery's reason carries, in both languages; undefined when it carries
 * none. A row that is final is not told that dingpush retries: only a line naming a fix is shown there.
 */
export function adviceOfReason(reason: string | null | undefined, status: DeliveryStatus): ErrorTodo | undefined {
  if (!reason || HISTORY.test(reason)) return undefined;
  const m = QUOTED.exec(reason);
  if (!m) return undefined;
  const info = adviceFor(m[1]!, m[2]!.trim());
  if ((FINAL_STATUSES as readonly DeliveryStatus[]).includes(status) && info.class !== 'permanent') return undefined;
  return info.todo;
}
