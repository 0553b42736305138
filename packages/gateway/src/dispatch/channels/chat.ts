import { BATCH_LIMIT } from '../../domain/channel-limits.js';
import type { ChannelDescriptor } from './descriptor.js';

/** Legacy group chats (chat/send by chatid): one message a call; no idempotency key, no lookup, no recall. */
export const chat: ChannelDescriptor = {
  channel: 'chat',
  batchLimit: BATCH_LIMIT.chat,
  resolvesMobiles: false,
  lostAnswer: 'report',
  inOrder: false,
  waiting: 'slot',
  configured: (rt, app) => rt.apps.has(app),
  selectBatch: (waiting) => waiting.slice(0, 1),
  pacing: async (rt, app) => [rt.quotas.appCall(rt.apps.get(app)!.appKey, '/chat/send')],
  async send(rt, app, body, [delivery]) {
    await rt.apps.get(app)!.client.sendChat(delivery!.recipient, body as never);
    return {};
  },
  tracking: null,
  recall: { unsupported: 'DingTalk cannot recall chat/send messages' },
};
