import { DingTalkError, DingTalkValidationError } from '@dingpush/dingtalk';
import type { Channel } from '../domain/delivery-states.js';
import { newId } from '../domain/ids.js';
import { fenceOf, type JobOf, type TrackPayload } from '../domain/jobs.js';
import type { AttemptRecord, DeliveryRow } from '../domain/records.js';
import type { Tx } from '../store/types.js';
import { retryDelay, sleep } from './backoff.js';
import { CHANNEL_DESCRIPTORS, type ChannelDescriptor } from './channels/index.js';
import type { SendAnswer } from './channels/descriptor.js';
import { nextShanghaiMidnight } from './day.js';
import { describe } from './describe.js';
import { giveUpFolded, parkBehindHead, takeTurn, unfoldDigest } from './destination-queue.js';
import { renderDigest } from '../domain/digest.js';
import { sendWithMedia } from '../media/materialize.js';
import { moveToNewJob, recallIfRequested, settleJobs } from './job-writes.js';
import { dueForSlot, LeaseTooShort, PaceDeferral, WAIT_IN_HANDLER_MS, withTickets } from './pacing-context.js';
import type { JobContext } from './runtime.js';
import { work } from './unit-of-work.js';


type SendJob = JobOf<'send'>;
const ids = (rows: { id: string }[]) => rows.map((r) => r.id);

/**
 * The one send path, for every channel (its descriptor says what differs): read what is still to send, settle lost
 * answers by the channel's policy, take a slot, move the batch to `sending` under the lease, call DingTalk once, and
 * record the outcome — every write fenced by the jobs' leases and guarded by the state machine, so a recall or
 * another lease holder that got there first simply wins.
 */
