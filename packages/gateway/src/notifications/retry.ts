import type { JobRow } from '../domain/jobs.js';
import type { Store } from '../store/types.js';

/**
 * An operator's retry of a notification's dead letters: each dead job runs again with fresh counters and a fresh
 * deadline, its failed deliveries move back to queued (the state machine's one way out of `failed`, recorded in the
 * history), and a given-up callback is delivered again.
 */
export async function retryDeadLetters(store: Store, notificationId: string, now: number): Promise<{ jobs: number; deliveries: number }> {
  return store.transact(null, now, async (tx) => {
    const dead = await tx.jobs({ notificationId, states: ['dead'] });
    let deliveries = 0;
    for (const job of dead) {
      if (job.kind === 'send' || job.kind === 'resolve') {
        const failed = await tx.deliveries({ jobIds: [job.id], statuses: ['failed'] });
        deliveries += (await tx.move(failed.map((d) => d.id), 'operatorRetry', { clearLostAnswer: true, reason: `retried by an operator after: ${failed[0]?.reason ?? job.lastError ?? 'a failure'}` })).length;
      }
      if (job.kind === 'callback') {
        const event = await tx.event(job.payload.eventId);
        if (event?.callbackState === 'failed') await tx.updateEvent(event.id, { callbackState: 'pending', callbackAttempts: 0, callbackError: null });
      }
    }
    await tx.revive(dead.map((j) => ({ id: j.id, payload: freshDeadline(j, now) })), now);
    return { jobs: dead.length, deliveries };
  });
}

/** Sends give up a fixed time after they were due: a retried one counts from now (each message of a digest too). */
function freshDeadline(job: JobRow, now: number): unknown {
  if (job.kind === 'send' && job.payload.digest) return { ...job.payload, dueAt: now, digest: { ...job.payload.digest, items: job.payload.digest.items.map((i) => ({ ...i, dueAt: now })) } };
  return job.kind === 'send' || job.kind === 'resolve' ? { ...job.payload, dueAt: now } : job.payload;
}

/**
 * Delivers a notification's callbacks again: every event whose delivery gave up, or, when none did, the latest one
 * (the receiver asked for it). The event id stays the same, so a receiver can tell a re-delivery.
 */
export async function redeliverCallbacks(store: Store, notificationId: string, now: number): Promise<string[]> {
  return store.transact(null, now, async (tx) => {
    const events = (await tx.events(notificationId)).filter((e) => e.callbackState !== 'none');
    const failed = events.filter((e) => e.callbackState === 'failed');
    const chosen = failed.length ? failed : events.slice(-1).filter((e) => e.callbackState === 'delivered');
    const dead = await tx.jobs({ notificationId, kinds: ['callback'], states: ['dead'] });
    await tx.complete(dead.filter((j) => chosen.some((e) => j.kind === 'callback' && j.payload.eventId === e.id)).map((j) => j.id));
    for (const e of chosen) {
      await tx.updateEvent(e.id, { callbackState: 'pending', callbackAttempts: 0, callbackError: null });
      await tx.addJobs([{ id: `cbk_${e.id}_${now}`, kind: 'callback', notificationId, channel: null, destination: null, mergeKey: null, runAt: now, payload: { eventId: e.id } }]);
    }
    return chosen.map((e) => e.id);
  });
}
