/** A refused request: HTTP status, a machine code, the field (path) and the rule it broke. */
export class RequestError extends Error {
  override name = 'RequestError';
  constructor(
    readonly status: number,
    readonly code: string,
    readonly path: string | undefined,
    message: string,
  ) {
    super(message);
  }

  body(): { error: { code: string; message: string; path?: string } } {
    return { error: { code: this.code, message: this.message, ...(this.path ? { path: this.path } : {}) } };
  }
}

export const invalid = (path: string, message: string) => new RequestError(400, 'invalid_request', path, message);
