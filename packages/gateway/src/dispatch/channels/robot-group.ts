import { BATCH_LIMIT } from '../../domain/channel-limits.js';
import { DingTalkError } from '@dingpush/dingtalk';
import { describe } from '../describe.js';
import type { ChannelDescriptor } from './descriptor.js';

/** The app robot in a group (new API groupMessages, by openConversationId): one message a call, recallable. */
export const robotGroup: ChannelDescriptor = {
  channel: 'robot_group',
  batchLimit: BATCH_LIMIT.robot_group,
  resolvesMobiles: false,
  lostAnswer: 'report',
  inOrder: false,
  waiting: 'slot',
  configured: (rt, app) => rt.apps.has(app),
  selectBatch: (waiting) => waiting.slice(0, 1),
  pacing: async (rt, app) => [rt.quotas.appCall(rt.apps.get(app)!.appKey, '/v1.0/robot/groupMessages/send')],
  async send(rt, app, body, [delivery]) {
    return { processQueryKey: await rt.apps.get(app)!.client.sendRobotGroup(delivery!.recipient, body as never) };
  },
  tracking: null,
  recall: {
    api: '/v1.0/robot/groupMessages/recall',
    plan(app, delivered) {
      return delivered
        .filter((d) => d.processQueryKey)
        .map((d) => ({ step: 'message' as const, channel: 'robot_group' as const, app, openConversationId: d.recipient, processQueryKeys: [d.processQueryKey!], deliveryIds: [d.id] }));
    },
    async execute(rt, p) {
      try {
        const { recalled, failed } = await rt.apps.get(p.app)!.client.recallGroup(p.openConversationId!, p.processQueryKeys!);
        const key = p.processQueryKeys![0]!;
        return recalled.includes(key) ? { recalled: p.deliveryIds, failed: new Map() } : { recalled: [], failed: new Map(p.deliveryIds.map((id) => [id, `DingTalk: ${failed[key] ?? 'not recalled'}`])) };
      } catch (err) {
        if (err instanceof DingTalkError && !err.retryable) return { recalled: [], failed: new Map(p.deliveryIds.map((id) => [id, describe(err)])) };
        throw err;
      }
    },
  },
};
