import { AsyncLocalStorage } from 'node:async_hooks';
import type { Pacer, Reservation } from './pacer.js';

/**
 * What the client's `beforeCall` hook (installed by the gateway on every DingTalk client) knows about the job it is
 * calling for: slots the job reserved for its own call (tickets: used instead of reserving again), a slot an earlier
 * run of the job held for a call it deferred, and how long it may wait in the handler before deferring. Every other
 * call (a token fetch, a lookup, a second try after a refreshed token) reserves its own slot here.
 */
class PaceContext {
  constructor(
    private readonly tickets: Set<string>,
    private held: { key: string; at: number } | null,
    readonly maxWaitMs: number,
  ) {}
  take(key: string): boolean {
    return this.tickets.delete(key);
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

/** A call's slot this close is waited for in the handler; a later one sends the job back to the queue, holding it. */
export const WAIT_IN_HANDLER_MS = 250;

const storage = new AsyncLocalStorage<PaceContext>();

/** Runs a job's handler: calls may wait up to `maxWaitMs` for a slot, longer ones defer the job (PaceDeferral). */
export function inJob<T>(held: { key: string; at: number } | null, maxWaitMs: number, fn: () => Promise<T>): Promise<T> {
  return storage.run(new PaceContext(new Set(), held, maxWaitMs), fn);
}

/** The slots a job already reserved for its own next call. */
export function withTickets<T>(reserved: Reservation[], fn: () => Promise<T>): Promise<T> {
  const outer = storage.getStore();
  return storage.run(new PaceContext(new Set(reserved.map((r) => r.key)), null, outer?.maxWaitMs ?? Number.POSITIVE_INFINITY), fn);
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A `beforeCall` hook: the job's ticket for this call, the slot it held, or a slot of its own, waited for or deferred. */
export function pacedCalls(pacer: Pacer, now: () => number, reservationsFor: (api: string) => Reservation[]): (api: string) => Promise<void> {
  return async (api) => {
    const calls = reservationsFor(api);
    if (calls.length === 0) return;
    const context = storage.getStore();
    if (context && calls.every((c) => context.take(c.key))) return;
    const key = calls[0]!.key;
    const at = await pacer.acquire(calls, now(), context?.heldFor(key) ?? null);
    const wait = at - now();
    if (wait > (context?.maxWaitMs ?? Number.POSITIVE_INFINITY)) throw new PaceDeferral(key, at);
    if (wait > 0) await sleep(wait);
  };
}
