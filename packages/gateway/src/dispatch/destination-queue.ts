import { type CarriedItem, type DigestContent, packDigest } from '../domain/digest.js';
import { newId } from '../domain/ids.js';
import { fenceOf, type JobOf, type NewJob } from '../domain/jobs.js';
import type { DeliveryRow } from '../domain/records.js';
import type { Store, Tx } from '../store/types.js';
import type { ChannelDescriptor } from './channels/descriptor.js';
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
 * The head's turn, its slot near: when it waited for that slot (`held`) or what waits behind it has waited long, folds
 * the messages parked behind it into a digest job that takes over the slot (where the destination allows digests;
 * `sameAlertOnly`: an urgent message going out of turn takes only the firing message of the alert it resolves), or
 * hands the slot to an older parked job. True: the head's own send is not made here (it went into the digest, or it
 * parked behind the older job).
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
    if (waiting.length === 0) return null;
    const parked = waiting.filter((j) => j.state === 'parked');
    const canFold = (j: SendJob) => j.payload.item !== undefined && !j.payload.digest && !j.payload.alone && j.sendStartedAt === null;
    // Order: the oldest message that cannot go in a digest is overtaken by none (a digest goes after it).
    const firstSeparate = parked.find((j) => !canFold(j));
    if (!sameAlertOnly && firstSeparate && firstSeparate.id < head.id) return handOver(tx, head, firstSeparate, held);
    // Folded when the head waited for its slot (the quota was spent), when what waits behind it has waited long (a
    // backlog behind the quota), or for an urgent message going out of turn. Otherwise — a burst the quota has room
    // for, waiting only behind the call before it — messages go one by one, each as itself.
    const backlog = parked.length > 0 && Math.min(...parked.map((j) => j.payload.dueAt)) <= tx.now - DIGEST_AFTER_MS;
    if (digest !== null && canFold(head) && own.length === 1 && !own[0]!.ambiguous && (held !== null || backlog || sameAlertOnly)) {
      const group = head.payload.item!.alert?.group;
      const candidates = (sameAlertOnly ? waiting : parked).filter(
        (j) => canFold(j) && (!firstSeparate || j.id < firstSeparate.id) && (!sameAlertOnly || (group !== undefined && j.payload.item!.alert?.group === group)),
      );
      if (candidates.length && (await fold(tx, head, own[0]!, candidates, held, digest.keywords))) return 'folded';
    }
    if (sameAlertOnly) return null;
    // Order: an older message waited behind this one's slot (it parked while this job was due): it goes first.
    const oldest = parked[0];
    return oldest && oldest.id < head.id ? handOver(tx, head, oldest, held) : null;
  });
  if (outcome) rt.wake();
  return outcome !== null;
}

/** The head's slot goes to an older parked job; the head parks behind it. */
async function handOver(tx: Tx, head: SendJob, older: SendJob, held: number | null): Promise<'handed over'> {
  await tx.unpark(older.id, tx.now, held);
  await tx.park([head.id]);
  return 'handed over';
}

/**
 * One digest job for the head's message and as many parked messages as fit (oldest first), holding the head's slot.
 * The folded jobs are kept, with their messages, until the digest has gone: if DingTalk refuses it, each is sent alone
 * (unfoldDigest). A message whose earlier send may have arrived (its answer was lost) is never folded: it is sent
 * again as itself, with its own msgUuid, so that DingTalk can drop the duplicate.
 */
