import { DEFAULT_TODO, type DingTalkError, type ErrorTodo, robotSecurityAdvice, whatToDo } from '@dingpush/dingtalk';

/**
 * How a DingTalk failure reads in a delivery's `reason`: DingTalk's code, DingTalk's own message, and the error
 * table's line of what to do (English in the reason; the API's `whatToDo` gives it in Chinese and English).
 * `adviceOfReason` reads back what `dingtalkReason` wrote, so the two live together.
 */
const ADVICE = ' — what to do: ';
const REASON = /DingTalk (\S+): ([^\n]*?)(?: — what to do: .*)?$/s;

export function dingtalkReason(err: DingTalkError): string {
  const message = err.dingMessage || err.message;
  return `DingTalk ${err.code}: ${message}${ADVICE}${adviceFor(String(err.code), message).en}`;
}

/** The what-to-do line for a code as DingTalkError writes it (40056, 88/60011, invalidClientIdOrSecret, HTTP 502, network). */
export function adviceFor(code: string, message: string): ErrorTodo {
  if (code === '310000') return robotSecurityAdvice(message).todo;
  if (code === 'network' || code === 'timeout') return DEFAULT_TODO.retry;
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
  return m ? adviceFor(m[1]!, m[2]!) : undefined;
}