export async function runSend(ctx: JobContext, jobs: SendJob[]): Promise<void> {
  const { rt } = ctx;
  const first = jobs[0]!;
  const d = CHANNEL_DESCRIPTORS[first.channel as Channel];
  const destination = first.destination!;
  const fences = jobs.map(fenceOf);
  const jobIds = ids(jobs);
  const body = first.payload.body;

  if (!d.configured(rt, destination)) {
    const reason = `${d.channel === 'robot' ? 'robot' : 'app'} "${destination}" is no longer configured`;
    await work(rt, fences, async (tx) => {
      await tx.move(ids(await tx.deliveries({ jobIds, statuses: ['queued', 'sending'] })), 'sendFailed', { reason });
      await tx.kill(jobIds, reason);
    });
    return;
  }

  let live = await rt.store.deliveries({ jobIds, statuses: ['queued', 'sending'] });
  // Still `sending` when claimed again: the call's answer was lost (the worker died, or it timed out).
  const lost = live.filter((x) => x.status === 'sending');
  if (lost.length) {
    // The send began at its job's sendStartedAt (or, with no record of it, no later than now).
    const startedAt = Math.min(rt.now(), ...jobs.map((j) => j.sendStartedAt ?? Number.POSITIVE_INFINITY));
    await work(rt, fences, (tx) => settleLostAnswers(tx, d, lost, 'the worker sending it stopped before DingTalk answered', startedAt));
    live = await rt.store.deliveries({ jobIds, statuses: ['queued'] });
  }
  const unprovable = d.lostAnswer === 'resend-and-prove' ? live.filter((x) => x.lostAnswerAt !== null && !proofStillPossible(x.lostAnswerAt, rt.now())) : [];
  if (unprovable.length) {
    // Sent again now, a copy that arrived before midnight would arrive twice: DingTalk's filter forgets it at midnight.
    const reason =
      "no answer from DingTalk to a send the day before, and its duplicate filter (143106) only proves arrivals on the same day: not sent again, so as never to send it twice; it may have arrived";
    live = live.filter((x) => !unprovable.includes(x));
    await work(rt, fences, async (tx) => {
      await tx.move(ids(unprovable), 'sendFailed', { reason });
      // Kept as a dead letter: an operator who knows it did not arrive can send it again (POST …/retry).
      if (live.length === 0) await tx.kill(jobIds, reason);
    });
    if (live.length === 0) return;
  }
  // A digest carries every delivery it was given that is still to send; its body lists exactly those.
  const digest = first.payload.digest;
  const batch = digest ? live : d.selectBatch(live);
  if (batch.length === 0) {
    await work(rt, fences, (tx) => settleJobs(tx, jobIds, rt.now()));
    return;
  }

  // A slot in every window the call counts against (FIFO): one held from an earlier reservation, or a new one. A slot
  // too far off is reserved and held while the job waits in the queue. A near one is taken only once the batch has
  // started, right before the call, so that DingTalk sees the call close to its slot whatever the store was doing.
  // An urgent message whose slot is far off takes one of the slots kept in reserve, if one is near.
  const own = await d.pacing(rt, destination, batch);
  let reservations = own;
  let held = jobs.every((j) => j.slotAt !== null && j.slotKey === null) ? Math.min(...jobs.map((j) => j.slotAt!)) : null;
  let ahead = held !== null ? await rt.pacer.acquire(reservations, rt.now(), held) : await rt.pacer.peek(reservations, rt.now());
  let outOfTurn = false;
  const reserve = d.reserve && isUrgent(first) ? d.reserve(rt, destination) : [];
  if (ahead - rt.now() > WAIT_IN_HANDLER_MS && held === null && reserve.length) {
    const reserved = await rt.pacer.peek(reserve, rt.now());
    if (reserved - rt.now() <= WAIT_IN_HANDLER_MS) [reservations, ahead, outOfTurn] = [reserve, reserved, true];
  }
  if (ahead - rt.now() > WAIT_IN_HANDLER_MS) {
    // Behind a destination's queue, a job parks behind its head instead of holding a slot of its own.
    if (d.waiting === 'queue' && (await parkBehindHead(rt, jobs, waitingReason(d, ahead - rt.now())))) return;
    const slot = held !== null ? ahead : await rt.pacer.acquire(reservations, rt.now());
    await holdSlot(rt, d, jobs, batch, slot);
    return;
  }
  if (held !== null) held = ahead;
  // Its turn: the head carries what waits behind it (a digest), or lets an older message go first.
  if (d.waiting === 'queue' && !digest && jobs.length === 1 && (await takeTurn(rt, d, first, batch, held, outOfTurn))) return;

  // Start: only what is still queued goes (a recall may have taken some meanwhile); the per-user cap holds some back.
  const started = await work(rt, fences, async (tx) => {
    const rows = await tx.move(ids(batch), 'startSend', { addAttempt: true });
    const heldBack = rows.length && d.admit ? await d.admit(tx, rt, destination, rows) : null;
    if (heldBack) await moveToNewJob(tx, heldBack.rows, 'retryLater', { ...like(first), body }, heldBack.until, heldBack.reason);
    const go = heldBack ? rows.filter((r) => !heldBack.rows.includes(r)) : rows;
    if (go.length) await tx.startSend(jobIds);
    else await settleJobs(tx, jobIds, tx.now);
    return go;
  });
  if (started.length === 0) return;
  // From here until the call, nothing has been sent: every way out puts the batch back (undoing its attempt) rather
  // than leave it `sending`, which the next run would take for a lost answer (a resend, or a chat reported failed).
  const putBack = (runAt: number, opts: { slotAt?: number; slotKey?: string; lastError?: string }) =>
    work(rt, fences, async (tx) => {
      await tx.move(ids(started), 'retryLater', { undoAttempt: true });
      if (d.release) await d.release(tx, rt, destination, started);
      await tx.reschedule(jobIds, runAt, { clearSendStarted: true, ...opts });
    });
  const givenUp = (e: unknown) => rt.log.warn({ err: e, jobs: jobIds }, 'putting a batch back failed; the next holder of its lease settles it');
  if (ctx.signal.aborted) return void (await putBack(rt.now(), {}).catch(givenUp));
  let slot: number;
  try {
    slot = await rt.pacer.acquire(reservations, rt.now(), held);
  } catch (err) {
    await putBack(rt.now() + rt.config.delivery.backoffBaseMs, { lastError: describe(err) }).catch(givenUp);
    return;
  }
  if (slot - rt.now() > WAIT_IN_HANDLER_MS) {
    // Others took the near slots meanwhile: the batch goes back to waiting, holding the slot it got.
    await work(rt, fences, async (tx) => {
      await tx.move(ids(started), 'retryLater', { undoAttempt: true });
      if (d.release) await d.release(tx, rt, destination, started);
    });
    await holdSlot(rt, d, jobs, started, slot);
    return;
  }
  if (slot > rt.now()) await sleep(slot - rt.now(), ctx.signal);
  if (ctx.signal.aborted) return void (await putBack(rt.now(), { slotAt: slot }).catch(givenUp));

  // A digest lists exactly what it carries: what a recall took while it waited is not in it.
  const callBody = digest
    ? renderDigest({ ...digest, items: digest.items.filter((i) => started.some((x) => x.id === i.deliveryId)) }, d.digest?.(rt, destination)?.keywords ?? [])
    : body;
  const callStarted = performance.now();
  const at = rt.now();
  let answer: SendAnswer;
  // Out of turn, the reserve's slot stands for the call's own quota too: the client's pacing hook asks for that one.
  const tickets = outOfTurn ? [...reservations, ...own] : reservations;
  try {
    // Media the message shows: uploaded (once per app and content) or linked, right before the send that needs it. A
    // second send after a refused cached media_id takes a slot of its own (the ticket is the first send's).
    answer = await withTickets(tickets, slot, () =>
      sendWithMedia(rt, destination, callBody, (ready) => d.send(rt, destination, ready, started, digest ? first.id : started[0]!.id)),
    );
  } catch (err) {
    if (err instanceof PaceDeferral) {
      // A call the send needed first (a token fetch) has to wait: nothing was sent; back to the queue, holding its slot.
      await putBack(dueForSlot(err.at), { slotAt: err.at, slotKey: err.key });
      return;
    }
    if (err instanceof LeaseTooShort) {
      // The lease may not outlast the call's start: nothing was sent. The send's own slot, if it was not used, is held
      // (valid within the rule's margin) for the job's next run. A call that had to reserve on the send's own window
      // (the re-send after a refused media_id, or a send whose ticket went late) means that slot was spent or void:
      // held, it would let the next run call beside the call that used it.
      const spent = err.key !== null && tickets.some((t) => t.key === err.key);
      await putBack(rt.now(), spent ? { lastError: err.message } : { slotAt: slot, lastError: err.message }).catch(givenUp);
      return;
    }
    await failed(ctx, d, jobs, started, err, attemptRecords(jobIds, at, err, callStarted));
    return;
  }
  await work(rt, fences, async (tx) => {
    await tx.recordAttempts(attemptRecords(jobIds, at, null, callStarted));
    const refused = new Set<string>();
    for (const r of answer.refused ?? []) {
      if (r.ids.length === 0) continue;
      for (const id of r.ids) refused.add(id);
      await tx.move(r.ids, r.move, { reason: r.reason, ...(answer.processQueryKey ? { processQueryKey: answer.processQueryKey } : {}) });
    }
    const ok = await tx.move(
      started.filter((x) => !refused.has(x.id)).map((x) => x.id),
      'accepted',
      { reason: null, taskId: answer.taskId ?? null, processQueryKey: answer.processQueryKey ?? null },
    );
    if (ok.length && d.tracking) await tx.addJobs([trackJob(first, ok, answer, body, tx.now, rt.config.tracking.firstCheckMs)]);
    await recallIfRequested(tx, destination, ok);
    await settleJobs(tx, jobIds, tx.now);
    // The messages folded into a digest that went are done.
    if (digest) await tx.dropFolded(first.id);
  });
}

