import type { DeliveryStatus, MoveName } from '../domain/delivery-states.js';
import { newId } from '../domain/ids.js';
import { AFTER_PREVIOUS_PART, type JobRow, type NewJob, type SendPayload } from '../domain/jobs.js';
import type { DeliveryRow } from '../domain/records.js';
import type { Tx } from '../store/types.js';
import { CHANNEL_DESCRIPTORS, isRecallable } from './channels/index.js';

/** Writes several handlers share, each inside the caller's unit of work. */

const LIVE: DeliveryStatus[] = ['queued', 'sending'];

/** Each job with deliveries left to send runs again at `runAt`; a job with none is done. */
export async function settleJobs(tx: Tx, jobIds: string[], runAt: number): Promise<void> {
  const live = await tx.deliveries({ jobIds, statuses: LIVE });
  const busy = new Set(live.map((d) => d.jobId));
  await tx.complete(jobIds.filter((id) => !busy.has(id)));
  await tx.reschedule(
    jobIds.filter((id) => busy.has(id)),
    runAt,
    { slotAt: null, clearSendStarted: true },
  );
}

/**
 * Moves deliveries (from the states `move` allows) to a new send job per notification, due at `runAt`: they leave
 * the job they were in. Answers the rows moved.
 */
export async function moveToNewJob(
  tx: Tx,
  rows: DeliveryRow[],
  move: Extract<MoveName, 'retryLater' | 'heldBack' | 'operatorRetry'> | null,
  like: { channel: DeliveryRow['channel']; destination: string; mergeKey: string | null; body: Record<string, unknown> },
  runAt: number,
  reason: string | null,
): Promise<DeliveryRow[]> {
  const byNotification = new Map<string, DeliveryRow[]>();
  for (const d of rows) byNotification.set(d.notificationId, [...(byNotification.get(d.notificationId) ?? []), d]);
  const moved: DeliveryRow[] = [];
  for (const [notificationId, group] of byNotification) {
    const id = newId('job');
    const ids = group.map((d) => d.id);
    const changed = move
      ? await tx.move(ids, move, { jobId: id, reason, taskId: null, processQueryKey: null })
      : await tx.patch(ids, { jobId: id, reason }, ['queued']);
    if (changed.length === 0) continue;
    const payload: SendPayload = { body: like.body, dueAt: runAt };
    const job: NewJob = { id, kind: 'send', notificationId, channel: like.channel, destination: like.destination, mergeKey: like.mergeKey, runAt, payload };
    await tx.addJobs([job]);
    await carryLaterParts(tx, notificationId, changed, id, runAt);
    moved.push(...changed);
  }
  return moved;
}

/**
 * A part that waits (held back by a daily cap, or re-sent later) takes its recipients' later parts with it: those
 * still queued leave their jobs for a chain of their own behind `head`, so a reader never gets part 3 before part 2.
 * The other recipients' chain goes on as it was; a job left with nobody settles when its turn comes. (Parts that were
 * already sent when a cap DingTalk reports holds one back are not carried: see the README's known limits.)
 */
