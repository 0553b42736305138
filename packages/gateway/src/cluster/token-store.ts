import { randomUUID } from 'node:crypto';
import type { CachedToken, TokenStore } from '@dingpush/dingtalk';
import type { RedisLink } from './redis-link.js';

/** Deletes KEYS[1] only while it holds ARGV[1]: a refresh another instance stored is never thrown away. */
const DELETE_IF = `local v = redis.call('GET', KEYS[1])
if v and cjson.decode(v).token == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0`;

/** Deletes KEYS[1] only while it holds ARGV[1]: the fetch lock is given back by its holder only. */
const UNLOCK_IF = `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0`;

/**
 * Access tokens shared by every instance of a cluster: one fetch per app for the whole cluster (the fetch right is a
 * lock with an expiry; the others wait and read what it stored) and one refresh per revocation, however many
 * instances see the error. Keys carry the app's AppKey; values expire with the token.
 */
export class RedisTokenStore implements TokenStore {
  constructor(private readonly link: RedisLink) {}

  private key(app: string): string {
    return `${this.link.prefix}token:${app}`;
  }

  async get(app: string): Promise<CachedToken | undefined> {
    const raw = await this.link.redis.get(this.key(app));
    if (!raw) return undefined;
    const v = JSON.parse(raw) as CachedToken;
    return typeof v.token === 'string' && typeof v.expiresAt === 'number' ? v : undefined;
  }

  async set(app: string, value: CachedToken): Promise<void> {
    const ttl = Math.max(1_000, value.expiresAt - Date.now());
    await this.link.redis.set(this.key(app), JSON.stringify(value), 'PX', ttl);
  }

  async delete(app: string, token: string): Promise<void> {
    await this.link.redis.eval(DELETE_IF, 1, this.key(app), token);
  }

  async lock(app: string, ttlMs: number): Promise<string | null> {
    const proof = randomUUID();
    return (await this.link.redis.set(`${this.key(app)}:fetching`, proof, 'PX', ttlMs, 'NX')) === 'OK' ? proof : null;
  }

  async unlock(app: string, proof: string): Promise<void> {
    await this.link.redis.eval(UNLOCK_IF, 1, `${this.key(app)}:fetching`, proof);
  }
}