/** The jobs wait in the queue until `slot`, which they hold; their waiting deliveries say why. */
async function holdSlot(rt: JobContext['rt'], d: ChannelDescriptor, jobs: SendJob[], batch: DeliveryRow[], slot: number): Promise<void> {
  await work(rt, jobs.map(fenceOf), async (tx) => {
    const quiet = batch.filter((x) => x.reason === null).map((x) => x.id);
    if (quiet.length) await tx.patch(quiet, { reason: waitingReason(d, slot - tx.now) }, ['queued']);
    await tx.reschedule(ids(jobs), dueForSlot(slot), { slotAt: slot, clearSendStarted: true });
  });
  // Slots are handed out in order: until shortly before this one, a new job for the destination could only wait too.
  // Not where slots are kept in reserve: an urgent message may go now, out of turn, and the gate cannot tell it apart.
  const destination = jobs[0]!.destination!;
  if (!d.reserve?.(rt, destination).length) rt.gates.close(d.channel, destination, slot - WAIT_IN_HANDLER_MS);
}

/** An urgent message, or a digest carrying one: it may use the slots a destination keeps in reserve. */
const isUrgent = (j: SendJob) => j.payload.urgent === true || (j.payload.digest?.items.some((i) => i.urgent) ?? false);

const like = (j: SendJob) => ({ channel: j.channel as Channel, destination: j.destination!, mergeKey: j.mergeKey });

