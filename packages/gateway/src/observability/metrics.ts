import type { CallInfo } from '@dingpush/dingtalk';
import { Counter, Gauge, Histogram, Registry } from 'prom-client';

/** Prometheus metrics: what was accepted, what happened to each delivery, the queue, and DingTalk's latency and errors. */
export class Metrics {
  readonly registry = new Registry();
  readonly accepted = new Counter({ name: 'dingpush_notifications_accepted_total', help: 'Notifications accepted (stored)', registers: [this.registry] });
  readonly outcomes = new Counter({
    name: 'dingpush_deliveries_total',
    help: 'Per-recipient outcomes, by channel and status (sent, read, unread, throttled, invalid, failed, recalled)',
    labelNames: ['channel', 'status'],
    registers: [this.registry],
  });
  readonly dingtalkLatency = new Histogram({
    name: 'dingpush_dingtalk_request_duration_seconds',
    help: 'DingTalk API latency by API path',
    labelNames: ['api'],
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [this.registry],
  });
  readonly dingtalkErrors = new Counter({
    name: 'dingpush_dingtalk_errors_total',
    help: 'DingTalk API failures by path and errcode / code',
    labelNames: ['api', 'code'],
    registers: [this.registry],
  });
  readonly queueDepth: Gauge;
  readonly queueAge: Gauge;
  readonly deadLetters: Gauge;

  constructor(queueStats: () => Promise<{ depth: number; oldestAgeMs: number; dead: number }>) {
    let last: Promise<{ depth: number; oldestAgeMs: number; dead: number }> | undefined;
    const stats = () => (last ??= queueStats().finally(() => setTimeout(() => (last = undefined), 0)));
    this.queueDepth = new Gauge({
      name: 'dingpush_queue_depth',
      help: 'Send jobs waiting or in flight',
      registers: [this.registry],
      async collect() {
        this.set((await stats()).depth);
      },
    });
    this.deadLetters = new Gauge({
      name: 'dingpush_dead_letters',
      help: 'Jobs that gave up and wait for an operator (POST /v1/notifications/:id/retry)',
      registers: [this.registry],
      async collect() {
        this.set((await stats()).dead);
      },
    });
    this.queueAge = new Gauge({
      name: 'dingpush_queue_oldest_age_seconds',
      help: 'Age of the oldest send job not yet done',
      registers: [this.registry],
      async collect() {
        this.set((await stats()).oldestAgeMs / 1000);
      },
    });
  }

  /**
   * What this instance holds: the jobs its dispatcher runs under a lease now, and whether it works degraded (a shared
   * service away) — per instance, where the queue gauges above are the store's, the same on every instance.
   */
  watchInstance(held: () => number, degraded: () => string | null): void {
    new Gauge({
      name: 'dingpush_jobs_held',
      help: 'Jobs this instance runs under a lease now',
      registers: [this.registry],
      collect() {
        this.set(held());
      },
    });
    new Gauge({
      name: 'dingpush_degraded',
      help: '1 while this instance claims nothing because a shared service (Redis) is away; /readyz says why',
      registers: [this.registry],
      collect() {
        this.set(degraded() ? 1 : 0);
      },
    });
  }

  /** Queue messages consumed (ingest.amqp), by what became of them: stored, replayed (a redelivery), dead, retry. */
  readonly ingested = new Counter({
    name: 'dingpush_amqp_ingest_total',
    help: 'Queue messages consumed from ingest.amqp, by outcome (stored, replayed, dead, retry)',
    labelNames: ['outcome'],
    registers: [this.registry],
  });
  /** Events published to events.amqp (confirmed by RabbitMQ). */
  readonly published = new Counter({ name: 'dingpush_amqp_events_published_total', help: 'Status events published to events.amqp and confirmed', registers: [this.registry] });

  /** Whether each RabbitMQ link of this instance (ingest, events) is up: 1 connected, 0 connecting. */
  watchLinks(links: () => Record<string, string>): void {
    new Gauge({
      name: 'dingpush_amqp_connected',
      help: '1 while this instance is connected to RabbitMQ for the link (ingest, events); 0 while it reconnects',
      labelNames: ['link'],
      registers: [this.registry],
      collect() {
        for (const [link, state] of Object.entries(links())) this.set({ link }, state === 'connected' ? 1 : 0);
      },
    });
  }

  /** The client's onCall hook: latency for every call, and an error count when DingTalk said no. */
  observeCall = (info: CallInfo): void => {
    this.dingtalkLatency.observe({ api: info.api }, info.durationMs / 1000);
    if (info.code !== undefined && info.code !== 0) this.dingtalkErrors.inc({ api: info.api, code: String(info.code) });
  };
}
