import { DEFAULT_TODO, type DingTalkError, type ErrorTodo, robotSecurityAdvice, whatToDo } from '@dingpush/dingtalk';

/**
 * How a failed call to DingTalk reads in a delivery's `reason`: DingTalk's code, DingTalk's own message, and the error
 * table's line of what to do (English in the reason; the API's `whatToDo` gives it in Chinese and English). A call
 * that got no answer (network, timeout, proxy) says so rather than putting words in DingTalk's mouth.
 * `adviceOfReason` reads back what `dingtalkReason` wrote, so the two live together.
 */
const ADVICE = ' — what to do: ';
const NO_ANSWER = new Set(['network', 'timeout', 'proxy']);
/** The reasons that carry a failure of their own (not ones that only quote an earlier one, like an operator's retry). */
const REASON = /^(?:mobile lookup failed: |retrying after |recall failed: )?(?:DingTalk (HTTP \d{3}|[^\s:]+)|no answer from DingTalk \((\w+)\)): (.*?)(?: — what to do: .*)?$/s;

const PROXY_TODO: ErrorTodo = {
  en: 'dingpush retries; check the proxy (dingtalk.proxy, or HTTPS_PROXY): its address, its credentials, and that it lets DingTalk through',
  zh: 'dingpush 会自动重试；请检查代理（dingtalk.proxy 或 HTTPS_PROXY）：地址、凭据，以及是否放行钉钉',
};

export function dingtalkReason(err: DingTalkError): string {
  const code = String(err.code);
  const message = err.dingMessage || err.message;
  const head = NO_ANSWER.has(code) ? `no answer from DingTalk (${code})` : `DingTalk ${code}`;
  return `${head}: ${message}${ADVICE}${adviceFor(code, message).en}`;
}

/** The what-to-do line for a code as DingTalkError writes it (40056, 88/60011, invalidClientIdOrSecret, HTTP 502, network). */
export function adviceFor(code: string, message: string): ErrorTodo {
  if (code === '310000') return robotSecurityAdvice(message).todo;
  if (code === 'proxy') return PROXY_TODO;
  if (NO_ANSWER.has(code)) return DEFAULT_TODO.retry;
  const http = /^HTTP (\d{3})$/.exec(code);
  if (http) return whatToDo({ httpStatus: Number(http[1]) });
  const top = /^88\/(.+)$/.exec(code);
  if (top) return whatToDo({ errcode: 88, subCode: top[1]! });
  if (/^-?\d+$/.test(code)) return whatToDo({ errcode: Number(code) });
  return whatToDo({ code });
}

/** The what-to-do line of a reason that carries a DingTalk failure, in both languages; undefined for other reasons. */
export function adviceOfReason(reason: string | null | undefined): ErrorTodo | undefined {
  const m = reason ? REASON.exec(reason) : null;
  return m ? adviceFor((m[1] ?? m[2])!, m[3]!) : undefined;
}
