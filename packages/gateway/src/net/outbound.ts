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

  close(): Promise<void> {
    return this.agent.close();
  }
}
