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
}

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
    this.store = opts.store ?? new MemoryTokenStore();
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
        this.fetches++;
        const { token, expiresInSec } = await this.opts.fetch();
        await this.store.set(this.opts.key, { token, expiresAt: this.now() + expiresInSec * 1000 });
        this.refreshes++;
        return token;
      } finally {
        this.inFlight = undefined;
      }
    })();
    return this.inFlight;
  }
}
