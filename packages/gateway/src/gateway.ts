import { DingTalkApp, RobotClient, Transport } from '@dingpush/dingtalk';
import type { FastifyInstance } from 'fastify';
import { ApiKeys } from './api/auth.js';
import { RedisEpoch } from './cluster/redis-epoch.js';
import { openRedis, type RedisLink } from './cluster/redis-link.js';
import { RedisPacer } from './cluster/redis-pacing.js';
import { RedisTokenStore } from './cluster/token-store.js';
import { ClusterWakeups } from './cluster/wakeups.js';
import { buildServer } from './api/server.js';
import { ConfigError, NEEDS_API_KEY } from './config/load.js';
import { type Config, dingtalkProxyOf } from './config/schema.js';
import { DirectorySchedule } from './directory/schedule.js';
import { Dispatcher } from './dispatch/dispatcher.js';
import { DestinationGates } from './dispatch/gates.js';
import { AmqpPublisher } from './events/amqp-publisher.js';
import { AmqpConsumer, ingestOwner } from './ingest/amqp-consumer.js';
import { Pacer, type PacingWindows } from './dispatch/pacer.js';
import { pacedCalls } from './dispatch/pacing-context.js';
import { Quotas } from './dispatch/quotas.js';
import type { AppHandle, RobotHandle, Runtime } from './dispatch/runtime.js';
import { AllowList } from './net/address-policy.js';
import { OutboundHttp } from './net/outbound.js';
import { createLogger, type Logger } from './observability/logger.js';
import { Metrics } from './observability/metrics.js';
import { callbackSecretFor } from './sdk/signature.js';
import { openStore } from './store/index.js';
import type { Store } from './store/types.js';
import { Templates } from './templates/engine.js';

/** At shutdown: how long requests must stop coming, and at most how long to wait for that, before the server closes. */
const DRAIN_QUIET_MS = 200;
const DRAIN_MAX_MS = 2_000;
/** At shutdown: how long queue messages being stored may take to be acknowledged before their channel closes. */
const INGEST_GRACE_MS = 5_000;

export interface GatewayOptions {
  /** Sandbox mode: requests without a key are accepted, and see everything (there are no keys). */
  sandbox?: boolean;
  logger?: Logger;
  /** Expose POST /v1/noop (benchmarks). */
  noopEndpoint?: boolean;
  /** Run the dispatcher (default true); off for a process that only accepts. */
  dispatch?: boolean;
  /** The clock quotas and schedules are read from (tests move it forward together with the emulator's). */
  now?: () => number;
  /** How long a recall waits for DingTalk's answers before answering (default 10 s). */
  recallWaitMs?: number;
}

export interface RunningGateway {
  url: string;
  config: Config;
  store: Store;
  server: FastifyInstance;
  runtime: Runtime;
  dispatcher: Dispatcher;
  /** Graceful: refuse new requests (503), stop claiming, finish what is in flight, close the store. */
  close(): Promise<void>;
}

