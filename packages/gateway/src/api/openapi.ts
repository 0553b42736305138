import { z } from 'zod';
import { notificationRequestSchema } from '../notifications/request.js';
import { DELIVERY_STATUSES } from '../store/types.js';

/** JSON Schema for OpenAPI, generated from the same zod schemas that validate requests. */
export function jsonSchema(schema: z.ZodType, io: 'input' | 'output' = 'input'): Record<string, unknown> {
  const { $schema: _ignored, ...rest } = z.toJSONSchema(schema, { io, unrepresentable: 'any' }) as Record<string, unknown>;
  return rest;
}

const errorSchema = z.object({ error: z.object({ code: z.string(), message: z.string(), path: z.string().optional() }) });
const deliverySchema = z.object({
  channel: z.enum(['work_notice', 'robot', 'chat', 'robot_oto']),
  recipient: z.string(),
  recipientKind: z.enum(['userid', 'mobile', 'dept', 'all', 'robot', 'chat']),
  userid: z.string().optional(),
  destination: z.string(),
  status: z.enum(DELIVERY_STATUSES),
  reason: z.string().optional(),
  attempts: z.number().int(),
  taskId: z.string().optional(),
  processQueryKey: z.string().optional(),
  updatedAt: z.string(),
});
const notificationSchema = z.object({
  id: z.string(),
  status: z.enum(['queued', 'in_progress', 'completed']),
  createdAt: z.string(),
  sendAt: z.string(),
  recalledAt: z.string().optional(),
  app: z.string().nullable(),
  idempotencyKey: z.string().optional(),
  callback: z.object({ url: z.string(), state: z.string() }).optional(),
  counts: z.record(z.string(), z.number()),
  deliveries: z.array(deliverySchema).optional(),
});

export const schemas = {
  createBody: jsonSchema(notificationRequestSchema),
  accepted: jsonSchema(z.object({ id: z.string(), status: z.string() }), 'output'),
  error: jsonSchema(errorSchema, 'output'),
  notification: jsonSchema(notificationSchema, 'output'),
  list: jsonSchema(z.object({ items: z.array(notificationSchema), nextCursor: z.string().nullable() }), 'output'),
  recall: jsonSchema(
    z.object({ id: z.string(), recalled: z.number(), notRecalled: z.array(z.object({ recipient: z.string(), channel: z.string(), reason: z.string() })) }),
    'output',
  ),
};
