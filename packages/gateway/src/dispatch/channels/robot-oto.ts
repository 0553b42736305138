import { BATCH_LIMIT } from '../../domain/channel-limits.js';
import { DingTalkError, LIMITS } from '@dingpush/dingtalk';
import { describe } from '../describe.js';
import type { ChannelDescriptor } from './descriptor.js';

const SEND_API = '/v1.0/robot/oToMessages/batchSend';

/** The app robot's one-to-one messages (new API): 20 users a call, read status tracked, recallable by process key. */
export const robotOto: ChannelDescriptor = {
  channel: 'robot_oto',
  batchLimit: BATCH_LIMIT.robot_oto,
  resolvesMobiles: true,
  lostAnswer: 'report',
  inOrder: false,
  waiting: 'slot',
  configured: (rt, app) => rt.apps.has(app),
  selectBatch(waiting) {
    const users = new Set<string>();
    return waiting.filter((d) => {
      if (d.userid === null) return false;
      if (users.size >= LIMITS.otoUserIds && !users.has(d.userid)) return false;
      users.add(d.userid);
      return true;
    });
  },
  pacing: async (rt, app) => [rt.quotas.appCall(rt.apps.get(app)!.appKey, SEND_API)],
  async send(rt, app, body, batch) {
    const userIds = [...new Set(batch.map((d) => d.userid!))];
    const [result] = await rt.apps.get(app)!.client.sendRobotOto(userIds, body as never);
    const invalid = new Set(result!.invalidUserIds);
    const limited = new Set(result!.flowControlledUserIds);
    return {
      processQueryKey: result!.processQueryKey,
      refused: [
        { ids: batch.filter((d) => invalid.has(d.userid!)).map((d) => d.id), move: 'unresolvable', reason: 'not a user of this organisation (invalidStaffIdList)' },
        { ids: batch.filter((d) => limited.has(d.userid!)).map((d) => d.id), move: 'refusedAtSend', reason: 'DingTalk flow control (flowControlledStaffIdList)' },
      ],
    };
  },
  tracking: {
    api: '/v1.0/robot/oToMessages/readStatus',
    async look(rt, p, deliveries) {
      const status = await rt.apps.get(p.app)!.client.getOtoReadStatus(p.processQueryKey!);
      const read = new Set(status.reads.filter((r) => r.read).map((r) => r.userId));
      return {
        moves: [
          { rows: deliveries.filter((d) => read.has(d.userid!)), move: 'read', reason: null },
          { rows: deliveries.filter((d) => !read.has(d.userid!) && d.status === 'sent'), move: 'unread', reason: null },
        ],
        heldBack: [],
        unfinished: [],
      };
    },
  },
  recall: {
    api: '/v1.0/robot/otoMessages/batchRecall',
    plan(app, delivered) {
      const byKey = new Map<string, string[]>();
      for (const d of delivered) if (d.processQueryKey) byKey.set(d.processQueryKey, [...(byKey.get(d.processQueryKey) ?? []), d.id]);
      return [...byKey].map(([key, deliveryIds]) => ({ step: 'message' as const, channel: 'robot_oto' as const, app, processQueryKeys: [key], deliveryIds }));
    },
    async execute(rt, p) {
      try {
        const { recalled, failed } = await rt.apps.get(p.app)!.client.recallOto(p.processQueryKeys!);
        const ok = recalled.includes(p.processQueryKeys![0]!);
        const why = failed[p.processQueryKeys![0]!] ?? 'not recalled';
        return ok ? { recalled: p.deliveryIds, failed: new Map() } : { recalled: [], failed: new Map(p.deliveryIds.map((id) => [id, `DingTalk: ${why}`])) };
      } catch (err) {
        if (err instanceof DingTalkError && !err.retryable) return { recalled: [], failed: new Map(p.deliveryIds.map((id) => [id, describe(err)])) };
        throw err;
      }
    },
  },
};
