import { timingSafeEqual } from 'node:crypto';
import type { ApiKeyConfig } from '../config/schema.js';
import type { FastifyRequest } from 'fastify';
import { refuseDropInKey } from '../notifications/app-choice.js';
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
  /** send: sends and acts on what it sent; read: reads everything, acts on nothing (apiKeys[].scope). */
  scope: 'send' | 'read';
}

/** What a request does: reading answers what is stored; sending also covers recall, retry, resend, uploads, syncs. */
export type Access = 'read' | 'send';

/** Bearer API keys, compared in constant time. In sandbox mode a request without a key acts as the sandbox. */
export class ApiKeys {
  constructor(
    private readonly keys: ApiKeyConfig[],
    private readonly sandboxMode: boolean,
  ) {}

  authenticate(header: string | undefined, access: Access = 'send'): Caller {
    const match = /^Bearer\s+(\S+)$/i.exec(header ?? '');
    if (!match) {
      if (this.sandboxMode && !header) return { name: 'sandbox', sandbox: true, scope: 'send' };
      throw new RequestError(401, 'unauthorized', undefined, 'missing API key: send "Authorization: Bearer <key>"');
    }
    return permitted(this.byKey(match[1]!), access);
  }

  /**
   * For the drop-in endpoints, whose callers (alerting tools, scripts) cannot always set a header: the key as a Bearer
   * token, as the password of Basic auth, or as `?key=`.
   */
  authenticateDropIn(header: string | undefined, queryKey: string | undefined): Caller {
    const basic = /^Basic\s+(\S+)$/i.exec(header ?? '');
    if (basic) {
      const decoded = Buffer.from(basic[1]!, 'base64').toString('utf8');
      return permitted(this.byKey(decoded.slice(decoded.indexOf(':') + 1)), 'send');
    }
    if (!header && queryKey) return permitted(this.byKey(queryKey), 'send');
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
      if (expected.length === given.length && timingSafeEqual(expected, given)) return { name: k.name, limits: k, sandbox: false, scope: k.scope ?? 'send' };
    }
    throw new RequestError(401, 'unauthorized', undefined, 'invalid API key');
  }

  /** Whether the caller may see and act on what `owner` sent. */
  static owns(caller: Caller, owner: string): boolean {
    return caller.sandbox || caller.scope === 'read' || caller.name === owner;
  }

  /** The owner a caller's lists are limited to; undefined: it sees every owner's (sandbox, or a read key). */
  static ownerOf(caller: Caller): string | undefined {
    return caller.sandbox || caller.scope === 'read' ? undefined : caller.name;
  }
}

/** A read key is refused anything but reading, with a 403 that names its scope. */
function permitted(caller: Caller, access: Access): Caller {
  if (access === 'send' && caller.scope === 'read')
    throw new RequestError(403, 'forbidden', 'scope', `API key "${caller.name}" has scope read: it may read, never send, recall, retry or resend`);
  return caller;
}

/**
 * The onRequest hooks of the /v1 routes that only a key for the whole API may use (media, directory): `sending` for
 * those that change something, `reading` for those a read-only key may use too. A key limited to drop-in targets may
 * use neither.
 */
export function apiKeyHooks(keys: ApiKeys): Record<'sending' | 'reading', (req: FastifyRequest) => Promise<void>> {
  const hook = (access: Access) => async (req: FastifyRequest) => {
    req.sender = keys.authenticate(req.headers.authorization, access);
    refuseDropInKey(req.sender.limits);
  };
  return { sending: hook('send'), reading: hook('read') };
}
