import { DingTalkApp, DingTalkError, RobotClient, type Transport } from '@dingpush/dingtalk';
import type { Config } from '../config/schema.js';
import { type Check, type Text, t } from './checklist.js';

/**
 * `--send-test RECIPIENT`: the one thing doctor sends, and only when asked. A configured robot's name posts to that
 * robot's group (with its keywords); anything else is a userid, sent a work notification by the first app with an
 * AgentId.
 */
export async function sendTest(config: Config, recipient: string, transport: Transport): Promise<Check> {
  const stamp = new Date().toISOString().replace('T', ' ').slice(0, 19);
  const robot = config.robots.find((r) => r.name === recipient);
  const title = titleOf(config, recipient);
  const id = 'send-test';
  try {
    if (robot) {
      const client = new RobotClient({ webhook: robot.webhook, ...(robot.secret ? { secret: robot.secret } : {}), transport, retry: { attempts: 1 } });
      const keywords = robot.keywords.length > 0 ? ` ${robot.keywords.join(' ')}` : '';
      await client.send({ type: 'text', content: `dingpush doctor: test message ${stamp} UTC${keywords}` }).finally(() => client.close());
      return { id, status: 'pass', title, detail: t('DingTalk accepted it: look in the group', '钉钉已接受：请在群里查看') };
    }
    const app = config.apps.find((a) => a.agentId !== undefined);
    if (!app)
      return {
        id,
        status: 'fail',
        title,
        detail: t(`no robot named ${recipient}, and no app with an agentId to send a work notification`, `没有名为 ${recipient} 的机器人，也没有配置了 agentId 的应用可发工作通知`),
        fix: t('name a configured robot, or configure apps[].agentId', '请指定已配置的机器人名称，或配置 apps[].agentId'),
      };
    const client = new DingTalkApp(
      { appKey: app.appKey, appSecret: app.appSecret, ...(app.agentId ? { agentId: app.agentId } : {}) },
      { oapiBaseUrl: config.dingtalk.oapiBaseUrl, apiBaseUrl: config.dingtalk.apiBaseUrl, transport, retry: { attempts: 1 } },
    );
    const taskId = await client.sendWorkNoticeOnce({ userIds: [recipient] }, { type: 'text', content: `dingpush doctor: test message ${stamp} UTC` }).finally(() => client.close());
    return {
      id,
      status: 'pass',
      title,
      detail: t(`DingTalk accepted it (task ${taskId}, app ${app.name}): look in ${recipient}'s 工作通知`, `钉钉已接受（任务 ${taskId}，应用 ${app.name}）：请在 ${recipient} 的工作通知中查看`),
    };
  } catch (err) {
    if (!(err instanceof DingTalkError)) throw err;
    return { id, status: 'fail', title, detail: t(`DingTalk ${err.code}: ${err.dingMessage}`, `钉钉 ${err.code}: ${err.dingMessage}`), fix: err.todo };
  }
}

const titleOf = (config: Config, recipient: string) => {
  const robot = config.robots.some((r) => r.name === recipient);
  return t(`test message to ${robot ? `robot ${recipient}` : `user ${recipient}`}`, `测试消息发给${robot ? `机器人 ${recipient}` : `用户 ${recipient}`}`);
};

/**
 * `--send-test` asked for a message that cannot be sent (sandbox mode, DingTalk unreachable): a failure saying why,
 * never silence, so that a script asking for a test message does not read success when nothing went.
 */
export function sendTestNotSent(config: Config, recipient: string, why: Text): Check {
  return { id: 'send-test', status: 'fail', title: titleOf(config, recipient), detail: t(`not sent: ${why.en}`, `未发送：${why.zh}`) };
}
