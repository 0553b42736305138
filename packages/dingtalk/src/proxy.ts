import { BlockList, isIP } from 'node:net';
import { Agent, Dispatcher, EnvHttpProxyAgent, Pool, ProxyAgent } from 'undici';

/**
 * Which proxy calls go through: `'env'`: the one the environment names (`HTTPS_PROXY`, `HTTP_PROXY`, `NO_PROXY`, or
 * their lower-case forms, which win; read once, when the router is made); `{ url }`: this one,
 * `http://[user:password@]host:port` (or https://), whatever the environment says. Absent: none.
 */
export type ProxySetting = 'env' | { url: string };

export interface ProxyRouterOptions {
  setting?: ProxySetting | undefined;
  /** Options of every agent made (connections per origin, keep-alive, timeouts). */
  agent?: Agent.Options;
  /** How long a proxy may take to answer a CONNECT. */
  timeoutMs?: number;
  /** The environment `'env'` reads (tests); default process.env. */
  env?: NodeJS.ProcessEnv;
}

/**
 * Which dispatcher serves a URL: loopback destinations (localhost, 127.0.0.0/8, ::1) always the plain keep-alive agent,
 * whatever the setting; everything else the proxy, if one is set (and, for `'env'`, NO_PROXY does not exempt it).
 * It is a Dispatcher itself, choosing per request by the request's origin; closing it closes every agent it made.
 */
export class ProxyRouter extends Dispatcher {
  /** Loopback destinations, and every destination when no proxy is set. */
  readonly direct: Agent;
  /** The proxy in words, credentials redacted (for logs); undefined when calls go direct. */
  readonly description: string | undefined;
  private readonly proxied: Dispatcher | undefined;
  /** What `proxyOf` reads: the environment's proxies (for 'env'), or the one configured. */
  private readonly environment: ProxyEnvironment | undefined;
  private readonly fixed: string | undefined;

  constructor(opts: ProxyRouterOptions = {}) {
    super();
    const agent = opts.agent ?? {};
    this.direct = new Agent(agent);
    const clientFactory = proxyClientFactory(opts.timeoutMs ?? agent.headersTimeout ?? 10_000);
    const setting = opts.setting;
    if (setting === undefined) return;
    if (setting === 'env') {
      const env = proxyEnvironment(opts.env ?? process.env);
      if (!env.httpProxy && !env.httpsProxy) return;
      this.environment = env;
      // Pass every value explicitly: undici would read the environment again for the ones left undefined.
      this.proxied = new EnvHttpProxyAgent({ ...agent, httpProxy: env.httpProxy ?? '', httpsProxy: env.httpsProxy ?? '', noProxy: env.noProxy, clientFactory });
      this.description = [
        env.httpsProxy ? `https via ${redactUrl(env.httpsProxy)}` : undefined,
        env.httpProxy ? `http via ${redactUrl(env.httpProxy)}` : undefined,
        env.noProxy ? `not for ${env.noProxy}` : undefined,
      ]
        .filter(Boolean)
        .join(', ');
      return;
    }
    const problem = proxyUrlProblem(setting.url);
    if (problem) throw new TypeError(`proxy: ${problem}`);
    this.proxied = new ProxyAgent({ ...agent, uri: setting.url, clientFactory });
    this.description = redactUrl(setting.url);
    this.fixed = setting.url;
  }

  /**
   * The proxy (redacted) a request to `url` goes through, or undefined when it goes direct: loopback, no proxy set,
   * no proxy for its scheme, or NO_PROXY exempting its host (read the way undici's EnvHttpProxyAgent reads it).
   */
  proxyOf(url: string | URL): string | undefined {
    const u = typeof url === 'string' ? new URL(url) : url;
    if (isLoopback(u.hostname)) return undefined;
    if (this.fixed) return redactUrl(this.fixed);
    const env = this.environment;
    if (!env) return undefined;
    const proxy = u.protocol === 'https:' ? env.httpsProxy : env.httpProxy;
    if (!proxy || noProxyExempts(env.noProxy, u)) return undefined;
    return redactUrl(proxy);
  }

  /** The dispatcher that serves `url`. */
  dispatcherFor(url: string | URL): Dispatcher {
    if (!this.proxied) return this.direct;
    const { hostname } = typeof url === 'string' ? new URL(url) : url;
    return isLoopback(hostname) ? this.direct : this.proxied;
  }

