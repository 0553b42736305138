import { type CarriedItem, type DigestContent, packDigest } from '../domain/digest.js';
import { newId } from '../domain/ids.js';
import { fenceOf, type JobOf, type NewJob } from '../domain/jobs.js';
import type { DeliveryRow } from '../domain/records.js';
import type { Store, Tx } from '../store/types.js';
import type { ChannelDescriptor } from './channels/descriptor.js';
import { settleJobs } from './job-writes.js';
import type { Runtime } from './runtime.js';
import { work } from './unit-of-work.js';

/**
 * A paced destination's queue (descriptor.waiting = 'queue', custom robots): when its quota is spent, one send job —
 * the head — holds the destination's next slot and every other one parks behind it. Parked jobs are not claimed,
 * read or rescheduled while they wait, so a backlog of any length costs nothing per slot. At its slot the head either
 * carries what waits as one digest (./send.ts then sends the digest job), or hands the slot to the oldest parked job;
 * when it is done, the oldest parked job becomes the next head. Every decision is made under the destination's lock,
 * so two workers (or two processes) never both park behind nothing; a sweep unparks what a crash left behind.
 */

type SendJob = JobOf<'send'>;

/**
 * A message that has waited this long for its turn goes out in a digest with everything else waiting, whatever the
 * quota's state: a storm's backlog is not sent one by one as the window frees slot after slot.
 */
const DIGEST_AFTER_MS = 5_000;

/** Parked jobs a head looks at when putting a digest together (older ones first). */
const FOLD_LOOK = 2_000;

/**
 * The jobs' slot is far off and another job of the destination is ahead of them: they park behind it (true). With no
 * head, they hold the slot themselves (false: the caller reserves it).
 */
export async function parkBehindHead(rt: Runtime, jobs: SendJob[], waitingReason: string): Promise<boolean> {
  const first = jobs[0]!;
  const ids = jobs.map((j) => j.id);
  return work(rt, jobs.map(fenceOf), async (tx) => {
    await tx.lockDestination(first.channel!, first.destination!);
    if (!(await tx.hasHead(first.channel!, first.destination!, ids))) return false;
    const quiet = (await tx.deliveries({ jobIds: ids, statuses: ['queued'] })).filter((x) => x.reason === null).map((x) => x.id);
    if (quiet.length) await tx.patch(quiet, { reason: waitingReason }, ['queued']);
    await tx.park(ids);
    return true;
  });
}

/**
 * The head's turn, its slot near: when it waited for that slot (`held`), folds the messages parked behind it into a
 * digest job that takes over the slot (where the destination allows digests; `sameAlertOnly`: an urgent message going out of turn takes only the
 * firing message of the alert it resolves), or hands the slot to an older parked job. True: the head's own send is
 * not made here (it went into the digest, or it parked behind the older job).
 */
export async function takeTurn(
  rt: Runtime,
  d: ChannelDescriptor,
  head: SendJob,
  own: DeliveryRow[],
  held: number | null,
  sameAlertOnly: boolean,
): Promise<boolean> {
  const channel = head.channel!;
  const destination = head.destination!;
  const digest = d.digest?.(rt, destination) ?? null;
  const outcome = await work(rt, [fenceOf(head)], async (tx) => {
    await tx.lockDestination(channel, destination);
    // Out of turn, the firing message an urgent resolution follows may be the head itself, holding its slot.
    const waiting = (await tx.waitingJobs(channel, destination, FOLD_LOOK, sameAlertOnly)).filter(
      (j): j is SendJob => j.kind === 'send' && j.id !== head.id && (j.state === 'parked' || j.slotAt !== null || j.runAt <= tx.now),
    );
    const parked = waiting.filter((j) => j.state === 'parked');
    if (waiting.length === 0) return null;
    const mine = head.payload.item;
    // Folded when the head waited for its slot (the quota was spent), when what waits behind it has waited long (a
    // backlog behind the quota), or for an urgent message going out of turn. Otherwise — a burst the quota has room
    // for, waiting only behind the call before it — messages go one by one, each as itself.
    const backlog = parked.length > 0 && Math.min(...parked.map((j) => j.payload.dueAt)) <= tx.now - DIGEST_AFTER_MS;
    const foldable = digest !== null && mine !== undefined && own.length === 1 && !own[0]!.ambiguous && (held !== null || backlog || sameAlertOnly);
    if (foldable) {
      const group = mine.alert?.group;
      const candidates = (sameAlertOnly ? waiting : parked).filter(
        (j) => j.payload.item && !j.payload.digest && j.sendStartedAt === null && (!sameAlertOnly || (group !== undefined && j.payload.item.alert?.group === group)),
      );
      const folded = candidates.length ? await fold(tx, head, own[0]!, candidates, held) : null;
      if (folded) return folded;
    }
    if (sameAlertOnly) return null;
    // Order: an older message waited behind this one's slot (it parked while this job was due): it goes first.
    const oldest = parked[0];
    if (!oldest || oldest.id >= head.id) return null;
    await tx.unpark(oldest.id, tx.now, held);
    await tx.park([head.id]);
    return 'handed over';
  });
  if (outcome) rt.wake();
  return outcome !== null;
}

