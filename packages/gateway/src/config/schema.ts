import { DINGTALK_API, DINGTALK_OAPI, type ProxySetting, proxyUrlProblem } from '@dingpush/dingtalk';
import { z } from 'zod';
import { knownTimeZone } from '../domain/digest.js';
import { parseAllowEntry } from '../net/address-policy.js';
import { templateConfigIssues } from './templates.js';

/** The configuration file (shared/design.md "Configuration"); every key validated at start. */

const name = z.string().regex(/^[A-Za-z0-9_.-]{1,64}$/, 'letters, digits, _ . - (at most 64)');
/** A RabbitMQ URL; it may carry a password, so it is never printed whole (see redactUrl). */
/** A URL amqplib can connect to: one it cannot parse (a port out of range, no host) would be retried forever. */
const amqpUrl = z
  .string()
  .regex(/^amqps?:\/\/[^\s]+$/, 'an amqp:// or amqps:// URL')
  .refine((url) => {
    try {
      const u = new URL(url);
      return u.hostname !== '';
    } catch {
      return false;
    }
  }, 'an amqp:// or amqps:// URL');
const mentionsConfig = z.object({ mobiles: z.array(z.string()).default([]), userIds: z.array(z.string()).default([]), all: z.boolean().default(false) }).strict();

export const configSchema = z
  .object({
    server: z
      .object({
        host: z.string().default('127.0.0.1'),
        port: z.number().int().min(0).max(65_535).default(8720),
        /** Bodies over this size get 413. */
        bodyLimitBytes: z.number().int().positive().default(1024 * 1024),
        /**
         * Where people reach this gateway from (an http or https URL): robots show an uploaded image by a link to it
         * (GET /media/<id>/<token>, no API key). Without it, an image to a robot must be given by URL.
         */
        publicUrl: z
          .url({ protocol: /^https?$/, error: 'must be an http or https URL' })
          .refine((u) => !/[?#]/.test(u), 'must not have a query or fragment')
          .transform((u) => u.replace(/\/+$/, ''))
          .optional(),
      })
      .strict()
      .default({ host: '127.0.0.1', port: 8720, bodyLimitBytes: 1024 * 1024 }),
    apiKeys: z
      .array(
        z
          .object({
            name,
            key: z.string().min(16, 'must be at least 16 characters'),
            /**
             * Signs the callbacks of notifications sent with this key (X-Dingpush-Signature). Absent: derived from the
             * key (callbackSecretFor in the SDK), distinct from it, so a receiver never holds a sending credential.
             */
            callbackSecret: z.string().min(16, 'must be at least 16 characters').optional(),
            /**
             * send (default): sends, and reads and acts on what it sent. read: a viewer's key (the dashboard) that reads
             * every notification, destination and statistic, and never sends, recalls, retries or resends.
             */
            scope: z.enum(['send', 'read'], { error: 'must be send or read' }).default('send'),
            /** Limit the key to these apps / robots / targets; absent = all. */
            apps: z.array(name).optional(),
            robots: z.array(name).optional(),
            targets: z.array(name).optional(),
          })
          .strict(),
      )
      .default([]),
    store: z
      .union([z.object({ sqlite: z.string().min(1), synchronous: z.enum(['full', 'normal']).default('full') }).strict(), z
          .object({
            postgres: z.string().min(1),
            schema: z.string().regex(/^[a-z_][a-z0-9_]*$/, 'a lower-case SQL identifier').optional(),
            redis: z.string().regex(/^rediss?:\/\//, 'a redis:// or rediss:// URL').optional(),
            /** Names the cluster's keys in Redis (default: the schema), so two clusters never share state through one Redis. */
            cluster: z.string().regex(/^[A-Za-z0-9_.-]{1,64}$/, 'letters, digits, _ . - (at most 64)').optional(),
          })
          .strict()])
      .default({ sqlite: './data/dingpush.db', synchronous: 'full' }),
    dingtalk: z
      .object({
        oapiBaseUrl: z.url().default(DINGTALK_OAPI),
        apiBaseUrl: z.url().default(DINGTALK_API),
        timeoutMs: z.number().int().positive().default(10_000),
        /**
         * Calls to DingTalk go through this HTTP proxy, `http://[user:password@]host:port` (or https://). Absent: the one
         * HTTPS_PROXY / HTTP_PROXY name (NO_PROXY exempts hosts). Loopback addresses are never proxied.
         */
        proxy: z
          .string()
          .superRefine((url, ctx) => {
            const problem = proxyUrlProblem(url);
            if (problem) ctx.addIssue({ code: 'custom', message: problem });
          })
          .optional(),
      })
      .strict()
      .default({ oapiBaseUrl: DINGTALK_OAPI, apiBaseUrl: DINGTALK_API, timeoutMs: 10_000 }),
    apps: z
      .array(
        z
          .object({
            name,
            appKey: z.string().min(1),
            appSecret: z.string().min(1),
            agentId: z.number().int().positive().optional(),
            robotCode: z.string().min(1).optional(),
          })
          .strict(),
      )
      .default([]),
    /**
     * Templates of one's own (LiquidJS; first rendered line = title, the rest = markdown text): the text inline, or a
     * file (relative to the config file's directory, read at start into `text`). Parsed at start.
     */
    templates: z.array(z.object({ name, text: z.string().max(100_000), file: z.string().min(1).optional() }).strict()).default([]),
    /** Named routes the drop-in endpoints address (shared/design.md "Drop-in endpoints"). */
    targets: z
      .array(
        z
          .object({
            name,
            to: z
              .object({
                robots: z.array(name).default([]),
                chats: z.array(z.string().min(1)).default([]),
                userIds: z.array(z.string().min(1)).default([]),
                mobiles: z.array(z.string().min(1)).default([]),
                deptIds: z.array(z.number().int().positive()).default([]),
              })
              .strict(),
            /** Which app sends to its users and chats; default: the first. */
            app: name.optional(),
            /** The time zone alert times are shown in (IANA name). */
            timeZone: z.string().min(1).refine(knownTimeZone, 'not a time zone this runtime knows (an IANA name such as Asia/Shanghai)').default('Asia/Shanghai'),
            /** @-mentions for robot messages to this target. */
            mentions: mentionsConfig
              .extend({
                /** More mentions for an alert group with firing alerts of this severity (`labels.severity`, any case). */
                bySeverity: z.record(z.string().min(1), mentionsConfig).optional(),
              })
              .strict()
              .optional(),
            /** The template the drop-in endpoints render for this target (`templates:` or a built-in one). */
            template: name.optional(),
            /**
             * Messages to this target that wait behind a robot's quota go out together, as one digest in the next free
             * slot; false: each waits for a slot of its own.
             */
            digest: z.boolean().default(true),
          })
          .strict(),
      )
      .default([]),
    robots: z
      .array(
        z
          .object({
            name,
            webhook: z.url().refine((u) => URL.canParse(u) && new URL(u).searchParams.has('access_token'), 'must carry ?access_token='),
            secret: z.string().min(1).optional(),
            keywords: z.array(z.string().min(1)).max(10).default([]),
            /**
             * A token senders may use at the gateway's /robot/send in place of the robot's real access token (which
             * then need not be handed out).
             */
            ingestToken: z.string().min(16, 'must be at least 16 characters (it is a credential)').optional(),
            /** Messages waiting behind this robot's 20 a minute go out as one digest in the next free slot; false: one by one. */
            digest: z.boolean().default(true),
          })
          .strict(),
      )
      .default([]),
    delivery: z
      .object({
        /** A send still failing this long after it was due gives up (per job) with the last error as its reason. */
        giveUpAfterMs: z.number().int().positive().default(24 * 3_600_000),
        backoffBaseMs: z.number().int().positive().default(1_000),
        backoffMaxMs: z.number().int().positive().default(300_000),
        /** Jobs worked on at once. */
        concurrency: z.number().int().positive().max(256).default(16),
        /** A worker's claim on a job; renewed every third of it while the job runs, so it may be shorter than a call. */
        leaseMs: z.number().int().min(50).default(30_000),
        pollMs: z.number().int().positive().default(250),
        /** Unexpected errors (or failed looks) a job may have before it is kept as a dead letter. */
        maxFailures: z.number().int().positive().default(10),
        /**
         * Calls per second per app and API, sustained (DingTalk allows 20 in any second). Below 20 leaves room for a
         * call to arrive later than its slot: at 16, a quarter of a second.
         */
        // Below DingTalk's 20: the rest of the second is the room a call has to arrive after its slot.
        appCallsPerSecond: z.number().positive().max(18, 'must be at most 18: DingTalk allows 20 a second, and calls need room to arrive late').default(16),
        robotPerMinute: z.number().int().positive().max(20).default(20),
        /**
         * Of each robot's minute, this many calls are kept for urgent messages (critical and resolved alerts, ntfy
         * priority 4–5), so that recovery news is not starved behind a storm.
         */
        robotReserve: z.number().int().min(0).max(10).default(2),
        /**
         * Identical content from several notifications may share one DingTalk call (fewer calls). DingTalk recalls a
         * call as a whole, so recalling one of them then recalls all of them (each marked and reported). Off by
         * default: a recall takes back exactly the notification asked for.
         */
        mergeAcrossNotifications: z.boolean().default(false),
        perUserPerDay: z.number().int().positive().default(500),
        recipientsPerMinute: z.number().int().positive().default(5000),
        /** Mobiles: the first resolved recipients go out after this long even when their batch of 100 is not full. */
        firstFlushMs: z.number().int().min(0).default(1_000),
      })
      .strict()
      .default({
        giveUpAfterMs: 24 * 3_600_000,
        backoffBaseMs: 1_000,
        backoffMaxMs: 300_000,
        concurrency: 16,
        leaseMs: 30_000,
        pollMs: 250,
        maxFailures: 10,
        appCallsPerSecond: 16,
        robotPerMinute: 20,
        robotReserve: 2,
        mergeAcrossNotifications: false,
        perUserPerDay: 500,
        recipientsPerMinute: 5000,
        firstFlushMs: 1_000,
      }),
    tracking: z
      .object({
        /** First look at a work-notification task's result after sending. */
        firstCheckMs: z.number().int().positive().default(1_000),
        /** Later looks while recipients are still unread, within DingTalk's 24 h window. */
        readChecksMs: z.array(z.number().int().positive()).default([60_000, 600_000, 3_600_000, 6 * 3_600_000]),
        /** Read re-checks per app per day: each is a call of DingTalk's monthly quota. Past it, unread stays unread. */
        readChecksPerDay: z.number().int().min(0).default(1_000),
      })
      .strict()
      .default({ firstCheckMs: 1_000, readChecksMs: [60_000, 600_000, 3_600_000, 6 * 3_600_000], readChecksPerDay: 1_000 }),
    callbacks: z
      .object({
        /** Attempts per event before it is `failed` (a dead letter POST /v1/notifications/:id/callback re-delivers). */
        attempts: z.number().int().positive().default(20),
        timeoutMs: z.number().int().positive().default(5_000),
        /** Backoff between attempts: doubling from base to max (20 attempts ≈ 5 hours). */
        backoffBaseMs: z.number().int().positive().default(1_000),
        backoffMaxMs: z.number().int().positive().default(1_800_000),
        /**
         * Hosts, addresses or CIDR ranges callbacks may reach although they are loopback, private or link-local
         * (by default refused: a callback URL must not reach into this network).
         */
        allowHosts: z
          .array(
            z.string().superRefine((entry, ctx) => {
              const parsed = parseAllowEntry(entry);
              if ('problem' in parsed) ctx.addIssue({ code: 'custom', message: parsed.problem });
            }),
          )
          .default([]),
      })
      .strict()
      .default({ attempts: 20, timeoutMs: 5_000, backoffBaseMs: 1_000, backoffMaxMs: 1_800_000, allowHosts: [] }),
    media: z
      .object({
        /** A media URL a message gives is fetched once, at accept: it must answer within this time (else 400). */
        fetchTimeoutMs: z.number().int().positive().default(10_000),
      })
      .strict()
      .default({ fetchTimeoutMs: 10_000 }),
    /** Notifications consumed from a RabbitMQ queue: each message is the JSON body of POST /v1/notifications. */
    ingest: z
      .object({
        amqp: z
          .object({
            url: amqpUrl,
            queue: z.string().min(1, 'must not be empty').max(200, 'at most 200 characters (the dead-letter queue adds ".dead")'),
            /** Messages held unacknowledged at once (each waits for its transaction to commit). */
            prefetch: z.number().int().min(1).max(1000).default(50),
            /** The API key the consumed notifications belong to (its limits apply); absent: the first configured key. */
            owner: name.optional(),
          })
          .strict()
          .optional(),
      })
      .strict()
      .default({}),
    /** Every status change of every notification published to a topic exchange (routing key = the event's type). */
    events: z
      .object({
        amqp: z
          .object({
            url: amqpUrl,
            exchange: z.string().min(1, 'must not be empty').max(255),
          })
          .strict()
          .optional(),
      })
      .strict()
      .default({}),
    /**
     * The org directory kept in the store (POST /v1/directory/sync): mobiles resolve from it without a DingTalk lookup
     * each. `syncEveryMs`: also sync on this schedule (absent: only on demand); `apps`: which apps (absent: all).
     */
    directory: z
      .object({
        syncEveryMs: z.number().int().min(1_000, 'must be at least 1000 (a sync lists the whole org)').optional(),
        apps: z.array(name).optional(),
      })
      .strict()
      .default({}),
    logLevel: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  })
  .strict()
  .superRefine((c, ctx) => {
    const dup = (items: { name: string }[], key: string) => {
      const seen = new Set<string>();
      items.forEach((item, i) => {
        if (seen.has(item.name)) ctx.addIssue({ code: 'custom', path: [key, i, 'name'], message: `duplicate name ${item.name}` });
        seen.add(item.name);
      });
    };
    dup(c.apps, 'apps');
    dup(c.robots, 'robots');
    dup(c.apiKeys, 'apiKeys');
    dup(c.targets, 'targets');
    for (const issue of templateConfigIssues(c)) ctx.addIssue({ code: 'custom', ...issue });
    c.targets.forEach((t, i) => {
      const to = t.to;
      if (to.robots.length + to.chats.length + to.userIds.length + to.mobiles.length + to.deptIds.length === 0)
        ctx.addIssue({ code: 'custom', path: ['targets', i, 'to'], message: 'give at least one recipient' });
      to.robots.forEach((r, j) => {
        if (!c.robots.some((x) => x.name === r)) ctx.addIssue({ code: 'custom', path: ['targets', i, 'to', 'robots', j], message: `no robot named ${r}` });
      });
      if (t.app !== undefined && !c.apps.some((x) => x.name === t.app)) ctx.addIssue({ code: 'custom', path: ['targets', i, 'app'], message: `no app named ${t.app}` });
    });
    c.directory.apps?.forEach((a, i) => {
      if (!c.apps.some((x) => x.name === a)) ctx.addIssue({ code: 'custom', path: ['directory', 'apps', i], message: `no app named ${a}` });
    });
    if (c.delivery.robotReserve >= c.delivery.robotPerMinute)
      ctx.addIssue({ code: 'custom', path: ['delivery', 'robotReserve'], message: 'must be less than delivery.robotPerMinute' });
    const owner = c.ingest.amqp?.owner;
    if (owner !== undefined && !c.apiKeys.some((k) => k.name === owner))
      ctx.addIssue({ code: 'custom', path: ['ingest', 'amqp', 'owner'], message: `no API key named ${owner} (apiKeys[].name)` });
    const ownerKey = owner === undefined ? c.apiKeys[0] : c.apiKeys.find((k) => k.name === owner);
    // Queue messages follow POST /v1/notifications' rules, which a key limited to targets (a drop-in key) may not use.
    if (c.ingest.amqp && ownerKey?.targets && ownerKey.apps === undefined && ownerKey.robots === undefined)
      ctx.addIssue({ code: 'custom', path: ['ingest', 'amqp', 'owner'], message: `the API key ${ownerKey.name} is limited to targets; name a key that may send notifications` });
    // The queue's messages are sent under the owner's name: a read key would send what its scope forbids.
    if (c.ingest.amqp && ownerKey?.scope === 'read')
      ctx.addIssue({ code: 'custom', path: ['ingest', 'amqp', 'owner'], message: `the API key ${ownerKey.name} has scope read; name a key that may send notifications` });
    c.apiKeys.forEach((k, i) => {
      // A read key sees every notification, destination and statistic: a limit on it would be believed and not kept.
      for (const limit of ['apps', 'robots', 'targets'] as const)
        if (k.scope === 'read' && k[limit] !== undefined)
          ctx.addIssue({ code: 'custom', path: ['apiKeys', i, limit], message: 'a read key reads every notification: apps, robots and targets limit send keys only' });
      if (k.callbackSecret !== undefined && k.callbackSecret === k.key)
        ctx.addIssue({ code: 'custom', path: ['apiKeys', i, 'callbackSecret'], message: 'must differ from the key: a callback receiver must not hold a sending credential' });
      k.apps?.forEach((a, j) => {
        if (!c.apps.some((x) => x.name === a)) ctx.addIssue({ code: 'custom', path: ['apiKeys', i, 'apps', j], message: `no app named ${a}` });
      });
      k.targets?.forEach((t, j) => {
        if (!c.targets.some((x) => x.name === t)) ctx.addIssue({ code: 'custom', path: ['apiKeys', i, 'targets', j], message: `no target named ${t}` });
      });
      k.robots?.forEach((r, j) => {
        if (!c.robots.some((x) => x.name === r)) ctx.addIssue({ code: 'custom', path: ['apiKeys', i, 'robots', j], message: `no robot named ${r}` });
      });
    });
  });

export type Config = z.infer<typeof configSchema>;
/** The configuration as written: a template gives its text, or a file the loader reads into `text` (readTemplateFiles). */
export type ConfigInput = Omit<z.input<typeof configSchema>, 'templates'> & { templates?: ({ name: string; text: string } | { name: string; file: string })[] };
export type AppConfig = Config['apps'][number];
export type RobotConfig = Config['robots'][number];
export type ApiKeyConfig = Config['apiKeys'][number];
export type TargetConfig = Config['targets'][number];

/** The proxy calls to DingTalk go through: the configured one, else the environment's (HTTPS_PROXY / HTTP_PROXY / NO_PROXY). */
export const dingtalkProxyOf = (config: Config): ProxySetting => (config.dingtalk.proxy ? { url: config.dingtalk.proxy } : 'env');
