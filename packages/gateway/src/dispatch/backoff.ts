import { backoffDelay, DingTalkError } from '@dingpush/dingtalk';
import type { Config } from '../config/schema.js';

/** When to try again: DingTalk's own wait for rate limits, else exponential backoff with jitter over the attempts made. */
export function retryDelay(delivery: Config['delivery'], attempts: number, err?: unknown): number {
  if (err instanceof DingTalkError && err.errorClass === 'rate_limited' && err.waitMs) return err.waitMs;
  return backoffDelay(Math.max(0, attempts - 1), { baseDelayMs: delivery.backoffBaseMs, maxDelayMs: delivery.backoffMaxMs });
}

export const sleep = (ms: number, signal?: AbortSignal) =>
  new Promise<void>((resolve) => {
    const t = setTimeout(resolve, ms);
    signal?.addEventListener('abort', () => {
      clearTimeout(t);
      resolve();
    });
  });
