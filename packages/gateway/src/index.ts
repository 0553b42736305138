/** The TypeScript SDK for a running gateway: no server, store or emulator is loaded by importing it. */
export { signCallback, SIGNATURE_HEADER } from './dispatch/callbacks.js';
export type { NotificationRequestInput } from './notifications/request.js';
export type { DeliveryView, NotificationView } from './notifications/view.js';
export { DingpushApiError, DingpushClient, type DingpushClientOptions } from './sdk/client.js';
