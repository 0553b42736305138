import { describe, expect, it } from 'vitest';
import { tokens, useGateway } from './helpers.js';

/**
 * /robot/send takes the body's msgUuid as the idempotency key "as DingTalk de-duplicates by it". DingTalk (and the
 * emulator: MSG_UUID_TTL_MS = 24 h) forgets a msgUuid after a day; the gateway's idempotency key never expires, so a
 * tool that reuses a msgUuid the next day (a fixed id per alert rule, a counter reset) is answered {"errcode":0} and
 * its message is silently never sent.
 */
describe('drop-in /robot/send: a msgUuid reused after DingTalk forgot it', () => {
  const env = useGateway({ config: { delivery: { pollMs: 20 } } });
  const post = (body: unknown) =>
    fetch(`${env.gw.url}/robot/send?access_token=${tokens.alerts}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) }).then((r) => r.json());

  it('the next day, a message with yesterday\'s msgUuid is delivered as DingTalk would', async () => {
    expect(await post({ msgtype: 'text', text: { content: '告警 day one' }, msgUuid: 'rule-42' })).toMatchObject({ errcode: 0 });
    const inbox = async () => (await env.inbox('robots', 'alerts')).map((m) => m.message.text?.content);
    await expect.poll(inbox, { timeout: 5_000 }).toContain('告警 day one');
    await env.advance(25 * 3_600_000);
    expect(await post({ msgtype: 'text', text: { content: '告警 day two' }, msgUuid: 'rule-42' })).toMatchObject({ errcode: 0 });
    await expect.poll(inbox, { timeout: 5_000 }).toContain('告警 day two');
  }, 20_000);
});
