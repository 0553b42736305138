import { timingSafeEqual } from 'node:crypto';
import type { ApiKeyConfig } from '../config/schema.js';
import { RequestError } from '../notifications/errors.js';

/** Who is calling: a configured API key, or anyone in sandbox mode. */
export interface Caller {
  /** The owner name stored with what the caller sends. */
  name: string;
  limits?: ApiKeyConfig;
  /**
   * True only in sandbox mode for a request without a key: the gateway has no keys, so everything is everyone's.
   * No key name grants this (a configured key named "sandbox" is an ordinary key).
   */
  sandbox: boolean;
}

/** Bearer API keys, compared in constant time. In sandbox mode a request without a key acts as the sandbox. */
export class ApiKeys {
  constructor(
    private readonly keys: ApiKeyConfig[],
    private readonly sandboxMode: boolean,
  ) {}

  authenticate(header: string | undefined): Caller {
    const match = /^Bearer\s+(\S+)$/i.exec(header ?? '');
    if (!match) {
      if (this.sandboxMode && !header) return { name: 'sandbox', sandbox: true };
      throw new RequestError(401, 'unauthorized', undefined, 'missing API key: send "Authorization: Bearer <key>"');
    }
    return this.byKey(match[1]!);
  }

  /**
   * For the drop-in endpoints, whose callers (alerting tools, scripts) cannot always set a header: the key as a Bearer
   * token, as the password of Basic auth, or as `?key=`.
   */
  authenticateDropIn(header: string | undefined, queryKey: string | undefined): Caller {
    const basic = /^Basic\s+(\S+)$/i.exec(header ?? '');
    if (basic) {
      const decoded = Buffer.from(basic[1]!, 'base64').toString('utf8');
      return this.byKey(decoded.slice(decoded.indexOf(':') + 1));
    }
    if (!header && queryKey) return this.byKey(queryKey);
    try {
      return this.authenticate(header);
    } catch (err) {
      if (!header) throw new RequestError(401, 'unauthorized', undefined, 'missing API key: send it as "Authorization: Bearer <key>", as the password of Basic auth, or as ?key=');
      throw err;
    }
  }

  private byKey(key: string): Caller {
    const given = Buffer.from(key);
    for (const k of this.keys) {
      const expected = Buffer.from(k.key);
      if (expected.length === given.length && timingSafeEqual(expected, given)) return { name: k.name, limits: k, sandbox: false };
    }
    throw new RequestError(401, 'unauthorized', undefined, 'invalid API key');
  }

  /** Whether the caller may see and act on what `owner` sent. */
  static owns(caller: Caller, owner: string): boolean {
    return caller.sandbox || caller.name === owner;
  }
}
