import type { DingTalkApp, RobotClient } from '@dingpush/dingtalk';
import type { Config } from '../config/schema.js';
import type { Logger } from '../observability/logger.js';
import type { Metrics } from '../observability/metrics.js';
import type { Store } from '../store/types.js';
import type { Pacer } from './pacer.js';

/** What the dispatcher's handlers work with. */
export interface Runtime {
  config: Config;
  store: Store;
  apps: Map<string, DingTalkApp>;
  robots: Map<string, RobotClient>;
  pacer: Pacer;
  metrics: Metrics;
  log: Logger;
  now(): number;
  /** Asks the dispatcher to look for due jobs now (new work was stored). */
  wake(): void;
  /** The API key value for a key name, to sign callbacks. */
  apiKeyValue(name: string): string | undefined;
}
