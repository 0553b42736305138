import { randomBytes } from 'node:crypto';

let lastMs = 0;
let seq = 0;

/** Sortable ids: creation time (ms, base 36), a sequence within the millisecond, then randomness. */
export function newId(prefix: string): string {
  const now = Date.now();
  seq = now === lastMs ? seq + 1 : 0;
  lastMs = now;
  return `${prefix}_${now.toString(36).padStart(9, '0')}${seq.toString(36).padStart(3, '0')}${randomBytes(6).toString('hex')}`;
}