  override dispatch(options: Dispatcher.DispatchOptions, handler: Dispatcher.DispatchHandler): boolean {
    return (options.origin === undefined ? this.direct : this.dispatcherFor(options.origin)).dispatch(options, handler);
  }

  override close(): Promise<void>;
  override close(callback: () => void): void;
  override close(callback?: () => void): Promise<void> | void {
    const done = Promise.all([this.direct.close(), this.proxied?.close()]).then(() => {});
    if (!callback) return done;
    done.then(callback, callback);
  }

  override destroy(): Promise<void>;
  override destroy(err: Error | null): Promise<void>;
  override destroy(callback: () => void): void;
  override destroy(err: Error | null, callback: () => void): void;
  override destroy(a?: Error | null | (() => void), b?: () => void): Promise<void> | void {
    const err = typeof a === 'function' ? null : (a ?? null);
    const callback = typeof a === 'function' ? a : b;
    const done = Promise.all([this.direct.destroy(err), this.proxied?.destroy(err)]).then(() => {});
    if (!callback) return done;
    done.then(callback, callback);
  }
}

/**
 * The proxy failed before the request was written (it refused the tunnel, could not be reached, closed the connection
 * or did not answer): the destination has seen nothing. Names the proxy by host and port only, never its credentials.
 */
export class ProxyError extends Error {
  override name = 'ProxyError';
  readonly code = 'ERR_PROXY_TUNNEL';
  constructor(
    /** host:port of the proxy. */
    readonly proxy: string,
    /** host:port the tunnel was asked for. */
    readonly target: string,
    /** The proxy's answer to CONNECT, when it answered. */
    readonly statusCode: number | undefined,
    what: string,
    options?: ErrorOptions,
  ) {
    super(`proxy ${proxy}, CONNECT ${target}: ${what}`, options);
  }
}

const loopback = new BlockList();
loopback.addSubnet('127.0.0.0', 8, 'ipv4');
loopback.addAddress('::1', 'ipv6');

/** Whether a URL's hostname is this machine: localhost, 127.0.0.0/8 or ::1 (also IPv4-mapped, also in brackets). */
export function isLoopback(hostname: string): boolean {
  const host = hostname.replace(/^\[(.*)\]$/, '$1').replace(/\.$/, '').toLowerCase();
  if (host === 'localhost') return true;
  const family = isIP(host);
  return family !== 0 && loopback.check(host, family === 4 ? 'ipv4' : 'ipv6');
}

/** A URL with its password (and any query, which may carry tokens) replaced by `***`; text that is no URL, redacted whole. */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    if (u.search) u.search = '?***';
    return u.href;
  } catch {
    return '***';
  }
}

/** Why a proxy URL is unusable, or undefined: it must be http:// or https:// and name a host. */
export function proxyUrlProblem(url: string): string | undefined {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return 'not a URL (http://[user:password@]host:port)';
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') return `${redactUrl(url)}: must be an http:// or https:// URL`;
  if (!u.hostname) return `${redactUrl(url)}: names no host`;
  return undefined;
}

/** NO_PROXY: `*` alone, or host names (a leading `.` or `*.` also matching sub-domains; any name matches its sub-domains), with an optional port. */
function noProxyExempts(noProxy: string, url: URL): boolean {
  const host = url.hostname.replace(/^\[(.*)\]$/, '$1').toLowerCase();
  const port = url.port || (url.protocol === 'https:' ? '443' : '80');
  // As undici reads it: `*` exempts everything only as the whole value; inside a list it matches nothing.
  if (noProxy.trim() === '*') return true;
  return noProxy
    .split(/[\s,]+/)
    .filter(Boolean)
    .some((entry) => {
      if (entry === '*') return false;
      const m = /^(?:\*?\.)?(.+?)(?::(\d+))?$/.exec(entry.toLowerCase());
      if (!m) return false;
      const [, name, entryPort] = m;
      if (entryPort && entryPort !== port) return false;
      return host === name || host.endsWith(`.${name}`);
    });
}

