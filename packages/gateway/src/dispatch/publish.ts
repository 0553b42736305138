import { fenceOf, type JobOf } from '../domain/jobs.js';
import { describe } from './describe.js';
import type { JobContext } from './runtime.js';
import { work } from './unit-of-work.js';

/** Waits between tries while the bus is away: doubling from a second to half a minute. */
const RETRY_BASE_MS = 1_000;
const RETRY_MAX_MS = 30_000;

/**
 * Publishes one status event to the bus (events.amqp) from the outbox: the event row and this job were written in the
 * transaction that made the change, so nothing is published for a change that did not commit, and nothing committed
 * is lost (the job stays until the broker confirmed). Events of one notification go in order. A bus that is away is
 * waited out for as long as it takes: the job is tried again with backoff, never given up.
 */
export async function runPublish(ctx: JobContext, job: JobOf<'publish'>): Promise<void> {
  const { rt } = ctx;
  const fence = [fenceOf(job)];
  const prepared = await work(rt, fence, async (tx) => {
    const event = await tx.event(job.payload.eventId);
    if (event?.busState !== 'pending' || event.body === null) {
      await tx.complete([job.id]);
      return null;
    }
    const earlier = (await tx.events(job.notificationId)).filter((e) => e.busState === 'pending' && (e.at < event.at || (e.at === event.at && e.id < event.id)));
    // Only an earlier event still on its way holds this one back (one kept as a dead letter does not).
    const waiting = earlier.length ? (await tx.jobs({ ids: earlier.map((e) => `bus_${e.id}`), states: ['ready', 'leased'] })) : [];
    if (waiting.length) {
      // After the earlier one's next try, not in a busy loop while it waits out a bus that is away.
      await tx.reschedule([job.id], Math.max(tx.now + 200, ...waiting.map((j) => j.runAt + 100)));
      return null;
    }
    if (!rt.bus) {
      await tx.reschedule([job.id], tx.now + RETRY_MAX_MS, { lastError: 'events.amqp is not configured on this instance' });
      return null;
    }
    return { event, body: event.body };
  });
  if (!prepared || !rt.bus) return;
  const { event, body } = prepared;
  try {
    await rt.bus.publish(event.type, event.id, body);
  } catch (err) {
    const delay = Math.min(RETRY_MAX_MS, RETRY_BASE_MS * 2 ** Math.min(job.failures, 10)) * (0.75 + Math.random() * 0.5);
    await work(rt, fence, (tx) => tx.reschedule([job.id], tx.now + delay, { countFailure: true, lastError: `publish: ${describe(err)}` }));
    return;
  }
  await work(rt, fence, async (tx) => {
    await tx.updateEvent(event.id, { busState: 'published' });
    await tx.complete([job.id]);
  });
  rt.metrics.published.inc();
}
