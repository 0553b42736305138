import { createHash } from 'node:crypto';
import { Redis } from 'ioredis';
import type { Logger } from '../observability/logger.js';

/**
 * The cluster's connection to Redis. Commands fail at once while Redis is away (no offline queue): a caller that needs
 * a shared fact pauses and retries rather than guess, and the link reconnects by itself with backoff.
 */
export interface RedisLink {
  redis: Redis;
  /** Every key of this cluster and this DingTalk starts with it: two clusters or test runs never share state. */
  prefix: string;
  /** Why Redis cannot be used now (null: it can). */
  problem(): string | null;
  /** Resolves once connected, or after `ms` (whichever is first). */
  ready(ms: number): Promise<void>;
  /** A second connection in subscriber mode (pub/sub cannot share the command connection). */
  subscriber(): Redis;
  close(): Promise<void>;
}

/** Host and port only: a Redis URL may carry a password. */
export function redisAddress(url: string): string {
  try {
    const u = new URL(url);
    return `${u.hostname}:${u.port || '6379'}`;
  } catch {
    return 'redis';
  }
}

export function openRedis(url: string, cluster: string, dingtalkBaseUrl: string, log: Logger): RedisLink {
  const options = {
    enableOfflineQueue: false,
    maxRetriesPerRequest: 1,
    connectTimeout: 2_000,
    commandTimeout: 2_000,
    retryStrategy: (times: number) => Math.min(100 * 2 ** Math.min(times, 5), 2_000),
  };
  const redis = new Redis(url, options);
  const extra: Redis[] = [];
  let lastError: string | null = null;
  const where = redisAddress(url);
  const watch = (r: Redis) =>
    r.on('error', (err: Error) => {
      // ioredis repeats the same error at every reconnect attempt: log a change, not each attempt.
      const text = `${(err as NodeJS.ErrnoException).code ?? err.name} at ${where}`;
      if (text !== lastError) log.warn({ redis: where, err: text }, 'Redis unavailable; shared quotas and tokens wait for it');
      lastError = text;
    });
  watch(redis);
  redis.on('ready', () => {
    if (lastError) log.info({ redis: where }, 'Redis is back');
    lastError = null;
  });
  const site = createHash('sha256').update(dingtalkBaseUrl).digest('hex').slice(0, 8);
  return {
    redis,
    prefix: `dingpush:${cluster}:${site}:`,
    problem: () => (redis.status === 'ready' ? null : `Redis at ${where} is ${lastError ? `unreachable (${lastError})` : redis.status}`),
    ready: (ms) =>
      new Promise<void>((resolve) => {
        if (redis.status === 'ready') return resolve();
        const timer = setTimeout(resolve, ms);
        redis.once('ready', () => {
          clearTimeout(timer);
          resolve();
        });
      }),
    subscriber: () => {
      const sub = new Redis(url, { ...options, enableOfflineQueue: true, maxRetriesPerRequest: null });
      watch(sub);
      extra.push(sub);
      return sub;
    },
    close: async () => {
      for (const r of [...extra, redis]) r.disconnect();
    },
  };
}