async function fold(tx: Tx, head: SendJob, own: DeliveryRow, candidates: SendJob[], held: number | null, keywords: string[]): Promise<boolean> {
  const theirs = (await tx.deliveries({ jobIds: candidates.map((j) => j.id), statuses: ['queued'] })).filter((x) => !x.ambiguous);
  const byJob = new Map([head, ...candidates].map((j) => [j.id, j]));
  const carriedItem = (job: SendJob, deliveryId: string): CarriedItem => ({
    ...job.payload.item!,
    deliveryId,
    jobId: job.id,
    dueAt: job.payload.dueAt,
    ...(job.payload.urgent ? { urgent: true } : {}),
  });
  const items = [carriedItem(head, own.id), ...theirs.map((x) => carriedItem(byJob.get(x.jobId)!, x.id))].sort((a, b) => (a.jobId < b.jobId ? -1 : 1));
  if (items.length < 2) return false;
  const chosen = packDigest(items, keywords);
  // One message alone (the others did not fit with it): no digest; the head goes as itself.
  if (chosen.length < 2) return false;
  const id = newId('job');
  // The others are folded only if nobody claimed them meanwhile; the head (ours, leased) only once there are others.
  const folded = new Set(await tx.foldInto([...new Set(chosen.map((i) => i.jobId).filter((j) => j !== head.id))], id));
  const withHead = chosen.some((i) => i.jobId === head.id);
  const carried = chosen.filter((i) => folded.has(i.jobId) || (withHead && i.jobId === head.id));
  if (carried.length < 2) {
    // Claimed from under us: they go back to waiting as they were, and the head goes as itself.
    await tx.unfold(id, tx.now);
    await tx.park([...folded]);
    return false;
  }
  if (withHead) {
    await tx.park([head.id]);
    await tx.foldInto([head.id], id);
  }
  const moved = new Set((await tx.patch(carried.map((i) => i.deliveryId), { jobId: id, digestId: id }, ['queued'])).map((x) => x.id));
  const content: DigestContent = {
    items: carried.filter((i) => moved.has(i.deliveryId)),
    more: counted(items.filter((i) => !chosen.includes(i))),
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
    // Tried until the youngest message's deadline; each older one gives up at its own (send.ts).
    payload: { body: head.payload.body, dueAt: Math.max(...carried.map((i) => i.dueAt)), digest: content },
  };
  await tx.addJobs([job]);
  // Not chosen (it did not fit), the head waits for the next digest.
  if (!withHead) await tx.park([head.id]);
  return true;
}

const counted = (items: CarriedItem[]) => ({
  count: items.length,
  firing: items.filter((i) => i.alert?.status === 'firing').length,
  resolved: items.filter((i) => i.alert?.status === 'resolved').length,
});

/**
 * DingTalk refused a digest for good (and surely did not take it): each message it carried goes back to its own job
 * and is sent alone, with its own msgUuid and its own deadline, never folded again.
 */
export async function unfoldDigest(tx: Tx, digest: SendJob, reason: string): Promise<void> {
  const jobs = await tx.unfold(digest.id, tx.now);
  for (const j of jobs) if (j.kind === 'send') await tx.updatePayload(j.id, { ...j.payload, alone: true });
  const home = new Map((digest.payload.digest?.items ?? []).map((i) => [i.deliveryId, i.jobId]));
  const live = await tx.deliveries({ jobIds: [digest.id], statuses: ['queued', 'sending'] });
  const why = `the digest it was in was refused (${reason}); sent alone`;
  for (const x of live) {
    const jobId = home.get(x.id);
    if (!jobId) continue;
    if (x.status === 'sending') await tx.move([x.id], 'retryLater', { reason: why, jobId, digestId: null });
    else await tx.patch([x.id], { reason: why, jobId, digestId: null }, ['queued']);
  }
  await tx.complete([digest.id]);
}

/**
 * Messages of a digest that give up (their own deadline passed while it was retried) go back to their own jobs, which
 * are kept as dead letters: shown on their notifications, and an operator's retry sends each alone.
 */
export async function giveUpFolded(tx: Tx, items: CarriedItem[], reason: string): Promise<void> {
  for (const item of items) {
    const moved = await tx.move([item.deliveryId], 'sendFailed', { reason, jobId: item.jobId, digestId: null });
    if (moved.length === 0) continue;
    const [home] = await tx.jobs({ ids: [item.jobId] });
    if (home?.kind === 'send') await tx.updatePayload(home.id, { ...home.payload, alone: true });
    await tx.kill([item.jobId], reason);
  }
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
