import { DINGTALK_API, DINGTALK_OAPI } from '@dingpush/dingtalk';
import { z } from 'zod';

/** The configuration file (shared/design.md "Configuration"); every key validated at start. */

const name = z.string().regex(/^[A-Za-z0-9_.-]{1,64}$/, 'letters, digits, _ . - (at most 64)');

export const configSchema = z
  .object({
    server: z
      .object({
        host: z.string().default('127.0.0.1'),
        port: z.number().int().min(0).max(65_535).default(8720),
        /** Bodies over this size get 413. */
        bodyLimitBytes: z.number().int().positive().default(1024 * 1024),
      })
      .strict()
      .default({ host: '127.0.0.1', port: 8720, bodyLimitBytes: 1024 * 1024 }),
    apiKeys: z
      .array(
        z
          .object({
            name,
            key: z.string().min(16, 'must be at least 16 characters'),
            /** Limit the key to these apps / robots; absent = all. */
            apps: z.array(name).optional(),
            robots: z.array(name).optional(),
          })
          .strict(),
      )
      .default([]),
    store: z
      .union([z.object({ sqlite: z.string().min(1), synchronous: z.enum(['full', 'normal']).default('full') }).strict(), z.object({ postgres: z.string().min(1), schema: z.string().regex(/^[a-z_][a-z0-9_]*$/, 'a lower-case SQL identifier').optional(), redis: z.string().optional() }).strict()])
      .default({ sqlite: './data/dingpush.db', synchronous: 'full' }),
    dingtalk: z
      .object({
        oapiBaseUrl: z.url().default(DINGTALK_OAPI),
        apiBaseUrl: z.url().default(DINGTALK_API),
        timeoutMs: z.number().int().positive().default(10_000),
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
    robots: z
      .array(
        z
          .object({
            name,
            webhook: z.url().refine((u) => new URL(u).searchParams.has('access_token'), 'must carry ?access_token='),
            secret: z.string().min(1).optional(),
            keywords: z.array(z.string().min(1)).max(10).default([]),
          })
          .strict(),
      )
      .default([]),
    delivery: z
      .object({
        /** A notification still undelivered this long after it was due fails with the last error as its reason. */
        giveUpAfterMs: z.number().int().positive().default(24 * 3_600_000),
        backoffBaseMs: z.number().int().positive().default(1_000),
        backoffMaxMs: z.number().int().positive().default(300_000),
        /** Jobs worked on at once. */
        concurrency: z.number().int().positive().max(256).default(16),
        leaseMs: z.number().int().positive().default(30_000),
        pollMs: z.number().int().positive().default(250),
        /** Work-notification calls per second per app and API (DingTalk allows 20). */
        appCallsPerSecond: z.number().positive().max(20).default(18),
        robotPerMinute: z.number().int().positive().max(20).default(20),
        /**
         * While identical content is flowing to an app (sent within the last second), a batch that is not full waits up
         * to this long for more recipients to share its call. An idle queue sends at once.
         */
        mergeWindowMs: z.number().int().min(0).max(5_000).default(500),
        perUserPerDay: z.number().int().positive().default(500),
        recipientsPerMinute: z.number().int().positive().default(5000),
      })
      .strict()
      .default({
        giveUpAfterMs: 24 * 3_600_000,
        backoffBaseMs: 1_000,
        backoffMaxMs: 300_000,
        concurrency: 16,
        leaseMs: 30_000,
        pollMs: 250,
        appCallsPerSecond: 18,
        robotPerMinute: 20,
        mergeWindowMs: 500,
        perUserPerDay: 500,
        recipientsPerMinute: 5000,
      }),
    tracking: z
      .object({
        /** First look at a work-notification task's result after sending. */
        firstCheckMs: z.number().int().positive().default(1_000),
        /** Later looks while recipients are still unread, within DingTalk's 24 h window. */
        readChecksMs: z.array(z.number().int().positive()).default([60_000, 600_000, 3_600_000, 6 * 3_600_000]),
      })
      .strict()
      .default({ firstCheckMs: 1_000, readChecksMs: [60_000, 600_000, 3_600_000, 6 * 3_600_000] }),
    callbacks: z
      .object({ attempts: z.number().int().positive().default(8), timeoutMs: z.number().int().positive().default(5_000) })
      .strict()
      .default({ attempts: 8, timeoutMs: 5_000 }),
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
    c.apiKeys.forEach((k, i) => {
      k.apps?.forEach((a, j) => {
        if (!c.apps.some((x) => x.name === a)) ctx.addIssue({ code: 'custom', path: ['apiKeys', i, 'apps', j], message: `no app named ${a}` });
      });
      k.robots?.forEach((r, j) => {
        if (!c.robots.some((x) => x.name === r)) ctx.addIssue({ code: 'custom', path: ['apiKeys', i, 'robots', j], message: `no robot named ${r}` });
      });
    });
  });

export type Config = z.infer<typeof configSchema>;
export type ConfigInput = z.input<typeof configSchema>;
export type AppConfig = Config['apps'][number];
export type RobotConfig = Config['robots'][number];
export type ApiKeyConfig = Config['apiKeys'][number];