/** Composition root: store, DingTalk clients (paced), dispatcher and HTTP API. */
export async function startGateway(config: Config, opts: GatewayOptions = {}): Promise<RunningGateway> {
  if (!opts.sandbox && config.apiKeys.length === 0) throw new ConfigError(NEEDS_API_KEY);
  const log = opts.logger ?? createLogger(config.logLevel);
  const now = opts.now ?? Date.now;
  const store = await openStore(config.store);
  // Status events go to the bus from the outbox: from now on each one written is also pending for it.
  const publisher = config.events.amqp ? new AmqpPublisher(config.events.amqp, log) : null;
  if (publisher) store.publishEvents();
  const metrics = new Metrics(() => store.queueStats(Date.now()));
  // The configured proxy, else the environment's (HTTPS_PROXY / HTTP_PROXY / NO_PROXY); loopback never goes through one.
  const transport = new Transport({ timeoutMs: config.dingtalk.timeoutMs, onCall: metrics.observeCall, proxy: dingtalkProxyOf(config) });
  // Cluster mode (PostgreSQL and Redis): tokens, pacing windows and wake-ups are shared by every instance through
  // Redis. Per-user daily caps and same-content marks stay in the store (written with the send's start, which Redis
  // cannot join).
  const redis: RedisLink | null =
    'redis' in config.store && config.store.redis ? openRedis(config.store.redis, config.store.cluster ?? config.store.schema ?? 'dingpush', config.dingtalk.oapiBaseUrl, log) : null;
  const epoch = redis ? new RedisEpoch(redis, store, log, now) : null;
  const pacer: PacingWindows = redis && epoch ? new RedisPacer(redis, epoch) : new Pacer(store);
  const quotas = new Quotas(config.delivery);
  // The dispatcher owns retries (by rescheduling jobs), so the clients make one attempt each; every call they make
  // (token fetches and lookups too) takes a slot of its app's per-API quota first.
  const wakeups = redis ? new ClusterWakeups(redis, log) : null;
  const clientOpts = {
    oapiBaseUrl: config.dingtalk.oapiBaseUrl,
    apiBaseUrl: config.dingtalk.apiBaseUrl,
    transport,
    retry: { attempts: 1 },
    ...(redis ? { tokenStore: new RedisTokenStore(redis) } : {}),
  };
  const apps = new Map<string, AppHandle>(
    config.apps.map((a) => [
      a.name,
      {
        name: a.name,
        appKey: a.appKey,
        client: new DingTalkApp(
          { appKey: a.appKey, appSecret: a.appSecret, ...(a.agentId ? { agentId: a.agentId } : {}), ...(a.robotCode ? { robotCode: a.robotCode } : {}) },
          { ...clientOpts, beforeCall: pacedCalls(pacer, now, (api) => [quotas.appCall(a.appKey, api)]) },
        ),
      },
    ]),
  );
  const robots = new Map<string, RobotHandle>(
    config.robots.map((r) => [
      r.name,
      {
        name: r.name,
        webhook: r.webhook,
        client: new RobotClient({
          webhook: r.webhook,
          ...(r.secret ? { secret: r.secret } : {}),
          transport,
          retry: { attempts: 1 },
          beforeCall: pacedCalls(pacer, now, () => [quotas.robotCall(r.webhook)]),
        }),
      },
    ]),
  );
  const keys = new ApiKeys(config.apiKeys, opts.sandbox ?? false);
  const templates = new Templates(config.templates);
  // Declared before the runtime (which reports its state); it starts consuming once the HTTP API listens.
  let consumer: AmqpConsumer | null = null;
  const outbound = new OutboundHttp(new AllowList(config.callbacks.allowHosts), config.callbacks.timeoutMs);
  const runtime: Runtime = {
    config,
    store,
    apps,
    robots,
    pacer,
    gates: new DestinationGates(),
    quotas,
    metrics,
    log,
    outbound,
    now,
    wake: () => {},
    degraded: () => redis?.problem() ?? epoch?.problem() ?? null,
    ...(publisher ? { bus: publisher } : {}),
    links: () => ({ ...(consumer ? { ingest: consumer.state() } : {}), ...(publisher ? { events: publisher.state() } : {}) }),
    callbackSecret: (name) => {
      const key = config.apiKeys.find((k) => k.name === name);
      if (key) return key.callbackSecret ?? callbackSecretFor(key.key);
      return opts.sandbox && name === 'sandbox' ? callbackSecretFor('sandbox') : undefined;
    },
  };
  const dispatcher = new Dispatcher(runtime);
  metrics.watchInstance(() => dispatcher.held(), runtime.degraded);
  metrics.watchLinks(runtime.links);
  runtime.wake = (due) => {
    dispatcher.wake(due);
    wakeups?.announce(due);
  };
  if (wakeups && opts.dispatch !== false) wakeups.listen((due) => dispatcher.wake(due));
  // A moment for Redis to connect, so that the first claims do not find it still connecting; a start never fails on it.
  await redis?.ready(2_000);
  // And for the epoch (settled once Redis is ready), so that the first reservations do not wait for it either.
  await epoch?.settle(now()).catch(() => {});
  if (config.ingest.amqp) consumer = new AmqpConsumer(runtime, templates, ingestOwner(config));
  const server = await buildServer(runtime, { keys, templates, noopEndpoint: opts.noopEndpoint ?? false, ...(opts.recallWaitMs !== undefined ? { recallWaitMs: opts.recallWaitMs } : {}) });
  await server.listen({ host: config.server.host, port: config.server.port });
  const address = server.server.address();
  const port = typeof address === 'object' && address ? address.port : config.server.port;
  if (opts.dispatch !== false) dispatcher.start();
  // RabbitMQ away at start is no reason not to start: each link connects in the background, with backoff.
  publisher?.start();
  consumer?.start();
  await Promise.all([publisher?.ready(1_000), consumer?.ready(1_000)]);
  const { syncEveryMs, apps: syncedApps } = config.directory;
  const schedule =
    syncEveryMs !== undefined && opts.dispatch !== false
      ? new DirectorySchedule(runtime, [...apps.values()].filter((a) => syncedApps?.includes(a.name) ?? true), syncEveryMs)
      : undefined;
  schedule?.start();
  log.info({ port, store: store.kind, apps: [...apps.keys()], robots: [...robots.keys()] }, 'dingpush gateway started');
  let closing: Promise<void> | undefined;
  return {
    url: `http://${config.server.host}:${port}`,
    config,
    store,
    server,
    runtime,
    dispatcher,
    close: () =>
      (closing ??= (async () => {
        // The queue consumer is cancelled first: messages not yet acknowledged go back to the queue for another
        // instance, while those being stored finish (the store is still open).
        await consumer?.stop(INGEST_GRACE_MS);
        server.closing();
        // Requests keep getting 503 shutting_down (and Connection: close) until they stop coming for a moment, so
        // that no client is cut off on a kept-alive connection it was about to send on.
        await server.drained(DRAIN_QUIET_MS, DRAIN_MAX_MS);
        await server.close();
        await dispatcher.stop();
        await publisher?.close();
        await schedule?.stop();
        await store.close();
        await redis?.close();
        await transport.close();
        await outbound.close();
        log.info('dingpush gateway stopped');
      })()),
  };
}
