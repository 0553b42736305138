import { DingTalkError } from './errors.js';

export interface RetryPolicy {
  /** Total attempts, the first included (1 = no retries). */
  attempts: number;
  baseDelayMs: number;
  maxDelayMs: number;
  /** A rate limit asking for a longer wait than this is not waited out here: the error goes to the caller. */
  maxWaitMs: number;
}

export const DEFAULT_RETRY: RetryPolicy = { attempts: 3, baseDelayMs: 200, maxDelayMs: 2_000, maxWaitMs: 2_000 };

/** Exponential backoff with "equal jitter": half fixed, half random, so retries from many callers spread out. */
export function backoffDelay(attempt: number, policy: Pick<RetryPolicy, 'baseDelayMs' | 'maxDelayMs'>, random = Math.random): number {
  const ceiling = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** attempt);
  // Whole milliseconds: callers add it to clocks that stores keep as integers (PostgreSQL bigint refuses a fraction).
  return Math.floor(ceiling / 2 + random() * (ceiling / 2));
}

/**
 * Runs `call`, retrying transient failures and short rate limits. A failure that may have reached DingTalk (a
 * timeout, a dropped connection) is retried only when the call is idempotent.
 */
export async function withRetry<T>(call: () => Promise<T>, policy: RetryPolicy, idempotent: boolean): Promise<T> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await call();
    } catch (err) {
      if (!(err instanceof DingTalkError) || attempt + 1 >= policy.attempts) throw err;
      if (err.mayHaveSucceeded && !idempotent) throw err;
      let delay: number;
      if (err.errorClass === 'retry') delay = backoffDelay(attempt, policy);
      else if (err.errorClass === 'rate_limited' && (err.waitMs ?? 0) <= policy.maxWaitMs)
        delay = (err.waitMs ?? policy.baseDelayMs) + Math.random() * policy.baseDelayMs;
      else throw err;
      await new Promise((r) => setTimeout(r, delay));
    }
  }
}