/**
 * One digest job for the head's message and as many parked messages as fit (oldest first), holding the head's slot.
 * A message whose earlier send may have arrived (its answer was lost) is never folded: it is sent again as itself,
 * with its own msgUuid, so that DingTalk can drop the duplicate.
 */
async function fold(tx: Tx, head: SendJob, own: DeliveryRow, candidates: SendJob[], held: number | null): Promise<'folded' | null> {
  const theirs = await tx.deliveries({ jobIds: candidates.map((j) => j.id), statuses: ['queued'] });
  const byJob = new Map(candidates.map((j) => [j.id, j]));
  const items: (CarriedItem & { jobId: string })[] = [
    { ...head.payload.item!, deliveryId: own.id, jobId: head.id },
    ...theirs.filter((x) => !x.ambiguous).map((x) => ({ ...byJob.get(x.jobId)!.payload.item!, deliveryId: x.id, jobId: x.jobId })),
  ].sort((a, b) => (a.jobId < b.jobId ? -1 : 1));
  if (items.length < 2) return null;
  const chosen = packDigest(items);
  const taken = new Set(await tx.takeWaiting([...new Set(chosen.map((i) => i.jobId).filter((id) => id !== head.id))]));
  const carried = chosen.filter((i) => i.jobId === head.id || taken.has(i.jobId));
  if (carried.length < 2) return null;
  const id = newId('job');
  const moved = new Set((await tx.patch(carried.map((i) => i.deliveryId), { jobId: id, digestId: id }, ['queued'])).map((x) => x.id));
  const inDigest = carried.filter((i) => moved.has(i.deliveryId)).map(({ jobId: _, ...item }) => item);
  const left = items.filter((i) => !chosen.includes(i));
  const content: DigestContent = {
    items: inDigest,
    more: {
      count: left.length,
      firing: left.filter((i) => i.alert?.status === 'firing').length,
      resolved: left.filter((i) => i.alert?.status === 'resolved').length,
    },
  };
  const job: NewJob = {
    id,
    kind: 'send',
    notificationId: head.notificationId,
    channel: head.channel,
    destination: head.destination,
    mergeKey: null,
    runAt: tx.now,
    slotAt: held,
    payload: { body: head.payload.body, dueAt: Math.min(head.payload.dueAt, ...candidates.filter((j) => taken.has(j.id)).map((j) => j.payload.dueAt)), digest: content },
  };
  await tx.addJobs([job]);
  // The head's own message went into the digest (or, not chosen, waits for the next one).
  if (moved.has(own.id)) await settleJobs(tx, [head.id], tx.now);
  else await tx.park([head.id]);
  return 'folded';
}

/**
 * The destination's head is gone (it sent, failed, or is waiting out a backoff): the oldest parked job becomes the
 * next one. Does nothing while a head remains. True when a job was unparked.
 */
export async function promoteParked(store: Store, now: number, channel: string, destination: string): Promise<boolean> {
  return store.transact(null, now, async (tx) => {
    await tx.lockDestination(channel, destination);
    if (await tx.hasHead(channel, destination, [])) return false;
    const [oldest] = await tx.waitingJobs(channel, destination, 1);
    return oldest ? tx.unpark(oldest.id, tx.now, null) : false;
  });
}
