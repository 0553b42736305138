import { fenceOf, type JobOf, type RecallMessagePayload } from '../domain/jobs.js';
import type { DeliveryRow } from '../domain/records.js';
import { CHANNEL_DESCRIPTORS, isRecallable } from './channels/index.js';
import { scheduleRecalls } from './job-writes.js';
import { callInOwnSlot } from './own-slot.js';
import type { JobContext } from './runtime.js';
import { work } from './unit-of-work.js';

const DELIVERED = ['sent', 'unread', 'read'] as const;

/**
 * Recalls one DingTalk message. A work-notification task or an app-robot message may carry several notifications'
 * deliveries (delivery.mergeAcrossNotifications): recalling it takes back all of them, so all of them are marked,
 * the others with the reason, and the gateway never disagrees with DingTalk. Deliveries move to `recalled` only
 * once DingTalk confirmed; a refusal is recorded on them (recallError).
 */
export async function runRecall(ctx: JobContext, job: JobOf<'recall'>): Promise<void> {
  if (job.payload.step === 'plan') return planRecall(ctx, job);
  return recallMessage(ctx, job as JobOf<'recall'> & { payload: RecallMessagePayload });
}

/**
 * What a recall request covers: every delivered delivery of the notification, by destination, becomes a recall job
 * per DingTalk message (a channel that cannot recall records why on its deliveries). Deliveries still being sent are
 * recalled by the send path once DingTalk answers (it sees the request).
 */
async function planRecall(ctx: JobContext, job: JobOf<'recall'>): Promise<void> {
  await work(ctx.rt, [fenceOf(job)], async (tx) => {
    const delivered = await tx.deliveries({ notificationId: job.notificationId, statuses: DELIVERED });
    const byDestination = new Map<string, DeliveryRow[]>();
    for (const d of delivered) byDestination.set(d.destination, [...(byDestination.get(d.destination) ?? []), d]);
    for (const [destination, rows] of byDestination) await scheduleRecalls(tx, job.notificationId, destination, rows);
    await tx.complete([job.id]);
  });
  ctx.rt.wake();
}

async function recallMessage(ctx: JobContext, job: JobOf<'recall'> & { payload: RecallMessagePayload }): Promise<void> {
  const { rt } = ctx;
  const p = job.payload;
  const fence = [fenceOf(job)];
  const recall = CHANNEL_DESCRIPTORS[p.channel].recall;
  const app = rt.apps.get(p.app);
  const targets = await carriedBy(ctx, job);
  if (targets.length === 0 || !isRecallable(recall) || !app) {
    await work(rt, fence, async (tx) => {
      if (!app) await tx.patch(targets.map((d) => d.id), { recallError: `app "${p.app}" is no longer configured` }, DELIVERED);
      await tx.complete([job.id]);
    });
    return;
  }
  // A retryable failure throws: the dispatcher backs off and, past its limit, keeps the job as a dead letter.
  const called = await callInOwnSlot(ctx, job, [rt.quotas.appCall(app.appKey, recall.api)], () => recall.execute(rt, { ...p, deliveryIds: targets.map((d) => d.id) }));
  if (!called) return;
  const result = called.value;
  const recalled = new Set(result.recalled);
  await work(rt, fence, async (tx) => {
    // A delivery whose earlier send lost its answer may hold a copy from that send: recalling the later message does
    // not take that copy back, and its task id (which a recall needs) was lost with the answer.
    const uncertain = targets.filter((d) => recalled.has(d.id) && d.ambiguous).map((d) => d.id);
    const sure = targets.filter((d) => recalled.has(d.id) && !d.ambiguous);
    const own = sure.filter((d) => d.notificationId === job.notificationId).map((d) => d.id);
    const others = sure.filter((d) => d.notificationId !== job.notificationId).map((d) => d.id);
    await tx.patch(uncertain, { recallError: 'an earlier send lost its answer and its copy may have arrived: that copy cannot be recalled without the task id lost with the answer' }, DELIVERED);
    await tx.move(own, 'recalled', { reason: 'recalled', recallError: null });
    await tx.move(others, 'recalled', { reason: `recalled with notification ${job.notificationId}: they went out in one DingTalk message`, recallError: null });
    // People of a department send whose rows the tracker added after `targets` was read: DingTalk recalled the
    // message, so theirs too (the tracker adds none once the department row is recalled).
    if (p.taskId !== undefined && recalled.size > 0) {
      const seen = new Set(targets.map((d) => d.id));
      const late = (await tx.deliveries({ task: { destination: p.app, taskId: String(p.taskId) }, statuses: DELIVERED })).filter((d) => d.recipientKind === 'member' && !seen.has(d.id));
      await tx.patch(late.filter((d) => d.ambiguous).map((d) => d.id), { recallError: 'an earlier send lost its answer and its copy may have arrived: that copy cannot be recalled without the task id lost with the answer' }, DELIVERED);
      const sureLate = late.filter((d) => !d.ambiguous);
      await tx.move(sureLate.filter((d) => d.notificationId === job.notificationId).map((d) => d.id), 'recalled', { reason: 'recalled', recallError: null });
      await tx.move(sureLate.filter((d) => d.notificationId !== job.notificationId).map((d) => d.id), 'recalled', { reason: `recalled with notification ${job.notificationId}: they went out in one DingTalk message`, recallError: null });
    }
    for (const [id, why] of result.failed) await tx.patch([id], { recallError: why }, DELIVERED);
    await tx.complete([job.id]);
  });
}

/** Every delivered delivery the DingTalk message carried, whichever notification it belongs to. */
async function carriedBy(ctx: JobContext, job: { payload: RecallMessagePayload }): Promise<DeliveryRow[]> {
  const p = job.payload;
  const { store } = ctx.rt;
  if (p.taskId !== undefined) return store.deliveries({ task: { destination: p.app, taskId: String(p.taskId) }, statuses: DELIVERED });
  if (p.channel === 'robot_oto' && p.processQueryKeys?.length === 1)
    return store.deliveries({ task: { destination: p.app, processQueryKey: p.processQueryKeys[0]! }, statuses: DELIVERED });
  return store.deliveries({ ids: p.deliveryIds, statuses: DELIVERED });
}
