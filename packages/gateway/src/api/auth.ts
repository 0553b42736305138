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
    const given = Buffer.from(match[1]!);
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
