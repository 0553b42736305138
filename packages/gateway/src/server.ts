/**
 * The gateway for embedding: start it, configure it, open its store. Importing this loads the HTTP server, the
 * dispatcher and the store; the SDK alone is `@dingpush/gateway` (./index.ts).
 */
export { ConfigError, loadConfigFile, parseConfig } from './config/load.js';
export { type Config, type ConfigInput, configSchema } from './config/schema.js';
export { type GatewayOptions, type RunningGateway, startGateway } from './gateway.js';
export { type NotificationRequest, notificationRequestSchema } from './notifications/request.js';
export { isSandbox, startSandbox } from './sandbox.js';
export { openStore, type Store } from './store/index.js';
export { PostgresStore } from './store/postgres.js';
export { SqliteStore } from './store/sqlite.js';
export * from './index.js';
