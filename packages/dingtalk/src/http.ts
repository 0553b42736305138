import { type Dispatcher, type FormData, errors as undiciErrors, request } from 'undici';
import { classify, DingTalkError } from './errors.js';
import { ProxyError, ProxyRouter, type ProxySetting } from './proxy.js';

/** What the client reports about each call, for metrics and logs; never the URL's query (it carries tokens). */
export interface CallInfo {
  api: string;
  method: string;
  durationMs: number;
  httpStatus?: number;
  /** errcode (oapi) or code (new API); 0 for success. */
  code?: number | string;
}

export interface TransportOptions {
  timeoutMs?: number;
  /** Connections kept open per origin. */
  connections?: number;
  onCall?: (info: CallInfo) => void;
  /** Used for every request as it is (then `proxy` may not be given); the transport does not close it. */
  dispatcher?: Dispatcher;
  /**
   * Calls go through this proxy (`{ url }`), or the one the environment names (`'env'`: HTTPS_PROXY, HTTP_PROXY,
   * NO_PROXY, read now); absent: straight. Loopback destinations are never proxied.
   */
  proxy?: ProxySetting;
}

export interface RawResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: unknown;
}

/** HTTP with keep-alive pooling and timeouts (undici), through a proxy if one is set; JSON in, JSON out. */
export class Transport {
  /** Serves every request: unless one was given, a ProxyRouter (which picks the proxy or the direct agent per request). */
  readonly dispatcher: Dispatcher;
  /** The proxy calls go through, in words and without its password; undefined: none (or a dispatcher was given). */
  readonly proxy: string | undefined;
  private readonly timeoutMs: number;
  private readonly onCall: ((info: CallInfo) => void) | undefined;
  private readonly ownsDispatcher: boolean;

  constructor(opts: TransportOptions = {}) {
    this.timeoutMs = opts.timeoutMs ?? 10_000;
    this.onCall = opts.onCall;
    this.ownsDispatcher = !opts.dispatcher;
    if (opts.dispatcher) {
      if (opts.proxy) throw new TypeError('Transport: give a dispatcher or a proxy, not both');
      this.dispatcher = opts.dispatcher;
      this.proxy = undefined;
      return;
    }
    const router = new ProxyRouter({
      setting: opts.proxy,
      agent: { connections: opts.connections ?? 32, keepAliveTimeout: 30_000, headersTimeout: this.timeoutMs, bodyTimeout: this.timeoutMs },
      timeoutMs: this.timeoutMs,
    });
    this.dispatcher = router;
    this.proxy = router.description;
  }

  /** The proxy (redacted) a request to `url` goes through, or undefined when it goes direct. */
  proxyOf(url: string): string | undefined {
    return this.dispatcher instanceof ProxyRouter ? this.dispatcher.proxyOf(url) : undefined;
  }

  /**
   * Sends one request. Network failures and non-JSON answers become DingTalkErrors of class `retry`; whether the
   * request may have been processed is recorded so senders can check before repeating.
   */
  async send(
    api: string,
    url: string,
    init: { method: 'GET' | 'POST'; headers?: Record<string, string>; body?: string | Buffer | FormData },
  ): Promise<RawResponse> {
    const started = performance.now();
    let status: number | undefined;
    try {
      const res = await request(url, {
        method: init.method,
        headers: init.headers,
        body: init.body as never,
        dispatcher: this.dispatcher,
        headersTimeout: this.timeoutMs,
        bodyTimeout: this.timeoutMs,
      });
      status = res.statusCode;
      const text = await res.body.text();
      let body: unknown;
      try {
        body = text === '' ? {} : JSON.parse(text);
      } catch {
        // Proxies, the per-IP ban page and 5xx pages answer HTML.
        this.report(api, init.method, started, status, `HTTP ${status}`);
        throw new DingTalkError(api, `HTTP ${status}`, 'answer was not JSON', undefined, classify({ httpStatus: status }), status >= 500, status);
      }
      const code = codeOf(body);
      this.report(api, init.method, started, status, code);
      return { status, headers: res.headers, body };
    } catch (err) {
      if (err instanceof DingTalkError) throw err;
      this.report(api, init.method, started, status, err instanceof ProxyError ? 'proxy' : 'network');
      // The tunnel was never opened, so the request was never written: DingTalk saw nothing.
      if (err instanceof ProxyError) throw new DingTalkError(api, 'proxy', err.message, undefined, { class: 'retry', meaning: 'proxy failure' }, false);
      const timeout = err instanceof undiciErrors.HeadersTimeoutError || err instanceof undiciErrors.BodyTimeoutError;
      const reason = timeout ? `no answer within ${this.timeoutMs} ms` : networkReason(err);
      // The request may have been written before the connection failed: the send may have happened.
      throw new DingTalkError(api, timeout ? 'timeout' : 'network', reason, undefined, { class: 'retry', meaning: 'network failure' }, true);
    }
  }

  private report(api: string, method: string, started: number, httpStatus: number | undefined, code: number | string | undefined): void {
    this.onCall?.({ api, method, durationMs: performance.now() - started, ...(httpStatus ? { httpStatus } : {}), ...(code !== undefined ? { code } : {}) });
  }

  async close(): Promise<void> {
    if (this.ownsDispatcher) await this.dispatcher.close();
  }
}

function codeOf(body: unknown): number | string | undefined {
  if (typeof body !== 'object' || body === null) return undefined;
  const b = body as { errcode?: unknown; code?: unknown };
  if (b.errcode !== undefined) return Number(b.errcode);
  if (typeof b.code === 'string') return b.code;
  return 0;
}

function networkReason(err: unknown): string {
  const e = err as { code?: string; cause?: { code?: string }; message?: string };
  return e.code ?? e.cause?.code ?? e.message ?? 'network error';
}
