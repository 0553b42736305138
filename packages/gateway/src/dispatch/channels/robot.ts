import { BATCH_LIMIT, WAITS_IN_QUEUE } from '../../domain/channel-limits.js';
import type { ChannelDescriptor } from './descriptor.js';

/**
 * Custom group robots (webhook): one message a call, 20 a sliding minute per robot, a few of them kept for urgent
 * messages. Messages waiting behind the quota queue behind one head and go out as a digest (unless the robot says
 * digest: false). The call id (the delivery's, or the digest job's) is the msgUuid, so a send whose answer was lost
 * is repeated safely: DingTalk drops the duplicate.
 */
export const robot: ChannelDescriptor = {
  channel: 'robot',
  batchLimit: BATCH_LIMIT.robot,
  resolvesMobiles: false,
  lostAnswer: 'resend',
  inOrder: true,
  waiting: WAITS_IN_QUEUE.robot ? 'queue' : 'slot',
  digest(rt, name) {
    const robot = rt.config.robots.find((r) => r.name === name);
    return robot?.digest ? { keywords: robot.keywords } : null;
  },
  reserve: (rt, name) => (rt.config.delivery.robotReserve > 0 ? [rt.quotas.robotCall(rt.robots.get(name)!.webhook, 'reserve')] : []),
  configured: (rt, name) => rt.robots.has(name),
  selectBatch: (waiting) => waiting.slice(0, 1),
  pacing: async (rt, name) => [rt.quotas.robotCall(rt.robots.get(name)!.webhook)],
  async send(rt, name, body, _batch, callId) {
    await rt.robots.get(name)!.client.send(body as never, { msgUuid: callId });
    return {};
  },
  tracking: null,
  recall: { unsupported: 'DingTalk cannot recall custom-robot messages' },
};
