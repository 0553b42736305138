import type { Reservation } from './pacer.js';
import { sleep } from './backoff.js';
import { dueForSlot, WAIT_IN_HANDLER_MS, withTickets } from './pacing-context.js';
import type { JobContext } from './runtime.js';
import { work } from './unit-of-work.js';
import { fenceOf, type JobRow } from '../domain/jobs.js';

/**
 * A job's one call to DingTalk in a slot of its own (the one it held from an earlier run, or a new one): a slot too
 * far off sends the job back to the queue holding it; a near one is waited for. Answers null when the call was not
 * made (the job went back to the queue, or its lease was lost meanwhile).
 */
export async function callInOwnSlot<T>(ctx: JobContext, job: JobRow, reservations: Reservation[], call: () => Promise<T>): Promise<{ value: T } | null> {
  const { rt } = ctx;
  const slot = await rt.pacer.acquire(reservations, rt.now(), job.slotKey === null ? job.slotAt : null);
  if (slot - rt.now() > WAIT_IN_HANDLER_MS) {
    await work(rt, [fenceOf(job)], (tx) => tx.reschedule([job.id], dueForSlot(slot), { slotAt: slot }));
    return null;
  }
  if (slot > rt.now()) await sleep(slot - rt.now(), ctx.signal);
  if (ctx.signal.aborted) return null;
  return { value: await withTickets(reservations, slot, call) };
}
