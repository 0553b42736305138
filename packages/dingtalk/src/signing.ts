import { createHmac } from 'node:crypto';

/** Custom-robot signature (shared/dingtalk-api.md §6.2): Base64(HMAC-SHA256(secret, `${timestamp}\n${secret}`)). */
export function robotSignature(secret: string, timestampMs: number | string): string {
  return createHmac('sha256', secret).update(`${timestampMs}\n${secret}`).digest('base64');
}

/** The webhook URL with `timestamp` and `sign` added, `sign` URL-encoded exactly once. */
export function signedWebhookUrl(webhook: string, secret: string, timestampMs: number): string {
  const url = new URL(webhook);
  url.searchParams.set('timestamp', String(timestampMs));
  url.searchParams.set('sign', robotSignature(secret, timestampMs));
  return url.toString();
}
