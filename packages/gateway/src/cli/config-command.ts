import { existsSync } from 'node:fs';
import { proxySettingProblem } from '@dingpush/dingtalk';
import { checkConfigFile, startProblems } from '../config/load.js';
import { dingtalkProxyOf } from '../config/schema.js';
import { UsageError } from './options.js';

/** The configuration file a command reads: --config, else DINGPUSH_CONFIG, else ./dingpush.yaml. */
export function configPathOf(flag: string | undefined): string {
  const path = flag || 'dingpush.yaml';
  if (!existsSync(path)) throw new UsageError(`${path}: no such configuration (write one with: npx dingpush init)`);
  return path;
}

/**
 * `dingpush config check`: every problem of a configuration, one per line naming its key (for CI pipelines and
 * container start scripts); exit 0 when there is none, 2 when there is. Calls nothing, starts nothing.
 */
export async function configCheck(f: { config?: string }): Promise<void> {
  const path = configPathOf(f.config);
  const { config, problems, data } = checkConfigFile(path);
  // The proxy the environment names is part of what serve starts with (dingtalk.proxy is checked by the schema).
  const proxy = config && !config.dingtalk.proxy ? proxySettingProblem(dingtalkProxyOf(config)) : undefined;
  const all = config ? [...startProblems(config), ...(proxy ? [proxy] : [])] : [...problems, ...startProblems(data)];
  if (!config || all.length > 0) {
    process.stderr.write(`${all.map((p) => `✗ ${p}`).join('\n')}\n${path}: ${all.length} problem${all.length === 1 ? '' : 's'}\n`);
    process.exitCode = 2;
    return;
  }
  const store = 'sqlite' in config.store ? `sqlite ${config.store.sqlite}` : 'postgres';
  const mode = config.apps.length + config.robots.length === 0 ? 'sandbox mode' : `${config.apps.length} app(s), ${config.robots.length} robot(s), ${config.apiKeys.length} API key(s)`;
  process.stdout.write(`✓ ${path} is valid: ${mode}, ${config.targets.length} target(s), store ${store}\n`);
}
