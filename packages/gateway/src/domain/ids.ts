import { randomBytes } from 'node:crypto';

/** Distinguishes this process's ids from another instance's (several gateways may share one PostgreSQL). */
const PROCESS_TAG = randomBytes(5).toString('hex');
let lastMs = 0;
let seq = 0;

/**
 * Sortable, unique ids: creation time (ms, base 36), a sequence within the millisecond, then a per-process tag.
 * No randomness per id: ids are made on the hot path of every accept.
 */
export function newId(prefix: string): string {
  const now = Date.now();
  seq = now === lastMs ? seq + 1 : 0;
  lastMs = now;
  return `${prefix}_${now.toString(36).padStart(9, '0')}${seq.toString(36).padStart(4, '0')}${PROCESS_TAG}`;
}
