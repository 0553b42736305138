import { RequestError } from '../notifications/errors.js';

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
    throw new StoreUnavailable(err);
  }
};
