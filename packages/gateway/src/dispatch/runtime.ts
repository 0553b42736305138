import type { DingTalkApp, RobotClient } from '@dingpush/dingtalk';
import type { Config } from '../config/schema.js';
import type { Logger } from '../observability/logger.js';
import type { OutboundHttp } from '../net/outbound.js';
import type { Metrics } from '../observability/metrics.js';
import type { Store } from '../store/types.js';
import type { DueJob } from '../domain/jobs.js';
import type { DestinationGates } from './gates.js';
import type { PacingWindows } from './pacer.js';
import type { Quotas } from './quotas.js';

/** A configured app: its client and its name in the configuration. */
export interface AppHandle {
  name: string;
  client: DingTalkApp;
  /** Identifies the app at DingTalk (its AppKey): quotas are the app's, whatever the configuration calls it. */
  appKey: string;
}

export interface RobotHandle {
  name: string;
  client: RobotClient;
  /** Its quota key is derived from the webhook (never stored or printed as such). */
  webhook: string;
}

/** What a handler is given besides the runtime. */
export interface JobContext {
  rt: Runtime;
  /** Aborted when the job's lease was lost: nothing more may be sent for it. */
  signal: AbortSignal;
}

/** What the dispatcher's handlers work with. */
/** Where status events are published (events.amqp); the dispatcher knows it only by this. */
export interface EventBus {
  /** Resolves once the broker confirmed the event (routing key = its type, messageId = its id); rejects otherwise. */
  publish(type: string, eventId: string, body: string): Promise<void>;
}

export interface Runtime {
  config: Config;
  store: Store;
  apps: Map<string, AppHandle>;
  robots: Map<string, RobotHandle>;
  pacer: PacingWindows;
  /** Destinations whose backlog holds their slots far ahead: their new jobs wait unclaimed (see gates.ts). */
  gates: DestinationGates;
  quotas: Quotas;
  metrics: Metrics;
  log: Logger;
  now(): number;
  /**
   * Asks the dispatcher to look for due jobs now (new work was stored). With the new jobs given, a look that could
   * only find jobs of gated destinations is skipped.
   */
  wake(due?: readonly DueJob[]): void;
  /** HTTP to addresses senders chose (callbacks), under the address policy. */
  outbound: OutboundHttp;
  /** Why this instance works degraded (a shared service it needs is away), or null: /readyz reports it. */
  degraded(): string | null;
  /** The secret that signs callbacks of notifications sent with this API key (undefined: the key is gone). */
  /** The events exchange (events.amqp), when configured. */
  bus?: EventBus;
  /** The state of each RabbitMQ link of this instance (ingest, events): connected or connecting. */
  links(): Record<string, string>;
  callbackSecret(keyName: string): string | undefined;
}
