import { LIMITS } from '@dingpush/dingtalk';
import type { Channel } from './delivery-states.js';

/** Recipients one DingTalk call carries on each channel: planning splits by it, the channel descriptors send by it. */
export const BATCH_LIMIT: Record<Channel, number> = {
  work_notice: LIMITS.workNoticeUserIds,
  robot_oto: LIMITS.otoUserIds,
  robot: 1,
  chat: 1,
  robot_group: 1,
};
