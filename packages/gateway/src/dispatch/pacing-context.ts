import { AsyncLocalStorage } from 'node:async_hooks';
import type { Pacer, Reservation } from './pacer.js';

/**
 * Slots a job reserved before it started, for the calls the client will make on its behalf. The client's
 * `beforeCall` hook (installed by the gateway on every DingTalk client) uses a matching ticket instead of reserving
 * again; every other call (a token fetch, a lookup, a second try after a refreshed token) reserves its own slot and
 * waits for it here.
 */
class Tickets {
  constructor(private readonly keys: Set<string>) {}
  take(key: string): boolean {
    return this.keys.delete(key);
  }
}

const storage = new AsyncLocalStorage<Tickets>();

export function withTickets<T>(reserved: Reservation[], fn: () => Promise<T>): Promise<T> {
  return storage.run(new Tickets(new Set(reserved.map((r) => r.key))), fn);
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A `beforeCall` hook: the job's ticket for this call, or a slot of its own, waited for. */
export function pacedCalls(pacer: Pacer, now: () => number, reservationsFor: (api: string) => Reservation[]): (api: string) => Promise<void> {
  return async (api) => {
    const calls = reservationsFor(api);
    if (calls.length === 0) return;
    const tickets = storage.getStore();
    if (tickets && calls.every((c) => tickets.take(c.key))) return;
    const at = await pacer.acquire(calls, now());
    const wait = at - now();
    if (wait > 0) await sleep(wait);
  };
}
