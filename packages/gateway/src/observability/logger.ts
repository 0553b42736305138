import pino, { type Logger } from 'pino';

/** Every place a secret could sit in a logged object; pino replaces them before anything is written. */
export const REDACT_PATHS = [
  'appSecret',
  '*.appSecret',
  'secret',
  '*.secret',
  'key',
  '*.key',
  'callbackSecret',
  '*.callbackSecret',
  'accessToken',
  '*.accessToken',
  'access_token',
  '*.access_token',
  'webhook',
  '*.webhook',
  'authorization',
  'req.headers.authorization',
  'headers.authorization',
  'req.headers["x-acs-dingtalk-access-token"]',
];

export function createLogger(level: string, destination?: NodeJS.WritableStream): Logger {
  return pino({ level, redact: { paths: REDACT_PATHS, censor: '[redacted]' }, base: { service: 'dingpush' } }, destination as never);
}

export type { Logger };
