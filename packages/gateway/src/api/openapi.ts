import { z } from 'zod';
import { CHANNELS, DELIVERY_STATUSES, NOTIFICATION_STATUSES } from '../domain/delivery-states.js';
import { JOB_KINDS } from '../domain/jobs.js';
import { notificationBodySchema, templateDataSchema } from '../notifications/request.js';

/** JSON Schema for OpenAPI, generated from the same zod schemas that validate requests. */
export function jsonSchema(schema: z.ZodType, io: 'input' | 'output' = 'input'): Record<string, unknown> {
  const { $schema: _ignored, ...rest } = z.toJSONSchema(schema, { io, unrepresentable: 'any' }) as Record<string, unknown>;
  return rest;
}

const errorSchema = z.object({ error: z.object({ code: z.string(), message: z.string(), path: z.string().optional() }) });
const deliverySchema = z.object({
  channel: z.enum(CHANNELS),
  recipient: z.string(),
  recipientKind: z
    .enum(['userid', 'mobile', 'dept', 'all', 'robot', 'chat', 'member'])
    .meta({ description: 'member: one person a department or all-users work notification reached, from DingTalk\'s per-user result' }),
  userid: z.string().optional(),
  destination: z.string(),
  status: z.enum(DELIVERY_STATUSES),
  reason: z.string().optional(),
  whatToDo: z
    .object({ en: z.string(), zh: z.string() })
    .optional()
    .meta({ description: "When the reason is DingTalk's answer: what to do about it (the error table's line), in English and Chinese" }),
  attempts: z.number().int(),
  taskId: z.string().optional(),
  processQueryKey: z.string().optional(),
  recallError: z.string().optional(),
  digest: z.string().optional().meta({ description: 'The digest this delivery went out in: messages that waited behind a robot quota, sent as one' }),
  part: z.number().int().optional().meta({ description: 'A message too long for its surface went out in numbered parts, in order: the part this delivery carries (1-based)' }),
  parts: z.number().int().optional().meta({ description: 'How many parts the message was split into on this channel' }),
  updatedAt: z.string(),
});
const deadLetterSchema = z.object({
  job: z.string(),
  kind: z.enum(JOB_KINDS),
  channel: z.string().optional(),
  destination: z.string().optional(),
  reason: z.string(),
  deadAt: z.string(),
});
const notificationSchema = z.object({
  id: z.string(),
  status: z.enum(NOTIFICATION_STATUSES),
  createdAt: z.string(),
  sendAt: z.string(),
  recalledAt: z.string().optional(),
  app: z.string().nullable(),
  title: z.string().meta({ description: 'Its title, else the start of its content' }),
  target: z.string().optional().meta({ description: 'The drop-in target it came in by' }),
  resendOf: z.string().optional().meta({ description: 'The notification whose failed recipients this one sends again' }),
  idempotencyKey: z.string().optional(),
  callback: z
    .object({
      url: z.string(),
      state: z.enum(['none', 'pending', 'delivered', 'failed']),
      events: z.number().int(),
      lastEventId: z.string().optional(),
      lastError: z.string().optional(),
    })
    .optional(),
  counts: z.record(z.string(), z.number()),
  deliveries: z.array(deliverySchema).optional(),
  deadLetters: z.array(deadLetterSchema).optional(),
});
const mediaSchema = z.object({
  id: z.string().meta({ description: 'Reference it in a message as {"type":"image","media":"<id>"} (file and voice alike)' }),
  type: z.enum(['image', 'voice', 'video', 'file']),
  filename: z.string(),
  format: z.string(),
  size: z.number().int(),
  sha256: z.string(),
  createdAt: z.string(),
});
const directorySyncState = z
  .object({
    startedAt: z.string().nullable(),
    finishedAt: z.string().nullable().meta({ description: 'When the latest successful sync finished' }),
    error: z.string().nullable().meta({ description: 'Why the latest sync failed (null after a success)' }),
    users: z.number().int(),
    departments: z.number().int(),
    running: z.boolean(),
  })
  .nullable();
const listItemSchema = notificationSchema.extend({
  key: z.string().meta({ description: "The sending API key's name" }),
  destinations: z.array(z.string()).meta({ description: 'channel:destination of its deliveries' }),
});
const windowUse = z.object({ used: z.number(), limit: z.number(), windowMs: z.number() });
const queueSchema = z.object({ depth: z.number().int(), oldestAgeMs: z.number() });
const lastErrorSchema = z
  .object({
    at: z.string(),
    code: z.string(),
    message: z.string(),
    meaning: z.string(),
    whatToDo: z.object({ en: z.string(), zh: z.string() }),
    outcome: z.string(),
  })
  .nullable();
const health = { blockedUntil: z.string().nullable(), lastSuccessAt: z.string().nullable(), lastError: lastErrorSchema };
const statFields = { accepted: z.number(), sent: z.number(), read: z.number(), unread: z.number(), throttled: z.number(), failed: z.number(), invalid: z.number(), recalled: z.number() };
const recipientNote = z.object({ recipient: z.string(), channel: z.string(), reason: z.string() });