/** Why a proxy setting cannot be used (a configured URL, or a proxy variable of the environment), or undefined. */
export function proxySettingProblem(setting: ProxySetting | undefined, env: NodeJS.ProcessEnv = process.env): string | undefined {
  if (setting === undefined) return undefined;
  if (setting !== 'env') return proxyUrlProblem(setting.url);
  try {
    proxyEnvironment(env);
    return undefined;
  } catch (err) {
    return (err as Error).message;
  }
}

interface ProxyEnvironment {
  httpProxy?: string;
  httpsProxy?: string;
  noProxy: string;
}

/**
 * HTTP_PROXY / HTTPS_PROXY / NO_PROXY as undici reads them (a lower-case variable wins, even when empty), a value
 * without a scheme taken as http:// (as curl does). A value that is no usable proxy URL is an error, not ignored.
 */
function proxyEnvironment(env: NodeJS.ProcessEnv): ProxyEnvironment {
  const read = (lower: string, upper: string): string | undefined => {
    const [name, raw] = env[lower] !== undefined ? [lower, env[lower]] : [upper, env[upper]];
    const value = raw?.trim();
    if (!value) return undefined;
    const url = /^[a-z][a-z0-9+.-]*:\/\//i.test(value) ? value : `http://${value}`;
    const problem = proxyUrlProblem(url);
    if (problem) throw new TypeError(`${name}: ${problem}`);
    return url;
  };
  const httpProxy = read('http_proxy', 'HTTP_PROXY');
  const httpsProxy = read('https_proxy', 'HTTPS_PROXY');
  return { ...(httpProxy ? { httpProxy } : {}), ...(httpsProxy ? { httpsProxy } : {}), noProxy: (env.no_proxy ?? env.NO_PROXY ?? '').trim() };
}

/**
 * The connection to the proxy, made so that its failures are ProxyErrors. Without this, a proxy that closes the
 * connection on CONNECT makes undici connect again at once, for ever (its socket errors count as recoverable), and a
 * proxy that never answers holds the request for undici's default 300 s.
 */
function proxyClientFactory(timeoutMs: number): (origin: URL, opts: object) => Dispatcher {
  return (origin, opts) => {
    const pool = new Pool(origin, { ...opts, headersTimeout: timeoutMs });
    const proxy = origin.host;
    type Connect = (options: Dispatcher.ConnectOptions, callback?: (err: Error | null, data: Dispatcher.ConnectData) => void) => Promise<Dispatcher.ConnectData> | undefined;
    const connect = pool.connect.bind(pool) as Connect;
    const tunnel = async (options: Dispatcher.ConnectOptions): Promise<Dispatcher.ConnectData> => {
      let data: Dispatcher.ConnectData;
      try {
        data = (await connect(options)) as Dispatcher.ConnectData;
      } catch (err) {
        throw new ProxyError(proxy, options.path, undefined, failureOf(err, timeoutMs), { cause: err });
      }
      if (data.statusCode !== 200) {
        data.socket.on('error', () => {}).destroy();
        const hint = data.statusCode === 407 ? ' (proxy authentication required: check the user and password in the proxy URL)' : '';
        throw new ProxyError(proxy, options.path, data.statusCode, `refused with HTTP ${data.statusCode}${hint}`);
      }
      return data;
    };
    // ProxyAgent opens each tunnel with connect(options) and awaits the promise; the callback form is left as it was.
    pool.connect = ((options, callback) => (callback ? connect(options, callback) : tunnel(options))) as Connect as typeof pool.connect;
    return pool;
  };
}

function failureOf(err: unknown, timeoutMs: number): string {
  const e = err as { code?: string; cause?: { code?: string }; message?: string };
  const code = e.code ?? e.cause?.code;
  switch (code) {
    case 'UND_ERR_SOCKET':
      return 'closed the connection before answering';
    case 'UND_ERR_HEADERS_TIMEOUT':
      return `no answer within ${timeoutMs} ms`;
    case 'UND_ERR_CONNECT_TIMEOUT':
    case 'ETIMEDOUT':
      return 'the proxy could not be reached (connect timeout)';
    case 'ECONNREFUSED':
      return 'the proxy could not be reached (connection refused)';
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return `the proxy could not be reached (its name did not resolve: ${code})`;
    default:
      return `failed: ${code ?? e.message ?? 'unknown error'}`;
  }
}
