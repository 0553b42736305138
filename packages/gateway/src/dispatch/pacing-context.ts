import { AsyncLocalStorage } from 'node:async_hooks';
import type { PacingWindows, Reservation } from './pacer.js';

/**
 * What the client's `beforeCall` hook (installed by the gateway on every DingTalk client) knows about the job it is
 * calling for: slots the job reserved for its own call (tickets: used instead of reserving again), a slot an earlier
 * run of the job held for a call it deferred, how long it may wait in the handler before deferring, and how long its
 * lease surely lasts. Every other call (a token fetch, a lookup, a second try after a refreshed token) reserves its
 * own slot here.
 */
class PaceContext {
  constructor(
    /** key → until when the ticket's slot may still be used (its slot plus the rule's margin for lateness). */
    private readonly tickets: Map<string, number>,
    private held: { key: string; at: number } | null,
    readonly maxWaitMs: number,
    readonly lease: JobLease | null,
  ) {}
  /**
   * Uses the job's ticket for `key`, if it is still good: a call that went late (it waited for a slow token fetch)
   * reserves again rather than going out beside calls that are on time.
   */
  take(key: string, now: number): boolean {
    const until = this.tickets.get(key);
    this.tickets.delete(key);
    return until !== undefined && now <= until;
  }
  /** The slot held for `key` (once). */
  heldFor(key: string): number | null {
    if (this.held?.key !== key) return null;
    const at = this.held.at;
    this.held = null;
    return at;
  }
}

/** A call's slot is too far off to wait for in the handler: the job goes back to the queue, holding it. */
export class PaceDeferral extends Error {
  override name = 'PaceDeferral';
  constructor(
    readonly key: string,
    readonly at: number,
  ) {
    super(`next call on ${key} has its slot at ${new Date(at).toISOString()}`);
  }
}

/**
 * The job's lease may run out before this call is on its way (its renewals stalled: an event loop blocked, a slow
 * store): the call is not made, since another worker may take the job over and make it too. Nothing was sent; the job
 * goes back to the queue.
 */
export class LeaseTooShort extends Error {
  override name = 'LeaseTooShort';
  constructor(
    readonly leftMs: number,
    /** The slot this call had reserved: the job holds it for its next run instead of reserving another. */
    readonly key: string | null,
    readonly at: number,
  ) {
    super(`the job's lease has ${Math.round(leftMs)} ms left: too little to start a call to DingTalk`);
  }
}

/** How long a job's lease surely lasts, as its dispatcher last confirmed it, and the least it must have left for a call. */
export interface JobLease {
  leftMs(): number;
  readonly minLeftMs: number;
}

/** A call's slot this close is waited for in the handler; a later one sends the job back to the queue, holding it. */
export const WAIT_IN_HANDLER_MS = 250;

/**
 * A job holding a slot is due this long before it: its claim and the writes before its call happen ahead of the slot,
 * and the call goes at it. Due at the slot itself, those writes (tens of milliseconds, more under load) made the call
 * late by more than an app call's margin (125 ms) often enough that the slot went unused and another was reserved at
 * the back of the queue: a busy app's calls ran at about half of the rate its quota allows.
 */
export const HELD_CLAIM_LEAD_MS = 100;

/** When a job holding the slot at `slot` is due. */
export const dueForSlot = (slot: number): number => slot - HELD_CLAIM_LEAD_MS;

const storage = new AsyncLocalStorage<PaceContext>();

/** Runs a job's handler: calls may wait up to `maxWaitMs` for a slot, longer ones defer the job (PaceDeferral). */
export function inJob<T>(held: { key: string; at: number } | null, maxWaitMs: number, lease: JobLease | null, fn: () => Promise<T>): Promise<T> {
  return storage.run(new PaceContext(new Map(), held, maxWaitMs, lease), fn);
}

/** The slot (at `slot`) a job already reserved for its own next call, in each of the windows `reserved`. */
export function withTickets<T>(reserved: Reservation[], slot: number, fn: () => Promise<T>): Promise<T> {
  const outer = storage.getStore();
  const tickets = new Map(reserved.map((r) => [r.key, slot + r.rule.lateMs]));
  return storage.run(new PaceContext(tickets, null, outer?.maxWaitMs ?? Number.POSITIVE_INFINITY, outer?.lease ?? null), fn);
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * A `beforeCall` hook: the job's ticket for this call, the slot it held, or a slot of its own, waited for or deferred;
 * then, last thing before the call goes out, the job's lease must still hold (LeaseTooShort otherwise).
 */
export function pacedCalls(pacer: PacingWindows, now: () => number, reservationsFor: (api: string) => Reservation[]): (api: string) => Promise<void> {
  return async (api) => {
    const context = storage.getStore();
    const own = await pace(pacer, now, reservationsFor(api), context);
    const lease = context?.lease;
    if (lease) {
      const left = lease.leftMs();
      if (left < lease.minLeftMs) throw new LeaseTooShort(left, own?.key ?? null, own?.at ?? now());
    }
  };
}

/** Waits for the call's slot; returns the slot when the call reserved one of its own (not a ticket). */
async function pace(pacer: PacingWindows, now: () => number, calls: Reservation[], context: PaceContext | undefined): Promise<{ key: string; at: number } | null> {
  if (calls.length === 0) return null;
  if (context && calls.map((c) => context.take(c.key, now())).every(Boolean)) return null;
  const key = calls[0]!.key;
  const at = await pacer.acquire(calls, now(), context?.heldFor(key) ?? null);
  const wait = at - now();
  if (wait > (context?.maxWaitMs ?? Number.POSITIVE_INFINITY)) throw new PaceDeferral(key, at);
  if (wait > 0) await sleep(wait);
  return { key, at };
}
