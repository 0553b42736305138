import { InvalidArgumentError } from 'commander';

/** A CLI mistake: printed as one line on stderr, exit code 2. */
export class UsageError extends Error {
  override name = 'UsageError';
}

export function parsePort(value: string, flag: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 65_535) throw new UsageError(`${flag}: expected a port number 0–65535, got "${value}"`);
  return n;
}

export { InvalidArgumentError };
