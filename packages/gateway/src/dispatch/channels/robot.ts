import { BATCH_LIMIT } from '../../domain/channel-limits.js';
import type { ChannelDescriptor } from './descriptor.js';

/**
 * Custom group robots (webhook): one message a call, 20 a sliding minute per robot. The delivery id is the msgUuid,
 * so a send whose answer was lost is repeated safely: DingTalk drops the duplicate.
 */
export const robot: ChannelDescriptor = {
  channel: 'robot',
  batchLimit: BATCH_LIMIT.robot,
  resolvesMobiles: false,
  lostAnswer: 'resend',
  inOrder: true,
  configured: (rt, name) => rt.robots.has(name),
  selectBatch: (waiting) => waiting.slice(0, 1),
  pacing: async (rt, name) => [rt.quotas.robotCall(rt.robots.get(name)!.webhook)],
  async send(rt, name, body, [delivery]) {
    await rt.robots.get(name)!.client.send(body as never, { msgUuid: delivery!.id });
    return {};
  },
  tracking: null,
  recall: { unsupported: 'DingTalk cannot recall custom-robot messages' },
};
