import { type DeliveryStatus, isSettled, type NotificationStatus } from './delivery-states.js';
import type { JobRow } from './jobs.js';
import type { DeliveryRow, EventRow, NotificationRow } from './records.js';
import { adviceOfReason } from './dingtalk-reason.js';
import { countedRows } from './members.js';
import { titleOf } from './search-text.js';

/** GET /v1/notifications/:id — the same JSON is the `notification` of every event and callback. */
export interface NotificationView {
  id: string;
  status: NotificationStatus;
  createdAt: string;
  sendAt: string;
  /** When a recall was asked for. */
  recalledAt?: string;
  app: string | null;
  /** What a list shows for it: its title, else the start of its content. */
  title: string;
  /** The drop-in target it came in by; the notification it resends (POST /v1/notifications/:id/resend). */
  target?: string;
  resendOf?: string;
  idempotencyKey?: string;
  callback?: CallbackView;
  counts: Record<string, number>;
  deliveries?: DeliveryView[];
  /** Jobs that gave up and wait for an operator (POST /v1/notifications/:id/retry). */
  deadLetters?: DeadLetterView[];
}

export interface CallbackView {
  url: string;
  /** none yet, pending (being delivered), delivered, failed (gave up; POST /v1/notifications/:id/callback re-delivers). */
  state: 'none' | 'pending' | 'delivered' | 'failed';
  events: number;
  lastEventId?: string;
  lastError?: string;
}

export interface DeliveryView {
  channel: DeliveryRow['channel'];
  recipient: string;
  recipientKind: DeliveryRow['recipientKind'];
  userid?: string;
  destination: string;
  status: DeliveryStatus;
  reason?: string;
  /** When the reason is DingTalk's answer: what to do about it, from the error table, in English and Chinese. */
  whatToDo?: { en: string; zh: string };
  attempts: number;
  taskId?: string;
  processQueryKey?: string;
  recallError?: string;
  /** The digest this delivery went out in (messages that waited behind a robot's quota, sent as one). */
  digest?: string;
  /** A message too long for its surface went out in numbered parts: this delivery carries part `part` of `parts`. */
  part?: number;
  parts?: number;
  updatedAt: string;
}

export interface DeadLetterView {
  job: string;
  kind: JobRow['kind'];
  channel?: string;
  destination?: string;
  reason: string;
  deadAt: string;
}

const iso = (ms: number) => new Date(ms).toISOString();

function whatToDoOf(reason: string | null | undefined, status: DeliveryStatus): { whatToDo?: { en: string; zh: string } } {
  const advice = adviceOfReason(reason, status);
  return advice ? { whatToDo: { en: advice.en, zh: advice.zh } } : {};
}

export function deliveryView(d: DeliveryRow): DeliveryView {
  return {
    channel: d.channel,
    recipient: d.recipient,
    recipientKind: d.recipientKind,
    ...(d.userid && (d.userid !== d.recipient || d.recipientKind === 'member') ? { userid: d.userid } : {}),
    destination: d.destination,
    status: d.status,
    ...(d.reason ? { reason: d.reason } : {}),
    ...whatToDoOf(d.reason, d.status),
    attempts: d.attempts,
    ...(d.taskId ? { taskId: d.taskId } : {}),
    ...(d.processQueryKey ? { processQueryKey: d.processQueryKey } : {}),
    ...(d.recallError ? { recallError: d.recallError } : {}),
    ...(d.digestId ? { digest: d.digestId } : {}),
    ...(d.part ? { part: d.part, parts: d.parts ?? undefined } : {}),
    updatedAt: iso(d.updatedAt),
  };
}

export function callbackView(url: string, events: EventRow[]): CallbackView {
  const sent = events.filter((e) => e.callbackState !== 'none');
  const last = sent[sent.length - 1];
  const state = sent.some((e) => e.callbackState === 'failed')
    ? 'failed'
    : sent.some((e) => e.callbackState === 'pending')
      ? 'pending'
      : sent.length > 0
        ? 'delivered'
        : 'none';
  const lastError = [...sent].reverse().find((e) => e.callbackError)?.callbackError;
  return { url, state, events: sent.length, ...(last ? { lastEventId: last.id } : {}), ...(lastError && state !== 'delivered' ? { lastError } : {}) };
}

export interface ViewExtras {
  events?: EventRow[];
  deadJobs?: JobRow[];
  withDeliveries?: boolean;
}

export function notificationView(n: NotificationRow, deliveries: DeliveryRow[], extras: ViewExtras = {}): NotificationView {
  const counts: Record<string, number> = {};
  for (const d of countedRows(deliveries)) counts[d.status] = (counts[d.status] ?? 0) + 1;
  const dead = extras.deadJobs ?? [];
  return {
    id: n.id,
    status: n.status,
    createdAt: iso(n.createdAt),
    sendAt: iso(n.sendAt),
    ...(n.recalledAt ? { recalledAt: iso(n.recalledAt) } : {}),
    app: n.app,
    title: titleOf(n.request),
    ...(n.target ? { target: n.target } : {}),
    ...(n.resendOf ? { resendOf: n.resendOf } : {}),
    ...(n.idempotencyKey ? { idempotencyKey: n.idempotencyKey } : {}),
    ...(n.callbackUrl ? { callback: callbackView(n.callbackUrl, extras.events ?? []) } : {}),
    counts,
    ...(extras.withDeliveries === false ? {} : { deliveries: deliveries.map(deliveryView) }),
    ...(dead.length
      ? {
          deadLetters: dead.map((j) => ({
            job: j.id,
            kind: j.kind,
            ...(j.channel ? { channel: j.channel } : {}),
            ...(j.destination ? { destination: j.destination } : {}),
            reason: j.lastError ?? 'gave up',
            deadAt: iso(j.deadAt ?? j.createdAt),
          })),
        }
      : {}),
  };
}

/** Whether every delivery is settled (used where counts come from rows rather than SQL). */
export const allSettled = (deliveries: DeliveryRow[]) => deliveries.every(isSettled);
