/**
 * A store error caused by a value the request carries, not by the store's state: trying again can never succeed
 * (PostgreSQL SQLSTATE class 22 "data exception", e.g. 22021 a NUL byte in text; class 54 "program limit exceeded";
 * SQLite's SQLITE_TOOBIG). Null for every other error (full disk, read-only, unreachable, a serialization failure):
 * those may pass. The one place that tells the two apart, for the HTTP API (a 400, not a 503 "try again later") and
 * the queue consumer (dead-lettered, not requeued forever).
 */
export function refusedByStore(err: unknown): string | null {
  const code = (err as { code?: unknown } | null)?.code;
  if (typeof code !== 'string') return null;
  if (/^(22|54)[0-9A-Z]{3}$/.test(code)) return `the store refuses a value in this request (SQLSTATE ${code}: ${(err as Error).message})`;
  if (code === 'SQLITE_TOOBIG') return 'the store refuses a value in this request (too big)';
  return null;
}
