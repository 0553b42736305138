import { DingTalkError } from './errors.js';

/** A cached access token and when it stops working (ms since epoch). */
export interface CachedToken {
  token: string;
  expiresAt: number;
}

/**
 * Where tokens are kept. Memory here; the gateway plugs in Redis so several instances share one token per app.
 * Keys are per app (its AppKey): a token is never shared across apps.
 */
export interface TokenStore {
  get(key: string): Promise<CachedToken | undefined>;
  set(key: string, value: CachedToken): Promise<void>;
  /** Deletes the entry only if it still holds `token` (another caller may have refreshed it already). */
  delete(key: string, token: string): Promise<void>;
  /**
   * A store shared by several processes also lends the right to fetch: a proof of holding it (for at most `ttlMs`),
   * or null when another process is fetching. Without it every process fetches for itself.
   */
  lock?(key: string, ttlMs: number): Promise<string | null>;
  /** Gives the right back, only if `proof` still holds it (a lock that expired may be another's by now). */
  unlock?(key: string, proof: string): Promise<void>;
}

/** How long one process may hold the right to fetch a token before another may take it (a fetch that hung). */
const FETCH_LOCK_MS = 10_000;
/** How often a process that waits for another's fetch looks for the token it stored. */
const FETCH_WAIT_POLL_MS = 50;

export class MemoryTokenStore implements TokenStore {
  private readonly entries = new Map<string, CachedToken>();

  async get(key: string): Promise<CachedToken | undefined> {
    return this.entries.get(key);
  }

  async set(key: string, value: CachedToken): Promise<void> {
    this.entries.set(key, value);
  }

  async delete(key: string, token: string): Promise<void> {
    if (this.entries.get(key)?.token === token) this.entries.delete(key);
  }
}

export interface TokenManagerOptions {
  key: string;
  fetch: () => Promise<{ token: string; expiresInSec: number }>;
  store?: TokenStore;
  /** Fetch a new token this long before the cached one expires (default 5 minutes). */
  refreshAheadMs?: number;
  now?: () => number;
}

/** One app's token: cached, fetched by one request however many callers ask, refreshed ahead of expiry. */
export class TokenManager {
  private inFlight: Promise<string> | undefined;
  /** Refreshes that stored a token so far. */
  private refreshes = 0;
  private readonly store: TokenStore;
  private readonly refreshAheadMs: number;
  private readonly now: () => number;
  /** How many token requests went to DingTalk (for tests and metrics). */
  fetches = 0;

  constructor(private readonly opts: TokenManagerOptions) {
    this.store = opts.store ? guarded(opts.store) : new MemoryTokenStore();
    this.refreshAheadMs = opts.refreshAheadMs ?? 300_000;
    this.now = opts.now ?? Date.now;
  }

  async get(): Promise<string> {
    for (;;) {
      const seen = this.refreshes;
      const cached = await this.store.get(this.opts.key);
      if (cached && cached.expiresAt - this.refreshAheadMs > this.now()) return cached.token;
      if (this.inFlight || this.refreshes === seen) return this.refresh();
      // A refresh ended while the cache was being read (what was read is older than it): read what it stored
      // instead of fetching again. Otherwise every caller whose read straddles the end of a refresh fetches anew.
    }
  }

  /** Forgets `token` if it is still the cached one; the next get() fetches a fresh one. */
  async invalidate(token: string): Promise<void> {
    await this.store.delete(this.opts.key, token);
  }

  private refresh(): Promise<string> {
    this.inFlight ??= (async () => {
      try {
        const token = await this.fetchOnce();
        this.refreshes++;
        return token;
      } finally {
        this.inFlight = undefined;
      }
    })();
    return this.inFlight;
  }

  /** Fetches a token, or, when the store is shared and another process is fetching, waits for the one it stores. */
  private async fetchOnce(): Promise<string> {
    const { store } = this;
    if (!store.lock) return this.fetchAndStore();
    const started = Date.now();
    const sleep = () => new Promise((r) => setTimeout(r, FETCH_WAIT_POLL_MS));
    for (;;) {
      const proof = await store.lock(this.opts.key, FETCH_LOCK_MS);
      if (proof !== null) {
        try {
          // Another process may have stored a fresh token between our read and the lock.
          const cached = await store.get(this.opts.key);
          if (cached && cached.expiresAt - this.refreshAheadMs > this.now()) return cached.token;
          return await this.fetchAndStore();
        } finally {
          await store.unlock?.(this.opts.key, proof).catch(() => {});
        }
      }
      await sleep();
      const cached = await store.get(this.opts.key);
      if (cached && cached.expiresAt - this.refreshAheadMs > this.now()) return cached.token;
      // The lock expires by itself if its holder died; past that, something is wrong with the store: fetch.
      if (Date.now() - started > FETCH_LOCK_MS + 1_000) return this.fetchAndStore();
    }
  }

  private async fetchAndStore(): Promise<string> {
    this.fetches++;
    const { token, expiresInSec } = await this.opts.fetch();
    await this.store.set(this.opts.key, { token, expiresAt: this.now() + expiresInSec * 1000 });
    return token;
  }
}

/**
 * A shared store that fails (Redis away or stalled) fails the call before anything reached DingTalk: such a failure is a
 * DingTalkError that says so (retry, not "may have arrived"), so a caller retries the send instead of taking it for a
 * lost answer.
 */
function guarded(store: TokenStore): TokenStore {
  const fail = (err: unknown): never => {
    throw new DingTalkError(
      'token',
      'token-store',
      err instanceof Error ? err.message : String(err),
      undefined,
      { class: 'retry', meaning: 'the shared token store is unavailable; nothing was sent' },
      false,
    );
  };
  return {
    get: (key) => store.get(key).catch(fail),
    set: (key, value) => store.set(key, value).catch(fail),
    delete: (key, token) => store.delete(key, token).catch(fail),
    ...(store.lock ? { lock: (key: string, ttlMs: number) => store.lock!(key, ttlMs).catch(fail) } : {}),
    ...(store.unlock ? { unlock: (key: string, proof: string) => store.unlock!(key, proof).catch(fail) } : {}),
  };
}
