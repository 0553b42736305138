import { DingTalkError, RobotClient, robotSecurityAdvice, type Transport } from '@dingpush/dingtalk';
import type { RobotConfig } from '../config/schema.js';
import { type Check, t } from './checklist.js';

/** The message type the probe posts: no robot has it, so DingTalk refuses it (400105) after its security check. */
export const PROBE_MSGTYPE = 'dingpush_doctor_probe';
const whereRobot = (name: string) => t(`the group → 群设置 (settings) → 机器人 (robots) → ${name} → 安全设置 (security)`, `群聊 → 群设置 → 机器人 → ${name} → 安全设置`);

/**
 * A custom robot's security settings against what the configuration declares, without showing anything in the
 * group: the probe is a message of a type no robot supports, signed when a secret is configured and carrying the
 * configured keywords. DingTalk runs its security check (token, signature, timestamp, IP, keywords) first; a probe
 * that passes it is refused as an unsupported type (400105) and nothing is posted.
 */
export async function robotChecks(robot: RobotConfig, index: number, transport: Transport): Promise<Check[]> {
  const host = new URL(robot.webhook).host;
  const title = t(`robot ${robot.name} (${host}): security settings`, `机器人 ${robot.name}（${host}）: 安全设置`);
  const id = `robot:${robot.name}`;
  const client = new RobotClient({ webhook: robot.webhook, ...(robot.secret ? { secret: robot.secret } : {}), transport, retry: { attempts: 1 } });
  const content = robot.keywords.length > 0 ? robot.keywords.join(' ') : 'dingpush doctor';
  try {
    await client.send({ msgtype: PROBE_MSGTYPE, [PROBE_MSGTYPE]: { content }, text: { content } });
    // Accepted an unknown type: not what DingTalk does, but the security check passed.
    return [{ id, status: 'pass', title, detail: t('accepted', '已通过') }];
  } catch (err) {
    if (!(err instanceof DingTalkError)) throw err;
    const code = err.code;
    if (code === 400105 || code === 40035 || code === 400402 || code === 40008)
      return [{ id, status: 'pass', title, detail: t(`match${robot.secret ? ' (signed)' : ''}${robot.keywords.length ? `, keywords ${robot.keywords.join(', ')}` : ''}; nothing was posted`, `匹配${robot.secret ? '（加签）' : ''}${robot.keywords.length ? `，关键词 ${robot.keywords.join('、')}` : ''}；未发出任何消息`) }];
    if (err.setup === 'robotToken')
      return [
        {
          id,
          status: 'fail',
          title,
          detail: t(`DingTalk ${code}: ${err.dingMessage} — the webhook's access_token is unknown`, `钉钉 ${code}: ${err.dingMessage} — webhook 中的 access_token 不存在`),
          fix: t(`copy the robot's whole webhook URL again into robots[${index}].webhook (the robot may have been removed)`, `重新复制机器人的完整 webhook 地址到 robots[${index}].webhook（机器人可能已被移除）`),
          where: t('the group → 群设置 → 机器人 → the robot → webhook', '群聊 → 群设置 → 机器人 → 该机器人 → Webhook'),
        },
      ];
    if (code === 310000) {
      const advice = robotSecurityAdvice(err.dingMessage);
      const fix =
        advice.cause === 'keyword'
          ? t(
              `the robot demands a keyword this configuration lacks: add it to robots[${index}].keywords (every message must contain one)`,
              `机器人要求的关键词不在配置中：把它加入 robots[${index}].keywords（每条消息须包含其一）`,
            )
          : advice.cause === 'signature'
            ? t(
                robot.secret
                  ? `robots[${index}].secret is not this robot's signing secret: copy it again (加签, starts with SEC)`
                  : `the robot signs (加签): put its secret (starts with SEC) in robots[${index}].secret`,
                robot.secret ? `robots[${index}].secret 不是该机器人的加签密钥：重新复制（以 SEC 开头）` : `机器人开启了加签：把密钥（以 SEC 开头）填入 robots[${index}].secret`,
              )
            : advice.todo;
      return [{ id, status: 'fail', title, detail: t(`DingTalk 310000: ${err.dingMessage}`, `钉钉 310000: ${err.dingMessage}`), fix, where: whereRobot(robot.name) }];
    }
    if (err.errorClass === 'rate_limited')
      return [{ id, status: 'warn', title, detail: t(`DingTalk ${code}: the robot is blocked for sending too fast; not checked now`, `钉钉 ${code}: 机器人因发送过快被限流；暂时无法检查`), fix: err.todo }];
    return [{ id, status: 'fail', title, detail: t(`DingTalk ${code}: ${err.dingMessage}`, `钉钉 ${code}: ${err.dingMessage}`), fix: err.todo }];
  } finally {
    await client.close();
  }
}
