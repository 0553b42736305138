import { type ChannelModel, type ConfirmChannel, connect } from 'amqplib';
import type { Logger } from '../observability/logger.js';

/** Where a link stands: `connected` once its channel is set up, `connecting` while it (re)tries, `closed` after close(). */
export type LinkState = 'connecting' | 'connected' | 'closed';

/** Host, port and vhost only: an AMQP URL may carry a password. */
export function amqpAddress(url: string): string {
  try {
    const u = new URL(url);
    return `${u.hostname}:${u.port || (u.protocol === 'amqps:' ? '5671' : '5672')}${u.pathname && u.pathname !== '/' ? u.pathname : ''}`;
  } catch {
    return 'amqp';
  }
}

const BACKOFF_BASE_MS = 200;
const BACKOFF_MAX_MS = 5_000;

/**
 * One connection and one confirm channel to RabbitMQ, kept up: a connection refused at start, or lost later (broker
 * restart, network), is tried again with doubling backoff, for as long as the gateway runs. Each time the channel is
 * up, `setup` declares what it needs and starts its work on it; RabbitMQ being away never stops a start.
 */
export class AmqpLink {
  private model: ChannelModel | null = null;
  private channel: ConfirmChannel | null = null;
  private current: LinkState = 'connecting';
  private timer: NodeJS.Timeout | null = null;
  private failures = 0;
  private waiters: (() => void)[] = [];

  constructor(
    private readonly url: string,
    /** What the link is for, in logs (ingest, events). */
    private readonly role: string,
    private readonly log: Logger,
    private readonly setup: (channel: ConfirmChannel) => Promise<void>,
  ) {}

  start(): void {
    void this.attempt();
  }

  state(): LinkState {
    return this.current;
  }

  /** The channel while connected, else null. */
  connected(): ConfirmChannel | null {
    return this.current === 'connected' ? this.channel : null;
  }

  /** Resolves once connected, or after `ms`, or at close (whichever comes first). */
  ready(ms: number): Promise<void> {
    if (this.current !== 'connecting') return Promise.resolve();
    return new Promise((resolve) => {
      const t = setTimeout(resolve, ms);
      this.waiters.push(() => {
        clearTimeout(t);
        resolve();
      });
    });
  }

  async close(): Promise<void> {
    if (this.current === 'closed') return;
    this.current = 'closed';
    if (this.timer) clearTimeout(this.timer);
    this.wakeWaiters();
    const model = this.model;
    this.model = null;
    this.channel = null;
    // Closing the connection returns every message it had not acknowledged to its queue.
    await model?.close().catch(() => {});
  }

  private async attempt(): Promise<void> {
    this.timer = null;
    if (this.current === 'closed') return;
    let model: ChannelModel | null = null;
    try {
      model = await connect(this.url, { timeout: 3_000 });
      if (this.closed()) {
        await model.close().catch(() => {});
        return;
      }
      // A connection 'error' is followed by 'close'; listening keeps it from being thrown as an unhandled event.
      model.on('error', (err: Error) => this.log.warn({ role: this.role, err: err.message }, 'RabbitMQ connection error'));
      model.on('close', () => this.lost(model!, 'connection closed'));
      const channel = await model.createConfirmChannel();
      channel.on('error', (err: Error) => this.log.warn({ role: this.role, err: err.message }, 'RabbitMQ channel error'));
      // A channel closed by the broker (a declaration it refused, a bad ack) takes the connection down with it, so
      // that the next attempt starts clean.
      channel.on('close', () => this.lost(model!, 'channel closed'));
      this.model = model;
      this.channel = channel;
      await this.setup(channel);
      this.current = 'connected';
      this.failures = 0;
      this.wakeWaiters();
      this.log.info({ role: this.role, broker: amqpAddress(this.url) }, 'RabbitMQ connected');
    } catch (err) {
      this.channel = null;
      this.model = null;
      await model?.close().catch(() => {});
      if (this.closed()) return;
      this.current = 'connecting';
      this.retryLater((err as { code?: string }).code ?? (err as Error).message);
    }
  }

  /** A method, so the compiler reads the state again after an await (close() may have run meanwhile). */
  private closed(): boolean {
    return this.current === 'closed';
  }

  private lost(model: ChannelModel, why: string): void {
    if (this.model !== model || this.current === 'closed') return;
    this.model = null;
    this.channel = null;
    this.current = 'connecting';
    void model.close().catch(() => {});
    this.retryLater(why);
  }

  private retryLater(why: string): void {
    if (this.timer || this.current === 'closed') return;
    const delay = Math.min(BACKOFF_MAX_MS, BACKOFF_BASE_MS * 2 ** this.failures) * (0.75 + Math.random() * 0.5);
    this.failures = Math.min(this.failures + 1, 10);
    this.log.warn({ role: this.role, broker: amqpAddress(this.url), why, retryInMs: Math.round(delay) }, 'RabbitMQ unreachable; trying again');
    this.timer = setTimeout(() => void this.attempt(), delay);
  }

  private wakeWaiters(): void {
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }
}
