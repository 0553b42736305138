import { randomUUID } from 'node:crypto';
import { Transport } from './http.js';
import { type Mentions, type RobotBody, toRobotBody } from './messages/render.js';
import type { Message } from './messages/schemas.js';
import { readOapi } from './oapi-call.js';
import { DEFAULT_RETRY, type RetryPolicy, withRetry } from './retry.js';
import { signedWebhookUrl } from './signing.js';

export interface RobotOptions {
  /** https://oapi.dingtalk.com/robot/send?access_token=… */
  webhook: string;
  /** The signing secret (SEC…), when the robot uses signing. */
  secret?: string;
  timeoutMs?: number;
  retry?: Partial<RetryPolicy>;
  transport?: Transport;
  now?: () => number;
  /** Awaited before every request (see ClientOptions.beforeCall): where a caller paces the robot's 20 a minute. */
  beforeCall?: (api: string) => Promise<void>;
}

export interface RobotSendOptions {
  mentions?: Mentions;
  /** Idempotency key; one is generated per send() so retries after a lost answer never post twice. */
  msgUuid?: string;
}

/** A custom group robot (webhook). Keywords are the caller's to include; signing, mentions and msgUuid are done here. */
export class RobotClient {
  private readonly transport: Transport;
  private readonly ownsTransport: boolean;
  private readonly retry: RetryPolicy;
  private readonly now: () => number;

  constructor(private readonly opts: RobotOptions) {
    const url = new URL(opts.webhook);
    if (!url.searchParams.get('access_token')) throw new TypeError('webhook: expected a URL with ?access_token=');
    this.ownsTransport = !opts.transport;
    this.transport = opts.transport ?? new Transport(opts.timeoutMs ? { timeoutMs: opts.timeoutMs } : {});
    this.retry = { ...DEFAULT_RETRY, ...opts.retry };
    this.now = opts.now ?? Date.now;
  }

  /** Sends a dingpush message (rendered for robots) or a raw webhook body. */
  async send(message: Message | RobotBody, opts: RobotSendOptions = {}): Promise<void> {
    const body: RobotBody = 'msgtype' in message ? { ...message } : toRobotBody(message, opts.mentions);
    body.msgUuid = opts.msgUuid ?? body.msgUuid ?? randomUUID();
    const payload = JSON.stringify(body);
    await withRetry(
      async () => {
        // A fresh timestamp (and signature) each attempt: DingTalk refuses ones more than an hour off.
        await this.opts.beforeCall?.('/robot/send');
        const url = this.opts.secret ? signedWebhookUrl(this.opts.webhook, this.opts.secret, this.now()) : this.opts.webhook;
        const res = await this.transport.send('/robot/send', url, {
          method: 'POST',
          headers: { 'content-type': 'application/json; charset=utf-8' },
          body: payload,
        });
        readOapi('/robot/send', res);
      },
      this.retry,
      true,
    );
  }

  async close(): Promise<void> {
    if (this.ownsTransport) await this.transport.close();
  }
}