async function carryLaterParts(tx: Tx, notificationId: string, moved: DeliveryRow[], head: string, dueAt: number): Promise<void> {
  const split = moved.filter((d) => d.part && d.parts && d.part < d.parts);
  if (split.length === 0) return;
  const from = Math.min(...split.map((d) => d.part!));
  const whom = new Set(split.map((d) => `${d.channel}\u0000${d.destination}\u0000${d.recipient}`));
  const later = (await tx.deliveries({ notificationId, statuses: ['queued'] })).filter(
    (d) => d.part && d.part > from && whom.has(`${d.channel}\u0000${d.destination}\u0000${d.recipient}`),
  );
  const byPart = new Map<number, DeliveryRow[]>();
  for (const d of later) byPart.set(d.part!, [...(byPart.get(d.part!) ?? []), d]);
  const sources = new Map((await tx.jobs({ ids: [...new Set(later.map((d) => d.jobId))] })).map((j) => [j.id, j]));
  let follows = head;
  for (const part of [...byPart.keys()].sort((a, b) => a - b)) {
    const rows = byPart.get(part)!;
    const source = sources.get(rows[0]!.jobId);
    if (source?.kind !== 'send') continue;
    const id = newId('job');
    const changed = await tx.patch(
      rows.map((d) => d.id),
      { jobId: id },
      ['queued'],
    );
    if (changed.length === 0) continue;
    const payload = source.payload as SendPayload;
    await tx.addJobs([
      {
        id,
        kind: 'send',
        notificationId,
        channel: source.channel,
        destination: source.destination,
        mergeKey: source.mergeKey,
        runAt: AFTER_PREVIOUS_PART,
        follows,
        // Their give-up time counts from when the head is due, as the head's does, not from the first try.
        payload: { body: payload.body, dueAt },
      },
    ]);
    follows = id;
  }
}

/**
 * A recall asked for while these deliveries were being sent is carried out now that DingTalk has answered: a recall
 * job for each message they went out in (or, where the channel cannot recall, the reason recorded on them).
 */
export async function recallIfRequested(tx: Tx, destination: string, sent: DeliveryRow[]): Promise<void> {
  const byNotification = new Map<string, DeliveryRow[]>();
  for (const d of sent) byNotification.set(d.notificationId, [...(byNotification.get(d.notificationId) ?? []), d]);
  for (const [notificationId, rows] of byNotification) {
    const n = await tx.notification(notificationId);
    if (!n?.recalledAt) continue;
    await scheduleRecalls(tx, notificationId, destination, rows);
  }
}

/** Recall jobs (deterministic ids: asking twice schedules once) for delivered deliveries of one destination. */
export async function scheduleRecalls(tx: Tx, notificationId: string, destination: string, delivered: DeliveryRow[]): Promise<number> {
  let scheduled = 0;
  const byChannel = new Map<DeliveryRow['channel'], DeliveryRow[]>();
  for (const d of delivered) byChannel.set(d.channel, [...(byChannel.get(d.channel) ?? []), d]);
  for (const [channel, rows] of byChannel) {
    const recall = CHANNEL_DESCRIPTORS[channel].recall;
    if (!isRecallable(recall)) {
      await tx.patch(
        rows.map((d) => d.id),
        { recallError: recall.unsupported },
        ['sent', 'unread', 'read'],
      );
      continue;
    }
    const jobs: NewJob[] = recall.plan(destination, rows).map((payload) => ({
      id: `rcl_${channel}_${destination}_${payload.taskId ?? payload.processQueryKeys?.join('+')}`,
      kind: 'recall',
      notificationId,
      channel,
      destination,
      mergeKey: null,
      runAt: tx.now,
      payload,
    }));
    await tx.addJobs(jobs);
    scheduled += jobs.length;
  }
  return scheduled;
}

/**
 * Jobs kept as dead letters after too many unexpected failures: what they were doing for their deliveries ends here,
 * so that every delivery reaches a final status and its notification completes (and calls back). An operator's retry
 * (POST /v1/notifications/:id/retry) takes failed deliveries up again.
 */
export async function settleGivenUp(tx: Tx, jobs: JobRow[], reason: string): Promise<void> {
  const sending = jobs.filter((j) => j.kind === 'send' || j.kind === 'resolve').map((j) => j.id);
  if (sending.length) await tx.move(ids(await tx.deliveries({ jobIds: sending, statuses: LIVE })), 'sendFailed', { reason });
  const tracked = jobs.flatMap((j) => (j.kind === 'track' ? j.payload.deliveryIds : []));
  // DingTalk accepted these; only what became of them is unknown.
  if (tracked.length) await tx.move(tracked, 'unread', { reason: `delivered; its read status could not be learnt: ${reason}` });
}

const ids = (rows: { id: string }[]) => rows.map((r) => r.id);
