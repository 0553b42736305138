import { type DeliveryRow, isFinal, type NotificationRow } from '../store/types.js';

/** The public shape of a notification (GET /v1/notifications/:id, list entries, callbacks). */
export interface NotificationView {
  id: string;
  status: 'queued' | 'in_progress' | 'completed';
  createdAt: string;
  sendAt: string;
  recalledAt?: string;
  app: string | null;
  idempotencyKey?: string;
  callback?: { url: string; state: NotificationRow['callbackState'] };
  counts: Record<string, number>;
  deliveries?: DeliveryView[];
}

export interface DeliveryView {
  channel: DeliveryRow['channel'];
  recipient: string;
  recipientKind: DeliveryRow['recipientKind'];
  userid?: string;
  destination: string;
  status: DeliveryRow['status'];
  reason?: string;
  attempts: number;
  taskId?: string;
  processQueryKey?: string;
  updatedAt: string;
}

const iso = (ms: number) => new Date(ms).toISOString();

export function deliveryView(d: DeliveryRow): DeliveryView {
  return {
    channel: d.channel,
    recipient: d.recipient,
    recipientKind: d.recipientKind,
    ...(d.userid && d.userid !== d.recipient ? { userid: d.userid } : {}),
    destination: d.destination,
    status: d.status,
    ...(d.reason ? { reason: d.reason } : {}),
    attempts: d.attempts,
    ...(d.taskId ? { taskId: d.taskId } : {}),
    ...(d.processQueryKey ? { processQueryKey: d.processQueryKey } : {}),
    updatedAt: iso(d.updatedAt),
  };
}

export function notificationView(n: NotificationRow, deliveries: DeliveryRow[], withDeliveries = true): NotificationView {
  const counts: Record<string, number> = {};
  for (const d of deliveries) counts[d.status] = (counts[d.status] ?? 0) + 1;
  const status = deliveries.every(isFinal) ? 'completed' : deliveries.every((d) => d.status === 'queued') ? 'queued' : 'in_progress';
  return {
    id: n.id,
    status,
    createdAt: iso(n.createdAt),
    sendAt: iso(n.sendAt),
    ...(n.recalledAt ? { recalledAt: iso(n.recalledAt) } : {}),
    app: n.app,
    ...(n.idempotencyKey ? { idempotencyKey: n.idempotencyKey } : {}),
    ...(n.callbackUrl ? { callback: { url: n.callbackUrl, state: n.callbackState } } : {}),
    counts,
    ...(withDeliveries ? { deliveries: deliveries.map(deliveryView) } : {}),
  };
}
