export { loadConfigFile, parseConfig, ConfigError } from './config/load.js';
export { type Config, type ConfigInput, configSchema } from './config/schema.js';
export { signCallback, SIGNATURE_HEADER } from './dispatch/callbacks.js';
export { type GatewayOptions, type RunningGateway, startGateway } from './gateway.js';
export { type NotificationRequest, type NotificationRequestInput, notificationRequestSchema } from './notifications/request.js';
export type { DeliveryView, NotificationView } from './notifications/view.js';
export { isSandbox, startSandbox } from './sandbox.js';
export { DingpushApiError, DingpushClient, type DingpushClientOptions } from './sdk/client.js';
export { openStore, PostgresStore, SqliteStore, type Store } from './store/index.js';
