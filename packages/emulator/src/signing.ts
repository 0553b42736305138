import { createHmac, timingSafeEqual } from 'node:crypto';

/** The custom-robot signature (shared/dingtalk-api.md §6.2): Base64(HMAC-SHA256(secret, timestamp + "\n" + secret)). */
export function robotSign(secret: string, timestamp: string): string {
  return createHmac('sha256', secret).update(`${timestamp}\n${secret}`).digest('base64');
}

function safeDecode(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}

/**
 * `sign` as received has been URL-decoded once by the query parser. DingTalk appears tolerant (§0.4): a value
 * encoded twice is accepted after a second decode, and a '+' that became ' ' is restored.
 */
export function signMatches(secret: string, timestamp: string, received: string): boolean {
  const expected = Buffer.from(robotSign(secret, timestamp));
  const candidates = [received, safeDecode(received)].map((c) => c.replace(/ /g, '+'));
  return candidates.some((c) => {
    const got = Buffer.from(c);
    return got.length === expected.length && timingSafeEqual(got, expected);
  });
}

/** IPv4 address or CIDR match, for robot IP whitelists. */
export function ipAllowed(ip: string, whitelist: string[]): boolean {
  const v4 = ip.replace(/^::ffff:/, '');
  const toInt = (a: string) => a.split('.').reduce((acc, o) => (acc << 8) + Number(o), 0) >>> 0;
  if (!/^\d+\.\d+\.\d+\.\d+$/.test(v4)) return false;
  return whitelist.some((entry) => {
    const [net, bitsText] = entry.split('/');
    const bits = bitsText === undefined ? 32 : Number(bitsText);
    const mask = bits === 0 ? 0 : (~0 << (32 - bits)) >>> 0;
    return ((toInt(v4) & mask) >>> 0) === ((toInt(net!) & mask) >>> 0);
  });
}
