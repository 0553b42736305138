import { RequestError } from '../notifications/errors.js';
import { refusedByStore } from '../store/refusal.js';

/** The store could not do what was asked (full disk, read-only, unreachable): nothing was stored; try again later. */
class StoreUnavailable extends RequestError {
  constructor(cause: unknown) {
    const why = (cause as { code?: string }).code ?? 'store error';
    super(503, 'store_unavailable', undefined, `the store cannot take this right now (${why}); nothing was stored, try again later`);
  }
}

export const guardStore = async <T>(fn: () => Promise<T>): Promise<T> => {
  try {
    return await fn();
  } catch (err) {
    if (err instanceof RequestError) throw err;
    // A value the store can never hold: the request's fault, and sending it again would fail the same way.
    const refused = refusedByStore(err);
    if (refused) throw new RequestError(400, 'store_refused', undefined, refused);
    throw new StoreUnavailable(err);
  }
};