function waitingReason(d: ChannelDescriptor, waitMs: number): string {
  const secs = Math.round(waitMs / 1000);
  if (d.channel === 'robot') return `waiting for the robot's 20-a-minute quota (about ${secs} s)`;
  return `waiting for DingTalk's call quota (about ${secs} s)`;
}

/**
 * A resend proves an earlier arrival by DingTalk's same-content filter only while it reaches DingTalk on the day (in
 * Asia/Shanghai) the lost send started: with a minute to spare for the call to get there.
 */
const proofStillPossible = (lostAnswerAt: number, now: number) => now < nextShanghaiMidnight(lostAnswerAt) - 60_000;

/** Deliveries whose send's answer was lost, by the channel's policy. */
async function settleLostAnswers(tx: Tx, d: ChannelDescriptor, lost: DeliveryRow[], why: string, startedAt: number): Promise<void> {
  if (d.lostAnswer === 'report') {
    await tx.move(ids(lost), 'sendFailed', {
      reason: `no answer from DingTalk (${why}); this channel can neither de-duplicate nor be asked whether it arrived, so it was not repeated`,
    });
    return;
  }
  await tx.move(ids(lost), 'retryLater', {
    ambiguous: true,
    lostAnswerAt: startedAt,
    reason: `no answer from DingTalk (${why}); sending again: ${d.lostAnswer === 'resend' ? 'DingTalk drops the duplicate (same msgUuid)' : 'DingTalk\'s duplicate filter (143106) proves an earlier arrival'}`,
  });
}

