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

/**
 * Channels whose sends wait for their destination's quota in one queue behind a head (dispatch/destination-queue.ts):
 * a message accepted while its destination has a head is stored parked, and costs nothing until its turn.
 */
export const WAITS_IN_QUEUE: Record<Channel, boolean> = {
  work_notice: false,
  robot_oto: false,
  robot: true,
  chat: false,
  robot_group: false,
};
