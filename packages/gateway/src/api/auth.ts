import { timingSafeEqual } from 'node:crypto';
import type { ApiKeyConfig } from '../config/schema.js';
import { RequestError } from '../notifications/errors.js';

export interface Caller {
  name: string;
  /**
   * True only for a request without a key to a gateway in sandbox mode (no apps or robots configured): it sees every
   * notification. Sandbox is a mode of the gateway, not a key: a configured key named "sandbox" is an ordinary key.
   */
  sandbox: boolean;
  limits?: ApiKeyConfig;
}

/** Bearer API keys, compared in constant time. In sandbox mode a request without a key acts as "sandbox". */
export class ApiKeys {
  constructor(
    private readonly keys: ApiKeyConfig[],
    private readonly sandbox: boolean,
  ) {}

  authenticate(header: string | undefined): Caller {
    const match = /^Bearer\s+(\S+)$/i.exec(header ?? '');
    if (!match) {
      if (this.sandbox && !header) return { name: 'sandbox', sandbox: true };
      throw new RequestError(401, 'unauthorized', undefined, 'missing API key: send "Authorization: Bearer <key>"');
    }
    const given = Buffer.from(match[1]!);
    for (const k of this.keys) {
      const expected = Buffer.from(k.key);
      if (expected.length === given.length && timingSafeEqual(expected, given)) return { name: k.name, sandbox: false, limits: k };
    }
    throw new RequestError(401, 'unauthorized', undefined, 'invalid API key');
  }

  valueOf(name: string): string | undefined {
    return this.keys.find((k) => k.name === name)?.key;
  }
}
