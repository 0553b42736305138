import { Agent, request } from 'undici';
import { type AllowList, guardedLookup, refusedHost } from './address-policy.js';

/**
 * HTTP to addresses senders chose (callbacks): through an agent whose connections are checked against the address
 * policy, without following redirects (a redirect could point anywhere), with a timeout.
 */
export class OutboundHttp {
  private readonly agent: Agent;

  constructor(
    private readonly allow: AllowList,
    private readonly timeoutMs: number,
  ) {
    this.agent = new Agent({ connect: { lookup: guardedLookup(allow) as never, timeout: timeoutMs }, keepAliveTimeout: 10_000 });
  }

  async post(url: string, body: string, headers: Record<string, string>): Promise<{ status: number }> {
    const refused = refusedHost(new URL(url), this.allow);
    if (refused) throw Object.assign(new Error(refused), { code: 'EPRIVATEADDRESS' });
    const res = await request(url, {
      method: 'POST',
      headers,
      body,
      dispatcher: this.agent,
      headersTimeout: this.timeoutMs,
      bodyTimeout: this.timeoutMs,
    });
    await res.body.dump();
    return { status: res.statusCode };
  }

  /**
   * The body of a URL a sender gave (a media file): at most `maxBytes` (refused as soon as it says or shows it is
   * larger), within `timeoutMs` for the whole of it. A redirect is not followed: the answer is an error naming it.
   */
  async get(url: string, opts: { maxBytes: number; timeoutMs: number }): Promise<{ bytes: Buffer; contentType: string | undefined }> {
    const refused = refusedHost(new URL(url), this.allow);
    if (refused) throw new OutboundRefusal(refused);
    const signal = AbortSignal.timeout(opts.timeoutMs);
    let res: Awaited<ReturnType<typeof request>>;
    try {
      res = await request(url, { method: 'GET', dispatcher: this.agent, signal, headersTimeout: opts.timeoutMs, bodyTimeout: opts.timeoutMs });
    } catch (err) {
      throw new OutboundRefusal(reasonOf(err, opts.timeoutMs));
    }
    try {
      if (res.statusCode >= 300 && res.statusCode < 400) throw new OutboundRefusal(`answered ${res.statusCode} (a redirect, not followed: give the URL it points to)`);
      if (res.statusCode !== 200) throw new OutboundRefusal(`answered HTTP ${res.statusCode}`);
      const declared = Number(res.headers['content-length']);
      if (Number.isFinite(declared) && declared > opts.maxBytes) throw new OutboundRefusal(`is ${declared} bytes; at most ${opts.maxBytes} are taken`);
      const chunks: Buffer[] = [];
      let size = 0;
      for await (const chunk of res.body) {
        size += chunk.length;
        if (size > opts.maxBytes) throw new OutboundRefusal(`is larger than ${opts.maxBytes} bytes, the most taken`);
        chunks.push(chunk);
      }
      const type = res.headers['content-type'];
      return { bytes: Buffer.concat(chunks), contentType: typeof type === 'string' ? type : undefined };
    } catch (err) {
      // A body left unread is dropped: destroying it emits an 'error' (Request aborted), which must have a listener,
      // or it is an uncaught exception that ends the process (one redirecting URL would stop the gateway).
      res.body.on('error', () => {});
      res.body.destroy();
      if (err instanceof OutboundRefusal) throw err;
      throw new OutboundRefusal(reasonOf(err, opts.timeoutMs));
    }
  }

  close(): Promise<void> {
    return this.agent.close();
  }
}

/** Why a URL could not be fetched, in words a sender can act on (no secrets: the URL is the sender's own). */
export class OutboundRefusal extends Error {
  override name = 'OutboundRefusal';
}

function reasonOf(err: unknown, timeoutMs: number): string {
  const e = err as { name?: string; code?: string; message?: string; cause?: { code?: string; message?: string } };
  const code = e.code ?? e.cause?.code;
  if (e.name === 'TimeoutError' || e.name === 'AbortError' || code === 'UND_ERR_HEADERS_TIMEOUT' || code === 'UND_ERR_BODY_TIMEOUT' || code === 'UND_ERR_CONNECT_TIMEOUT')
    return `did not answer within ${timeoutMs} ms`;
  if (code === 'EPRIVATEADDRESS') return `${e.message ?? e.cause?.message}; list it in callbacks.allowHosts to allow it`;
  return `could not be reached (${code ?? e.message ?? 'error'})`;
}
