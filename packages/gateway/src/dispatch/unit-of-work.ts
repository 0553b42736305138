import type { Fence } from '../domain/jobs.js';
import type { Tx } from '../store/types.js';
import { MOVES } from '../domain/delivery-states.js';
import type { Runtime } from './runtime.js';

/**
 * A handler's unit of work: store.transact with the handler's fences, and each delivery outcome it moved counted in
 * the metrics once the transaction has committed (never for one that rolled back).
 */
export async function work<T>(rt: Runtime, fences: Fence[] | null, fn: (tx: Tx) => Promise<T>): Promise<T> {
  const moved: { channel: string; status: string }[] = [];
  const result = await rt.store.transact(fences, rt.now(), (tx) => {
    const counting: Tx = Object.create(tx);
    counting.move = async (ids, name, fields) => {
      const rows = await tx.move(ids, name, fields);
      const to = MOVES[name].to;
      if (to !== 'queued' && to !== 'sending') for (const d of rows) moved.push({ channel: d.channel, status: to });
      return rows;
    };
    return fn(counting);
  });
  for (const m of moved) rt.metrics.outcomes.inc(m);
  return result;
}
