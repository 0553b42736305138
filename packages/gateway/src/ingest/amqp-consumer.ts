import { createHash } from 'node:crypto';
import type { ConfirmChannel, ConsumeMessage } from 'amqplib';
import type { ApiKeyConfig, Config } from '../config/schema.js';
import type { Runtime } from '../dispatch/runtime.js';
import { type AmqpLink, AmqpLink as Link, type LinkState } from '../net/amqp-link.js';
import { acceptNotification } from '../notifications/accept.js';
import { RequestError } from '../notifications/errors.js';
import { notificationRequestOf } from '../notifications/submission.js';
import { refusedByStore } from '../store/refusal.js';
import type { Templates } from '../templates/engine.js';

/** The header a dead-lettered message carries its reason in (`<code>: <field>: <rule>`). */
export const ERROR_HEADER = 'x-dingpush-error';
/** How long a message waits before it goes back to the queue when the store could not take it. */
const STORE_RETRY_MS = 1_000;
/** Longest reason kept in the header (a header table is limited in size). */
const MAX_REASON = 1_000;
const MAX_IDEMPOTENCY_KEY = 200;

/** Whom consumed notifications belong to: `owner`, else the first configured key; the sandbox when there is none. */
export function ingestOwner(config: Config): { name: string; limits?: ApiKeyConfig; sandbox: boolean } {
  const name = config.ingest.amqp?.owner;
  const key = name === undefined ? config.apiKeys[0] : config.apiKeys.find((k) => k.name === name);
  return key ? { name: key.name, limits: key, sandbox: false } : { name: 'sandbox', sandbox: true };
}

/**
 * The idempotency key of a message whose body has none: its AMQP messageId, so that a redelivery (a consumer that died
 * before its ack, a connection lost after the commit) is the same notification. A messageId too long for a key is
 * hashed. A message with neither is accepted as it is: a redelivery of it is a second notification.
 */
export function messageKey(messageId: string): string {
  const key = `amqp:${messageId}`;
  return key.length <= MAX_IDEMPOTENCY_KEY ? key : `amqp:sha256:${createHash('sha256').update(messageId).digest('hex')}`;
}

type Verdict = { outcome: 'stored' | 'replayed' } | { outcome: 'dead'; reason: string } | { outcome: 'retry'; reason: string };

/**
 * Consumes `ingest.amqp.queue`: each message is the body of POST /v1/notifications, judged and accepted by the same
 * steps, and acknowledged only once its notification's transaction has committed. A message that can never be
 * accepted (not JSON, too large, invalid, an idempotency conflict) is published to `<queue>.dead` with its reason in
 * the `x-dingpush-error` header, confirmed, and only then acknowledged: it is never requeued, so it can neither loop
 * nor block the queue. A store that cannot write makes the message wait a moment and go back to the queue.
 * Any number of instances may consume the same queue.
 */
export class AmqpConsumer {
  private readonly link: AmqpLink;
  private readonly queue: string;
  private readonly dead: string;
  private consumer: { channel: ConfirmChannel; tag: string } | null = null;
  private readonly inFlight = new Set<Promise<void>>();
  private stopping = false;

  constructor(
    private readonly rt: Runtime,
    private readonly templates: Templates,
    private readonly owner: { name: string; limits?: ApiKeyConfig; sandbox: boolean },
  ) {
    const cfg = rt.config.ingest.amqp!;
    this.queue = cfg.queue;
    this.dead = `${cfg.queue}.dead`;
    this.link = new Link(cfg.url, 'ingest', rt.log, (ch) => this.setup(ch, cfg.prefetch));
  }

  start(): void {
    this.link.start();
  }

  state(): LinkState {
    return this.link.state();
  }

  /** Resolves once consuming, or after `ms`. */
  ready(ms: number): Promise<void> {
    return this.link.ready(ms);
  }

  /**
   * Stops taking messages: the consumer is cancelled (the broker sends no more), messages being stored finish and are
   * acknowledged (for at most `graceMs`), and closing the channel returns every unacknowledged one to the queue.
   */
  async stop(graceMs: number): Promise<void> {
    this.stopping = true;
    const c = this.consumer;
    this.consumer = null;
    if (c) await c.channel.cancel(c.tag).catch(() => {});
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([Promise.allSettled([...this.inFlight]), new Promise((r) => (timer = setTimeout(r, graceMs)))]);
    clearTimeout(timer);
    await this.link.close();
  }

  private async setup(channel: ConfirmChannel, prefetch: number): Promise<void> {
    await channel.assertQueue(this.dead, { durable: true });
    await channel.assertQueue(this.queue, { durable: true });
    await channel.prefetch(prefetch);
    if (this.stopping) return;
    const { consumerTag } = await channel.consume(this.queue, (msg) => this.onMessage(channel, msg), { noAck: false });
    this.consumer = { channel, tag: consumerTag };
  }

