import type { Channel } from '../../domain/delivery-states.js';
import { chat } from './chat.js';
import type { ChannelDescriptor } from './descriptor.js';
import { robot } from './robot.js';
import { robotGroup } from './robot-group.js';
import { robotOto } from './robot-oto.js';
import { workNotice } from './work-notice.js';

export type { ChannelDescriptor } from './descriptor.js';
export { isRecallable } from './descriptor.js';

/** Every channel the gateway delivers on, by name: the record is exhaustive over Channel. */
export const CHANNEL_DESCRIPTORS: Record<Channel, ChannelDescriptor> = {
  work_notice: workNotice,
  robot,
  chat,
  robot_oto: robotOto,
  robot_group: robotGroup,
};
