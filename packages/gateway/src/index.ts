/** The TypeScript SDK for a running gateway: no server, store or emulator is loaded by importing it. */
export type { DeliveryStatus, NotificationStatus } from './domain/delivery-states.js';
export type { DeliveryView, NotificationView } from './domain/notification-view.js';
export type { NotificationRequestInput } from './notifications/request.js';
export {
  DingpushApiError,
  DingpushClient,
  type DingpushClientOptions,
  type DirectorySyncResult,
  type DirectoryUsersPage,
  type DirectoryUsersQuery,
} from './sdk/client.js';
export { callbackSecretFor, EVENT_ID_HEADER, SIGNATURE_HEADER, signCallback, verifyCallback } from './sdk/signature.js';