  private onMessage(channel: ConfirmChannel, msg: ConsumeMessage | null): void {
    // null: the broker cancelled the consumer (the queue was deleted); closing the channel makes the link start over.
    if (!msg) {
      this.rt.log.warn({ queue: this.queue }, 'RabbitMQ cancelled the ingest consumer; reconnecting');
      void channel.close().catch(() => {});
      return;
    }
    const p = this.handle(channel, msg)
      .catch((err) => this.rt.log.error({ err, queue: this.queue }, 'handling a queue message failed; it returns to the queue when the channel closes'))
      .finally(() => this.inFlight.delete(p));
    this.inFlight.add(p);
  }

  private async handle(channel: ConfirmChannel, msg: ConsumeMessage): Promise<void> {
    const verdict = await this.judge(msg);
    // Counted once done, not when judged: a dead letter counted is one already in <queue>.dead.
    const done = () => this.rt.metrics.ingested.inc({ outcome: verdict.outcome });
    if (verdict.outcome === 'dead') {
      this.rt.log.warn({ queue: this.queue, messageId: msg.properties.messageId, reason: verdict.reason }, 'queue message dead-lettered');
      await this.deadLetter(channel, msg, verdict.reason);
      channel.ack(msg);
      return done();
    }
    if (verdict.outcome === 'retry') {
      this.rt.log.warn({ queue: this.queue, reason: verdict.reason }, 'the store cannot take a queue message; it goes back to the queue');
      // It waits here (holding a prefetch slot, which slows the consumer while the store is away), then goes back.
      if (!this.stopping) await new Promise((r) => setTimeout(r, STORE_RETRY_MS));
      channel.nack(msg, false, true);
      return done();
    }
    // Stored (committed) or already stored: only now is it acknowledged.
    channel.ack(msg);
    done();
  }

  /** What becomes of a message: everything HTTP would refuse with a 4xx is dead, a failing store is a retry. */
  private async judge(msg: ConsumeMessage): Promise<Verdict> {
    const limit = this.rt.config.server.bodyLimitBytes;
    if (msg.content.length > limit) return { outcome: 'dead', reason: `payload_too_large: the message is larger than ${limit} bytes (server.bodyLimitBytes)` };
    let body: unknown;
    try {
      body = JSON.parse(msg.content.toString('utf8'));
    } catch (err) {
      return { outcome: 'dead', reason: `invalid_json: the message is not valid JSON: ${(err as Error).message}` };
    }
    const messageId = msg.properties.messageId as string | undefined;
    if (typeof body === 'object' && body !== null && !Array.isArray(body) && messageId && (body as { idempotencyKey?: unknown }).idempotencyKey === undefined)
      (body as { idempotencyKey?: string }).idempotencyKey = messageKey(String(messageId));
    try {
      const request = await notificationRequestOf(this.templates, body, this.owner);
      const result = await acceptNotification(this.rt, request, this.owner, this.rt.now());
      if (result.outcome === 'conflict') return { outcome: 'dead', reason: 'idempotency_conflict: idempotencyKey: this idempotency key was used with a different request' };
      if (result.outcome === 'replayed') return { outcome: 'replayed' };
      this.rt.metrics.accepted.inc();
      if (result.dueNow) this.rt.wake();
      return { outcome: 'stored' };
    } catch (err) {
      // A value the store can never hold is the message's fault: tried again, it would loop forever.
      const refused = refusedByStore(err);
      if (refused) return { outcome: 'dead', reason: `store_refused: ${refused}` };
      // Anything else is not the message's fault: it is tried again rather than thrown away.
      if (!(err instanceof RequestError)) return { outcome: 'retry', reason: (err as { code?: string }).code ?? (err as Error).message };
      return { outcome: 'dead', reason: [err.code, err.path, err.message].filter(Boolean).join(': ') };
    }
  }

  /** Publishes the message as it came to `<queue>.dead`, its reason in a header, and waits for the broker's confirm. */
  private async deadLetter(channel: ConfirmChannel, msg: ConsumeMessage, reason: string): Promise<void> {
    // Declared again each time (dead letters are rare): a message sent to a queue someone deleted since the connection
    // was set up is confirmed by the broker and routed nowhere, and would be acknowledged, lost.
    await channel.assertQueue(this.dead, { durable: true });
    const p = msg.properties;
    const headers = { ...(p.headers ?? {}), [ERROR_HEADER]: reason.slice(0, MAX_REASON), 'x-dingpush-queue': this.queue };
    return new Promise((resolve, reject) => {
      channel.sendToQueue(
        this.dead,
        msg.content,
        {
          persistent: true,
          headers,
          ...(p.messageId ? { messageId: p.messageId } : {}),
          ...(p.contentType ? { contentType: p.contentType } : {}),
          ...(p.correlationId ? { correlationId: p.correlationId } : {}),
        },
        (err) => (err ? reject(err) : resolve()),
      );
    });
  }
}
