import { describe, expect, it } from 'vitest';
import { API_KEY, useGateway } from './helpers.js';

const messages: Record<string, unknown>[] = [
  { type: 'text', content: '告警 x' },
  { type: 'markdown', title: '告警', text: '# hi' },
  { type: 'link', title: '告警', text: 't', messageUrl: 'https://example.com' },
  { type: 'action_card', title: '告警', markdown: 'm', singleTitle: 's', singleUrl: 'https://example.com' },
  { type: 'action_card', title: '告警', markdown: 'm', buttons: [{ title: 'b', url: 'https://example.com' }] },
  { type: 'oa', messageUrl: 'https://example.com', head: { bgcolor: 'FFBBBBBB' }, body: {} },
  { type: 'oa', messageUrl: 'https://example.com', head: { bgcolor: 'FFBBBBBB' }, body: {}, statusBar: { value: 'x' } },
  { type: 'image', mediaId: '@lADPabc' },
  { type: 'file', mediaId: '@lADPabc' },
  { type: 'voice', mediaId: '@lADPabc', durationSeconds: 3 },
  { type: 'feed_card', links: [{ title: '告警', messageUrl: 'https://example.com', picUrl: 'https://example.com/p.png' }] },
  { raw: { msgtype: 'markdown' } },
  { raw: { msgtype: 'text', text: '告警' } },
  { raw: { msgtype: 'text', text: null } },
  { raw: { msgtype: 'text', text: { content: 42 } } },
  { raw: { msgtype: 'actionCard', actionCard: { btns: 'x' } } },
  { raw: { msgtype: 'feedCard', feedCard: { links: 'x' } } },
  { raw: { msgtype: 'link', link: null } },
  { raw: { msgKey: 'sampleText' } },
  { raw: { msgKey: 'sampleText', msgParam: '[]' } },
  { raw: { msgKey: 42, msgtype: 'text' } },
  { raw: { msgtype: 42 } },
];
const targets: Record<string, unknown>[] = [
  { to: { userIds: ['u1'] } },
  { to: { mobiles: ['13600000001'] } },
  { to: { deptIds: [2] } },
  { to: { allUsers: true } },
  { to: { robots: ['ops'] } },
  { to: { robots: ['alerts'] } },
  { to: { chats: ['chat1'] } },
  { to: { userIds: ['u1'] }, via: 'app_robot' },
  { to: { chats: ['cid1=='] }, via: 'app_robot' },
  { to: { robots: ['ops'] }, mentions: { mobiles: ['13600000001'], all: true } },
];

describe('every message type to every surface answers 202 or 400 naming a field, never 500', () => {
  const env = useGateway({ config: { delivery: { pollMs: 20 } } });

  it('no 500s', async () => {
    const bad: string[] = [];
    for (const message of messages)
      for (const t of targets) {
        const body = { ...t, message, sendAt: '2099-01-01T00:00:00Z' };
        const res = await fetch(`${env.gw.url}/v1/notifications`, {
          method: 'POST',
          headers: { authorization: `Bearer ${API_KEY}`, 'content-type': 'application/json' },
          body: JSON.stringify(body),
        });
        const answer = await res.json();
        if (res.status >= 500 || (res.status === 400 && !answer.error?.path)) bad.push(`${res.status} ${JSON.stringify(body)} → ${JSON.stringify(answer)}`);
      }
    expect(bad).toEqual([]);
  });
});
