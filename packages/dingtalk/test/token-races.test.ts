import { describe, expect, it } from 'vitest';
import { type CachedToken, MemoryTokenStore, TokenManager, type TokenStore } from '../src/index.js';

/** A promise settled from outside. */
function deferred<T>() {
  let resolve!: (v: T) => void;
  const promise = new Promise<T>((r) => {
    resolve = r;
  });
  return { promise, resolve };
}

/** Lets every pending promise continuation run. */
const settle = () => new Promise((r) => setImmediate(r));
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A shared store (as Redis would be): each operation reads or writes at once and answers after a round trip. */
class SlowStore implements TokenStore {
  readonly inner = new MemoryTokenStore();
  /** When set, get() answers only when the test releases it. */
  held: (() => void)[] | undefined;
  constructor(private readonly latency: () => number = () => 0) {}

  async get(key: string): Promise<CachedToken | undefined> {
    const value = await this.inner.get(key);
    if (this.held) await new Promise<void>((r) => this.held!.push(r));
    else await sleep(this.latency());
    return value;
  }
  async set(key: string, value: CachedToken): Promise<void> {
    await this.inner.set(key, value);
    await sleep(this.latency());
  }
  async delete(key: string, token: string): Promise<void> {
    await this.inner.delete(key, token);
    await sleep(this.latency());
  }
}

/** A token endpoint: each fetch answers after `delayMs` with a new token (tokens it has revoked are refused). */
function fakeDingTalk(delayMs = 5) {
  let issued = 0;
  const revoked = new Set<string>();
  let current: string | undefined;
  return {
    get fetches() {
      return issued;
    },
    fetch: async () => {
      issued++;
      await sleep(delayMs);
      current = `t${issued}`;
      return { token: current, expiresInSec: 7200 };
    },
    revokeAll() {
      if (current) revoked.add(current);
    },
    /** A call with `token`: refused (as DingTalk's 88/40014) when it was revoked. */
    async call(token: string): Promise<boolean> {
      await sleep(Math.random() * 3);
      return !revoked.has(token);
    },
  };
}

describe('TokenManager under concurrency', () => {
  it('a caller whose cache read began before a refresh ended takes that refresh, it does not fetch again', async () => {
    const store = new SlowStore();
    const pending: ReturnType<typeof deferred<{ token: string; expiresInSec: number }>>[] = [];
    const manager = new TokenManager({
      key: 'k',
      store,
      fetch: () => {
        const d = deferred<{ token: string; expiresInSec: number }>();
        pending.push(d);
        return d.promise;
      },
    });
    store.held = [];
    const a = manager.get();
    await settle();
    store.held.shift()!(); // A reads an empty cache and starts the refresh.
    await settle();
    expect(pending).toHaveLength(1);

    const b = manager.get(); // B reads the cache while the refresh is still on its way: empty.
    await settle();
    expect(store.held).toHaveLength(1);
    pending[0]!.resolve({ token: 't1', expiresInSec: 7200 });
    expect(await a).toBe('t1');
    store.held.shift()!(); // B's read (empty) comes back after the refresh has ended.
    store.held = undefined;
    await settle();
    expect(pending).toHaveLength(1);
    expect(await b).toBe('t1');
    expect(manager.fetches).toBe(1);
  });

  it('a late invalidate of the revoked token does not drop the token fetched since', async () => {
    const dingtalk = fakeDingTalk();
    const manager = new TokenManager({ key: 'k', store: new SlowStore(() => 1), fetch: dingtalk.fetch });
    expect(await manager.get()).toBe('t1');
    dingtalk.revokeAll();
    await manager.invalidate('t1');
    const refreshed = manager.get(); // the refresh is on its way
    await manager.invalidate('t1'); // a second caller, whose call with t1 failed later
    expect(await refreshed).toBe('t2');
    await manager.invalidate('t1'); // a third, after the refresh
    expect(await manager.get()).toBe('t2');
    expect(dingtalk.fetches).toBe(2);
  });

  for (const [name, latency] of [
    ['the memory store', undefined],
    ['a shared store with round trips of 0–5 ms', () => Math.random() * 5],
  ] as const) {
    it(`200 callers whose calls all fail with a revoked token cost one token fetch (${name})`, async () => {
      const dingtalk = fakeDingTalk();
      const manager = new TokenManager({ key: 'k', ...(latency ? { store: new SlowStore(latency) } : {}), fetch: dingtalk.fetch });
      await manager.get();
      dingtalk.revokeAll();
      let failures = 0;
      // Each caller does what DingTalkApp.authed does: call, and on a rejected token drop it and call once more.
      const results = await Promise.all(
        Array.from({ length: 200 }, async (_, i) => {
          await sleep(i % 10);
          const token = await manager.get();
          if (await dingtalk.call(token)) return true;
          failures++;
          await manager.invalidate(token);
          return dingtalk.call(await manager.get());
        }),
      );
      expect(results.every(Boolean)).toBe(true);
      expect(dingtalk.fetches).toBe(2);
      expect(manager.fetches).toBe(2);
      expect(failures).toBeGreaterThan(0);
    });
  }
});
