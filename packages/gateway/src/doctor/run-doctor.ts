import { proxySettingProblem, Transport } from '@dingpush/dingtalk';
import { checkConfigFile, startProblems } from '../config/load.js';
import { type Config, dingtalkProxyOf } from '../config/schema.js';
import { appChecks } from './app-checks.js';
import { type Check, exitCodeOf, t } from './checklist.js';
import { networkChecks } from './network-checks.js';
import { robotChecks } from './robot-checks.js';
import { sendTest, sendTestNotSent } from './send-test.js';
import { storeChecks } from './store-checks.js';

export interface DoctorOptions {
  sendTest?: string;
  env?: NodeJS.ProcessEnv;
  /** Seconds each call to DingTalk may take. */
  timeoutMs?: number;
}

/**
 * Every check, in the order a person fixes things: the configuration, the store, the network and the clock, then
 * each app and each robot; last, when asked, one test message. A configuration that does not parse stops there
 * (exit 2) before anything calls DingTalk.
 */
export async function runDoctor(configPath: string, opts: DoctorOptions = {}): Promise<{ checks: Check[]; exitCode: 0 | 1 | 2 }> {
  const { config, problems } = checkConfigFile(configPath, opts.env ?? process.env);
  if (!config) {
    return {
      checks: problems.map((p) => ({
        id: 'config',
        status: 'fail',
        title: t(`configuration ${configPath}`, `配置 ${configPath}`),
        detail: t(p, `配置有误：${p}`),
        fix: t('correct this key (dingpush config check lists every problem)', '修正该项（dingpush config check 会列出所有问题）'),
      })),
      exitCode: 2,
    };
  }
  const checks: Check[] = [configCheck(configPath, config)];
  checks.push(...(await storeChecks(config)));
  const proxyProblem = proxySettingProblem(dingtalkProxyOf(config), opts.env ?? process.env);
  if (proxyProblem) {
    checks.push({
      id: 'proxy',
      status: 'fail',
      title: t('proxy for calls to DingTalk', '访问钉钉的代理'),
      detail: t(proxyProblem, proxyProblem),
      fix: t('correct the variable (an http:// or https:// proxy URL), or unset it', '修正该环境变量（http:// 或 https:// 代理地址），或取消设置'),
    });
    return { checks, exitCode: exitCodeOf(checks) };
  }
  // The same proxy the gateway would use: what is checked is the path its calls take.
  const transport = new Transport({ timeoutMs: opts.timeoutMs ?? Math.min(config.dingtalk.timeoutMs, 10_000), proxy: dingtalkProxyOf(config) });
  const sandbox = config.apps.length + config.robots.length === 0;
  try {
    if (sandbox) {
      // Sandbox mode never calls DingTalk: nothing to check there (and no network needed).
      checks.push({ id: 'dingtalk', status: 'skip', title: t('DingTalk', '钉钉'), detail: t('not checked: sandbox mode talks to the built-in emulator', '未检查：沙箱模式使用内置模拟器') });
      if (opts.sendTest !== undefined)
        checks.push(sendTestNotSent(config, opts.sendTest, t('sandbox mode, no DingTalk app or robot is configured', '沙箱模式，没有配置钉钉应用或机器人')));
      return { checks, exitCode: exitCodeOf(checks) };
    }
    const reach = await networkChecks(config, transport);
    checks.push(...reach);
    const unreachable = reach.some((c) => c.id.startsWith('reach:') && c.status === 'fail');
    if (unreachable) {
      checks.push({ id: 'dingtalk', status: 'skip', title: t('apps and robots', '应用与机器人'), detail: t('not checked: DingTalk is unreachable', '未检查：无法访问钉钉') });
      if (opts.sendTest !== undefined) checks.push(sendTestNotSent(config, opts.sendTest, t('DingTalk is unreachable', '无法访问钉钉')));
    } else {
      for (const [i, app] of config.apps.entries()) checks.push(...(await appChecks(config, app, i, transport)));
      for (const [i, robot] of config.robots.entries()) checks.push(...(await robotChecks(robot, i, transport)));
      if (opts.sendTest !== undefined) checks.push(await sendTest(config, opts.sendTest, transport));
    }
  } finally {
    await transport.close();
  }
  return { checks, exitCode: exitCodeOf(checks) };
}

function configCheck(path: string, config: Config): Check {
  const title = t(`configuration ${path}`, `配置 ${path}`);
  const start = startProblems(config);
  if (start.length > 0) return { id: 'config', status: 'fail', title, detail: t(start[0]!, start[0]!), fix: t('add an API key (dingpush init writes one to .env)', '添加一个 API key（dingpush init 会把它写入 .env）') };
  const sandbox = config.apps.length + config.robots.length === 0;
  return {
    id: 'config',
    status: sandbox ? 'warn' : 'pass',
    title,
    detail: sandbox
      ? t('no DingTalk app or robot: serve runs in sandbox mode (the built-in emulator)', '没有配置钉钉应用或机器人：serve 将以沙箱模式运行（内置模拟器）')
      : t(`valid: ${config.apps.length} app(s), ${config.robots.length} robot(s)`, `有效：${config.apps.length} 个应用，${config.robots.length} 个机器人`),
    ...(sandbox ? { fix: t('add your app and robots: npx dingpush init --force --app-key … --app-secret … --agent-id …', '添加应用与机器人：npx dingpush init --force --app-key … --app-secret … --agent-id …') } : {}),
  };
}
