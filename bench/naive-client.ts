import { Agent, request } from 'undici';

/**
 * The script every team writes: a new token and a new connection for every message, userid by mobile looked up
 * each time, errcode ignored beyond a log line. The baseline benchmarks compare against.
 */
export class NaiveClient {
  apiCalls = 0;
  failures = 0;

  constructor(
    private readonly baseUrl: string,
    private readonly app: { appKey: string; appSecret: string; agentId: number },
  ) {}

  private async call(path: string, init: { method: 'GET' | 'POST'; body?: unknown }): Promise<any> {
    const agent = new Agent({ pipelining: 0 }); // a fresh connection per request, as `requests.post` in a loop does
    try {
      this.apiCalls++;
      const res = await request(`${this.baseUrl}${path}`, {
        method: init.method,
        dispatcher: agent,
        ...(init.body ? { headers: { 'content-type': 'application/json' }, body: JSON.stringify(init.body) } : {}),
      });
      return await res.body.json();
    } finally {
      await agent.close();
    }
  }

  async sendWorkNotice(target: { userid?: string; mobile?: string }, content: string): Promise<void> {
    const { access_token } = await this.call(`/gettoken?appkey=${this.app.appKey}&appsecret=${this.app.appSecret}`, { method: 'GET' });
    let userid = target.userid;
    if (!userid && target.mobile) {
      const r = await this.call(`/topapi/v2/user/getbymobile?access_token=${access_token}`, { method: 'POST', body: { mobile: target.mobile } });
      userid = r.result?.userid;
    }
    const res = await this.call(`/topapi/message/corpconversation/asyncsend_v2?access_token=${access_token}`, {
      method: 'POST',
      body: { agent_id: this.app.agentId, userid_list: userid, msg: { msgtype: 'text', text: { content } } },
    });
    if (res.errcode !== 0) this.failures++;
  }
}