export const schemas = {
  createBody: jsonSchema(notificationBodySchema),
  templateData: jsonSchema(templateDataSchema),
  rendered: jsonSchema(
    z.object({ title: z.string(), text: z.string(), message: z.object({ type: z.literal('markdown'), title: z.string(), text: z.string() }) }),
    'output',
  ),
  accepted: jsonSchema(z.object({ id: z.string(), status: z.string() }), 'output'),
  error: jsonSchema(errorSchema, 'output'),
  notification: jsonSchema(notificationSchema, 'output'),
  list: jsonSchema(z.object({ items: z.array(listItemSchema), nextCursor: z.string().nullable() }), 'output'),
  me: jsonSchema(
    z.object({
      name: z.string(),
      scope: z.enum(['send', 'read']),
      sandbox: z.boolean(),
      sees: z.enum(['all', 'own']).meta({ description: "all: every owner's notifications (a read key, sandbox mode); own: those sent with this key" }),
      may: z.object({ read: z.boolean(), send: z.boolean(), recall: z.boolean(), retry: z.boolean(), resend: z.boolean() }),
      apps: z.array(z.string()).optional(),
      robots: z.array(z.string()).optional(),
      targets: z.array(z.string()).optional(),
    }),
    'output',
  ),
  keys: jsonSchema(
    z.object({
      items: z.array(
        z.object({ name: z.string(), scope: z.enum(['send', 'read']), apps: z.array(z.string()).optional(), robots: z.array(z.string()).optional(), targets: z.array(z.string()).optional() }),
      ),
    }),
    'output',
  ),
  stats: jsonSchema(
    z.object({
      window: z.enum(['hour', 'day']),
      bucketMs: z.number().int(),
      buckets: z.array(z.object({ at: z.string(), ...statFields })),
      totals: z.object(statFields),
    }),
    'output',
  ),
  destinations: jsonSchema(
    z.object({
      robots: z.array(z.object({ name: z.string(), queue: queueSchema, quota: windowUse, ...health })),
      apps: z.array(
        z.object({
          name: z.string(),
          channels: z.record(z.string(), queueSchema),
          quota: z.object({ calls: z.array(windowUse.extend({ api: z.string() })), recipients: windowUse }),
          ...health,
          nearDailyCap: z.array(z.object({ userid: z.string(), sent: z.number(), cap: z.number() })),
        }),
      ),
    }),
    'output',
  ),
  timeline: jsonSchema(
    z.object({
      id: z.string(),
      key: z.string(),
      createdAt: z.string(),
      resendOf: z.string().optional(),
      target: z.string().optional(),
      request: z.record(z.string(), z.unknown()),
      recipients: z.array(
        deliverySchema.extend({
          unreadAt: z.string().optional(),
          readAt: z.string().optional(),
          moves: z.array(z.object({ at: z.string(), status: z.string(), reason: z.string().optional() })),
          calls: z.array(
            z.object({ at: z.string(), outcome: z.string(), code: z.string().optional(), meaning: z.string().optional(), message: z.string().optional(), durationMs: z.number() }),
          ),
        }),
      ),
    }),
    'output',
  ),
  resent: jsonSchema(z.object({ id: z.string(), status: z.string(), resendOf: z.string(), recipients: z.number().int() }), 'output'),
  recall: jsonSchema(
    z.object({ id: z.string(), recalled: z.number(), pending: z.array(recipientNote), notRecalled: z.array(recipientNote), alsoRecalled: z.array(z.string()) }),
    'output',
  ),
  retry: jsonSchema(z.object({ id: z.string(), jobs: z.number().int(), deliveries: z.number().int() }), 'output'),
  redeliver: jsonSchema(z.object({ id: z.string(), events: z.array(z.string()) }), 'output'),
  directorySync: jsonSchema(
    z.object({
      app: z.string(),
      users: z.number().int(),
      departments: z.number().int(),
      calls: z.number().int().meta({ description: 'DingTalk calls the sync made (department listings and pages of members)' }),
      ms: z.number().int(),
    }),
    'output',
  ),
  directoryUsers: jsonSchema(
    z.object({
      app: z.string(),
      sync: directorySyncState,
      items: z.array(z.object({ userid: z.string(), name: z.string(), mobile: z.string().nullable(), deptIds: z.array(z.number().int()), syncedAt: z.string() })),
      nextCursor: z.string().nullable(),
    }),
    'output',
  ),
  dingtalkError: jsonSchema(
    z.object({ error: z.object({ code: z.string(), message: z.string(), dingtalk: z.object({ code: z.string(), message: z.string() }).optional() }) }),
    'output',
  ),
  deadLetters: jsonSchema(z.object({ items: z.array(deadLetterSchema.extend({ notification: z.string() })) }), 'output'),
  media: jsonSchema(mediaSchema, 'output'),
  mediaUpload: {
    type: 'object',
    required: ['file'],
    properties: {
      file: { type: 'string', format: 'binary', description: 'The file (its name\'s extension, or its bytes, tell the format)' },
      type: { type: 'string', enum: ['image', 'voice', 'video', 'file'], description: 'How DingTalk takes it; default: by the format' },
    },
  },
};
