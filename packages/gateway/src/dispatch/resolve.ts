import { DingTalkError } from '@dingpush/dingtalk';
import { newId } from '../domain/ids.js';
import { normalizeMobile } from '../domain/mobile.js';
import { AFTER_PREVIOUS_PART, fenceOf, type JobOf, type NewJob } from '../domain/jobs.js';
import type { DeliveryRow } from '../domain/records.js';
import { CHANNEL_DESCRIPTORS } from './channels/index.js';
import { describe } from './describe.js';
import { PaceDeferral } from './pacing-context.js';
import type { JobContext } from './runtime.js';
import { work } from './unit-of-work.js';

/**
 * Resolves a notification's mobiles to userids: from the app's directory when a sync listed the mobile, else by a
 * lookup (the client caches hits and misses; each lookup is paced through the client's beforeCall hook). Each complete batch (100 for work notifications) goes to a send job of its own as
 * soon as it is resolved, and the first batch goes after `delivery.firstFlushMs` even when not full, so the first
 * recipients hear quickly while the rest still share calls. Claimed again after a crash, the job reads only the
 * mobiles not resolved yet.
 */
export async function runResolve(ctx: JobContext, job: JobOf<'resolve'>): Promise<void> {
  const { rt, signal } = ctx;
  const p = job.payload;
  const appName = job.destination!;
  const app = rt.apps.get(appName);
  const fence = [fenceOf(job)];
  const descriptor = CHANNEL_DESCRIPTORS[p.sendChannel];
  if (!app) {
    const reason = `app "${appName}" is no longer configured`;
    await work(rt, fence, async (tx) => {
      await tx.move((await tx.deliveries({ jobIds: [job.id], statuses: ['queued'] })).map((d) => d.id), 'sendFailed', { reason });
      await tx.kill([job.id], reason);
    });
    return;
  }
  const pending = await rt.store.deliveries({ jobIds: [job.id], statuses: ['queued'], unresolved: true });
  const startedAt = rt.now();
  // The first batch goes once the lookups have taken firstFlushMs, or at once on a later run (the job was deferred
  // waiting for lookup slots, or its worker died): the first recipients should not wait for the hundredth.
  let flushedAny = p.flushed === true;
  const firstIsDue = () => !flushedAny && (job.claims > 1 || rt.now() - startedAt >= rt.config.delivery.firstFlushMs);
  // A message split into parts has one delivery per part for each mobile: a mobile is looked up once for all of them.
  let resolved: { rows: DeliveryRow[]; userid: string }[] = [];
  let unknown: DeliveryRow[] = [];

  const flush = async () => {
    if (resolved.length === 0 && unknown.length === 0) return;
    const batch = resolved;
    const invalid = unknown;
    resolved = [];
    unknown = [];
    await work(rt, fence, async (tx) => {
      await tx.move(
        invalid.map((d) => d.id),
        'unresolvable',
        { reason: 'no active DingTalk user has this mobile' },
      );
      if (batch.length === 0) return;
      // The batch becomes a send job of its own (a chain of them, one per part, for a split message); a mobile
      // recalled meanwhile is no longer queued and stays out.
      const bodies = p.bodies ?? [p.body];
      const sendJobs: NewJob[] = [];
      for (const [i, body] of bodies.entries()) {
        const mergeKey = p.bodies ? `${job.mergeKey}:${i + 1}` : job.mergeKey;
        const sendJob: NewJob = { id: newId('job'), kind: 'send', notificationId: job.notificationId, channel: p.sendChannel, destination: appName, mergeKey, runAt: tx.now, payload: { body, dueAt: p.dueAt } };
        let moved = 0;
        for (const { rows, userid } of batch) {
          const ofPart = rows.filter((r) => (r.part ?? 1) === i + 1).map((r) => r.id);
          if (ofPart.length) moved += (await tx.patch(ofPart, { userid, jobId: sendJob.id }, ['queued'])).length;
        }
        // A part with nothing left to send (all recalled) is left out of the chain.
        if (moved > 0) sendJobs.push(sendJob);
      }
      if (sendJobs.length > 0) {
        // The first is due now, each next one once the one before it has gone (a part with nothing left is skipped).
        for (let i = 1; i < sendJobs.length; i++) sendJobs[i] = { ...sendJobs[i]!, follows: sendJobs[i - 1]!.id, runAt: AFTER_PREVIOUS_PART };
        await tx.addJobs(sendJobs);
      }
      if (!flushedAny) await tx.updatePayload(job.id, { ...p, flushed: true });
    });
    flushedAny = true;
    rt.wake();
  };

  const byMobile = new Map<string, DeliveryRow[]>();
  for (const row of pending) byMobile.set(row.recipient, [...(byMobile.get(row.recipient) ?? []), row]);
  // The app's directory (a sync listed the org) answers the mobiles it knows without a call; the others are looked
  // up one by one, paced. Those it knows go first, so their batches fill and go at once.
  const known = await rt.store.directoryUserids(app.appKey, [...byMobile.keys()].map(normalizeMobile));
  const fromDirectory = (mobile: string) => known.get(normalizeMobile(mobile));
  const order = [...byMobile].sort(([a], [b]) => Number(fromDirectory(a) === undefined) - Number(fromDirectory(b) === undefined));
  for (const [mobile, rows] of order) {
    if (signal.aborted) return;
    let userid: string | null;
    try {
      userid = fromDirectory(mobile) ?? (await app.client.getUserIdByMobile(mobile));
    } catch (err) {
      // Waiting for a lookup slot: the job comes back holding it, and looks up from the cache what it had resolved.
      if (err instanceof PaceDeferral) {
        if (resolved.length >= descriptor.batchLimit || (resolved.length > 0 && firstIsDue())) await flush();
        throw err;
      }
      await flush();
      if (err instanceof DingTalkError && !err.retryable) {
        // The app cannot look mobiles up at all (no permission, wrong app): every mobile left fails with the reason.
        const reason = `mobile lookup failed: ${describe(err)}`;
        await work(rt, fence, async (tx) => {
          await tx.move((await tx.deliveries({ jobIds: [job.id], statuses: ['queued'] })).map((d) => d.id), 'sendFailed', { reason });
          await tx.kill([job.id], reason);
        });
        return;
      }
      throw err;
    }
    if (userid === null) unknown.push(...rows);
    else resolved.push({ rows, userid });
    if (resolved.length >= descriptor.batchLimit || (resolved.length > 0 && firstIsDue())) await flush();
  }
  await flush();
  await work(rt, fence, async (tx) => {
    // Anything a concurrent writer left queued here (none normally) is looked at again; otherwise the job is done.
    const left = await tx.deliveries({ jobIds: [job.id], statuses: ['queued'], unresolved: true });
    if (left.length) await tx.reschedule([job.id], tx.now);
    else await tx.complete([job.id]);
  });
}
