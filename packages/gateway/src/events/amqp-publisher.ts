import type { ConfirmChannel } from 'amqplib';
import type { Config } from '../config/schema.js';
import type { EventBus } from '../dispatch/runtime.js';
import { AmqpLink, type LinkState } from '../net/amqp-link.js';
import type { Logger } from '../observability/logger.js';

/** A confirm that has not come by then counts as not published (the event is tried again, with the same id). */
const CONFIRM_TIMEOUT_MS = 10_000;

/** The bus is away: nothing was published; the outbox keeps the event and tries again. */
export class BusUnavailable extends Error {
  override name = 'BusUnavailable';
}

/**
 * Publishes status events to `events.amqp.exchange`, a durable topic exchange declared at each (re)connection:
 * persistent, routing key = the event's type (`notification.<status>`), messageId = its event id, each one confirmed
 * by the broker before the outbox marks it published. A confirm lost with a connection means the event goes again with
 * the same messageId: consumers see each change at least once and can tell a repeat.
 */
export class AmqpPublisher implements EventBus {
  private readonly link: AmqpLink;
  private readonly exchange: string;

  constructor(config: NonNullable<Config['events']['amqp']>, log: Logger) {
    this.exchange = config.exchange;
    this.link = new AmqpLink(config.url, 'events', log, async (ch: ConfirmChannel) => {
      await ch.assertExchange(this.exchange, 'topic', { durable: true });
    });
  }

  start(): void {
    this.link.start();
  }

  state(): LinkState {
    return this.link.state();
  }

  ready(ms: number): Promise<void> {
    return this.link.ready(ms);
  }

  close(): Promise<void> {
    return this.link.close();
  }

  publish(type: string, eventId: string, body: string): Promise<void> {
    const channel = this.link.connected();
    if (!channel) return Promise.reject(new BusUnavailable(`not connected to RabbitMQ (${this.link.state()})`));
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new BusUnavailable(`no confirm from RabbitMQ within ${CONFIRM_TIMEOUT_MS} ms`)), CONFIRM_TIMEOUT_MS);
      try {
        channel.publish(
          this.exchange,
          type,
          Buffer.from(body),
          { persistent: true, messageId: eventId, contentType: 'application/json', type, timestamp: Math.floor(Date.now() / 1000) },
          (err) => {
            clearTimeout(timer);
            if (err) reject(new BusUnavailable(`RabbitMQ did not take the event: ${(err as Error).message ?? String(err)}`));
            else resolve();
          },
        );
      } catch (err) {
        // A channel that closed a moment ago throws rather than calling back.
        clearTimeout(timer);
        reject(new BusUnavailable((err as Error).message));
      }
    });
  }
}
