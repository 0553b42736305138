import { createHmac, timingSafeEqual } from 'node:crypto';

/** Callback signing (shared/design.md, "Events and callbacks"): what a receiver needs, and nothing of the server. */

export const SIGNATURE_HEADER = 'x-dingpush-signature';
export const EVENT_ID_HEADER = 'x-dingpush-event-id';

/**
 * The secret that signs an API key's callbacks when the configuration gives it none: derived from the key, distinct
 * from it and not reversible, so a receiver holds this secret, never a credential that can send.
 */
export function callbackSecretFor(apiKey: string): string {
  return `whsec_${createHmac('sha256', apiKey).update('dingpush callback signing v1').digest('hex')}`;
}

/** `t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>`. */
export function signCallback(secret: string, unixSeconds: number, body: string): string {
  return `t=${unixSeconds},v1=${createHmac('sha256', secret).update(`${unixSeconds}.${body}`).digest('hex')}`;
}

/**
 * Checks a callback's signature header against the raw body: the HMAC matches and `t` is within `toleranceSec` of
 * now (a replayed old callback is refused). Answers why not, or null when it is good.
 */
export function verifyCallback(secret: string, header: string | undefined, body: string, opts: { toleranceSec?: number; now?: number } = {}): string | null {
  const m = /^t=(\d+),v1=([0-9a-f]{64})$/.exec(header ?? '');
  if (!m) return 'missing or malformed signature header';
  const t = Number(m[1]);
  const now = Math.floor((opts.now ?? Date.now()) / 1000);
  if (Math.abs(now - t) > (opts.toleranceSec ?? 300)) return 'signature timestamp is too old or in the future';
  const expected = Buffer.from(signCallback(secret, t, body).split('v1=')[1]!, 'hex');
  const given = Buffer.from(m[2]!, 'hex');
  return expected.length === given.length && timingSafeEqual(expected, given) ? null : 'signature does not match';
}