/** The call failed: by DingTalk's error class, per job (each keeps its own deadline). */
async function failed(ctx: JobContext, d: ChannelDescriptor, jobs: SendJob[], sent: DeliveryRow[], err: unknown, attempts: AttemptRecord[]): Promise<void> {
  let started = sent;
  const { rt } = ctx;
  const cfg = rt.config.delivery;
  const now = rt.now();
  const reason = describe(err);
  const ding = err instanceof DingTalkError ? err : undefined;
  const ambiguous = ding ? ding.mayHaveSucceeded : !(err instanceof DingTalkValidationError);
  const permanent = err instanceof DingTalkValidationError || (ding !== undefined && !ding.retryable && !ding.mayHaveSucceeded);
  const destination = jobs[0]!.destination!;
  const sendAttempts = Math.max(...jobs.map((j) => j.sendAttempts)) + 1;
  const delay = retryDelay(cfg, sendAttempts, err);
  const where = { channel: d.channel, destination, jobs: ids(jobs), recipients: started.length };

  if (ding?.errorClass === 'rate_limited' && ding.waitMs) {
    // Blocked anyway (another sender shares the robot or app?): nothing goes there until the block ends.
    const own = (await d.pacing(rt, destination, started))[0]!;
    try {
      for (const window of [own, ...(d.reserve?.(rt, destination) ?? [])]) await rt.pacer.block(window, now + ding.waitMs, now);
    } catch (err) {
      // The windows are away (Redis): this batch still waits out the block (its retry delay); the outcome is recorded.
      rt.log.warn({ err: describe(err), channel: d.channel }, "DingTalk's block could not be recorded in the pacing windows");
    }
  }
  const at = attempts[0]?.at ?? now;
  const outcome = await work(rt, jobs.map(fenceOf), async (tx) => {
    await tx.recordAttempts(attempts);
    if (ambiguous && d.lostAnswer === 'report') {
      await settleLostAnswers(tx, d, started, reason, at);
      await tx.kill(ids(jobs), `no answer from DingTalk (${reason}); not repeated`);
      return 'reported';
    }
    if (!ambiguous && d.release) await d.release(tx, rt, destination, started);
    // A digest DingTalk surely did not take, refused for good or out of time: each message goes on alone instead, with
    // its own msgUuid and deadline (a young one is not given up at an old one's deadline).
    const digest = jobs[0]!.payload.digest;
    if (digest && !ambiguous && permanent) {
      await unfoldDigest(tx, jobs[0]!, reason);
      return 'unfolded';
    }
    // A digest keeps each message's own deadline: those past it give up, the others are sent again (with the digest's
    // msgUuid: if the first call did arrive, DingTalk drops the resend, and nothing shows twice).
    const expired = digest ? digest.items.filter((i) => started.some((x) => x.id === i.deliveryId) && now + delay >= i.dueAt + cfg.giveUpAfterMs) : [];
    if (expired.length) {
      await giveUpFolded(tx, expired, `gave up (its own deadline passed while its digest was retried); last error: ${reason}${ambiguous ? '; it may have arrived' : ''}`);
      started = started.filter((x) => !expired.some((i) => i.deliveryId === x.id));
      // Nothing left to carry: the digest is done (each message has its own dead letter).
      if (started.length === 0) {
        await settleJobs(tx, ids(jobs), now);
        return 'gave up';
      }
    }
    if (permanent) {
      await tx.move(ids(await tx.deliveries({ jobIds: ids(jobs), statuses: ['queued', 'sending'] })), 'sendFailed', { reason });
      await tx.kill(ids(jobs), reason);
      return 'failed';
    }
    const giveUp = jobs.filter((j) => now + delay >= j.payload.dueAt + cfg.giveUpAfterMs);
    const retry = jobs.filter((j) => !giveUp.includes(j));
    const inJobs = (list: SendJob[]) => started.filter((x) => list.some((j) => j.id === x.jobId));
    if (retry.length) {
      const retryReason = ambiguous
        ? `no answer from DingTalk (${reason}); sending again: ${d.lostAnswer === 'resend' ? 'DingTalk drops the duplicate (same msgUuid)' : 'DingTalk\'s duplicate filter (143106) proves an earlier arrival'}`
        : ding?.errorClass === 'rate_limited'
          ? `${reason}; waiting ${Math.max(1, Math.round(delay / 1000))} s`
          : `retrying after ${reason}`;
      await tx.move(ids(inJobs(retry)), 'retryLater', { reason: retryReason, ...(ambiguous ? { ambiguous: true, lostAnswerAt: at } : {}) });
      await tx.reschedule(ids(retry), now + delay, { lastError: reason, clearSendStarted: true, slotAt: null });
    }
    if (giveUp.length) {
      const why = `gave up after ${Math.round((now - Math.min(...giveUp.map((j) => j.payload.dueAt))) / 60_000)} min; last error: ${reason}`;
      await tx.move(ids(await tx.deliveries({ jobIds: ids(giveUp), statuses: ['queued', 'sending'] })), 'sendFailed', { reason: why });
      await tx.kill(ids(giveUp), why);
    }
    return giveUp.length ? 'gave up' : 'retrying';
  });
  if (outcome === 'unfolded') rt.wake();
  if (outcome === 'retrying') rt.log.debug({ ...where, reason, retryInMs: Math.round(delay) }, 'send failed; retrying');
  else rt.log.warn({ ...where, reason, outcome }, 'delivery failed');
}

function trackJob(first: SendJob, sent: DeliveryRow[], answer: SendAnswer, body: Record<string, unknown>, now: number, firstCheckMs: number) {
  const payload: TrackPayload = {
    channel: first.channel as TrackPayload['channel'],
    app: first.destination!,
    ...(answer.taskId ? { taskId: Number(answer.taskId) } : {}),
    ...(answer.processQueryKey ? { processQueryKey: answer.processQueryKey } : {}),
    deliveryIds: ids(sent),
    body,
    mergeKey: first.mergeKey,
    sentAt: now,
    polls: 0,
    readChecks: 0,
  };
  return { id: newId('job'), kind: 'track' as const, notificationId: sent[0]!.notificationId, channel: first.channel, destination: first.destination, mergeKey: null, runAt: now + firstCheckMs, payload };
}

function attemptRecords(jobIds: string[], at: number, err: unknown, started: number): AttemptRecord[] {
  const ding = err instanceof DingTalkError ? err : undefined;
  const record: Omit<AttemptRecord, 'jobId'> = {
    at,
    outcome: err === null ? 'ok' : ding?.mayHaveSucceeded ? 'ambiguous' : (ding?.errorClass ?? 'retry'),
    code: ding ? String(ding.code) : null,
    message: err === null ? null : describe(err),
    durationMs: Math.round(performance.now() - started),
  };
  return jobIds.map((jobId) => ({ jobId, ...record }));
}
