import { DingTalkApp, DingTalkError, egressIpOf, type Transport } from '@dingpush/dingtalk';
import type { AppConfig, Config } from '../config/schema.js';
import { type Check, type Text, t } from './checklist.js';

const CONSOLE = 'open-dev.dingtalk.com';
const where = {
  credentials: (app: string) => t(`${CONSOLE} → 应用开发 → ${app} → 凭证与基础信息 (Credentials)`, `${CONSOLE} 开发者后台 → 应用开发 → ${app} → 凭证与基础信息`),
  whitelist: (app: string) => t(`${CONSOLE} → 应用开发 → ${app} → 安全设置 → 服务器出口IP (server egress IPs)`, `${CONSOLE} 开发者后台 → 应用开发 → ${app} → 安全设置 → 服务器出口IP`),
  permissions: (app: string) => t(`${CONSOLE} → 应用开发 → ${app} → 权限管理 (Permissions)`, `${CONSOLE} 开发者后台 → 应用开发 → ${app} → 权限管理`),
  robot: (app: string) => t(`${CONSOLE} → 应用开发 → ${app} → 机器人与消息推送 (Robot)`, `${CONSOLE} 开发者后台 → 应用开发 → ${app} → 机器人与消息推送`),
};

// Which codes mean which setup problem is the error table's knowledge (DingTalkError.setup), not the doctor's.
const isPermission = (e: DingTalkError) => e.setup === 'permission';
const isWhitelist = (e: DingTalkError) => e.setup === 'ipWhitelist';
const isCredentials = (e: DingTalkError) => e.setup === 'credentials';
const said = (e: DingTalkError): Text => t(`DingTalk ${e.code}: ${e.dingMessage}`, `钉钉 ${e.code}: ${e.dingMessage}`);

/** The permission groups dingpush uses, each probed with a harmless read call of that group (never a send). */
interface Group {
  key: 'contacts' | 'workNotice' | 'robot';
  name: Text;
  /** The permission to apply for, as the console names it. */
  permission: Text;
  probe(client: DingTalkApp): Promise<unknown>;
  /**
   * The refusals that prove the call got past the permission check (the probe asks for something that does not
   * exist). Any other refusal proves nothing: the permission is then "not verified", never "granted".
   */
  pastPermission(code: number | string): boolean;
}

const GROUPS: Group[] = [
  {
    key: 'contacts',
    name: t('contacts (mobiles → userids, departments)', '通讯录（手机号查 userid、部门）'),
    permission: t('通讯录只读权限 / 根据手机号获取成员基本信息 (qyapi_get_member_by_mobile)', '通讯录只读权限 / 根据手机号获取成员基本信息（qyapi_get_member_by_mobile）'),
    probe: (c) => c.listSubDepartments(1),
    pastPermission: () => false,
  },
  {
    key: 'workNotice',
    name: t('work notifications (asyncsend_v2)', '工作通知（asyncsend_v2）'),
    permission: t('工作通知 (work notification) messages for the app', '应用的工作通知消息权限'),
    // Asks for the progress of task 1, which is not this app's: DingTalk checks the permission and the AgentId
    // first, then answers 40035 (no such task). Nothing is sent.
    probe: (c) => c.getSendProgress(1),
    // 40035 / 400002: no such task; 40056 / 41011: the AgentId is not this app's (checked next).
    pastPermission: (code) => code === 40035 || code === 400002 || code === 40056 || code === 41011,
  },
  {
    key: 'robot',
    name: t('app robot (chats, one-to-one)', '应用机器人（群聊、单聊）'),
    permission: t('企业内机器人发送消息权限 (qyapi_robot_sendmsg)', '企业内机器人发送消息权限（qyapi_robot_sendmsg）'),
    probe: (c) => c.getOtoReadStatus('dingpush-doctor-probe'),
    // No such message; or a robotCode that is not this app's (checked next).
    pastPermission: (code) => code === 'invalid.processQueryKey' || code === 'resource.not.found' || /^invalidParameter\.robotCode\./.test(String(code)),
  },
];

/**
 * Which groups this configuration needs of an app: work notifications with an AgentId, the robot with a robotCode,
 * contacts for mobiles and departments (a failure when a target addresses them through this app, a warning
 * otherwise: senders may still give userids).
 */
function needs(config: Config, app: AppConfig, index: number): Record<Group['key'], 'required' | 'wanted' | 'unused'> {
  const targetsOfApp = config.targets.filter((tg) => (tg.app ?? config.apps[0]?.name) === app.name);
  const contactsInTargets = index >= 0 && targetsOfApp.some((tg) => tg.to.mobiles.length > 0 || tg.to.deptIds.length > 0);
  return {
    workNotice: app.agentId !== undefined ? 'required' : 'unused',
    robot: app.robotCode !== undefined ? 'required' : 'unused',
    contacts: contactsInTargets ? 'required' : app.agentId !== undefined || app.robotCode !== undefined ? 'wanted' : 'unused',
  };
}

/** Checks of one app: its token (AppKey/AppSecret), the IP whitelist, each permission group it needs, its AgentId. */
export async function appChecks(config: Config, app: AppConfig, index: number, transport: Transport): Promise<Check[]> {
  const id = (what: string) => `app:${app.name}:${what}`;
  const label = (en: string, zh: string) => t(`app ${app.name}: ${en}`, `应用 ${app.name}: ${zh}`);
  const client = new DingTalkApp(
    { appKey: app.appKey, appSecret: app.appSecret, ...(app.agentId ? { agentId: app.agentId } : {}), ...(app.robotCode ? { robotCode: app.robotCode } : {}) },
    { oapiBaseUrl: config.dingtalk.oapiBaseUrl, apiBaseUrl: config.dingtalk.apiBaseUrl, transport, retry: { attempts: 1 } },
  );
  const whitelistFail = (e: DingTalkError): Check => {
    const ip = egressIpOf(e.dingMessage);
    return {
      id: id('whitelist'),
      status: 'fail',
      title: label('IP whitelist', 'IP 白名单'),
      detail: t(`DingTalk ${e.code}: this server's address${ip ? ` ${ip}` : ''} is not in the app's whitelist`, `钉钉 ${e.code}: 本服务器地址${ip ? ` ${ip} ` : ''}不在应用的白名单中`),
      fix: t(
        `add ${ip ?? "this server's egress IP (the address DingTalk sees; behind NAT, the gateway's public address)"} to the app's server egress IPs`,
        `把 ${ip ?? '本服务器的出口 IP（钉钉看到的地址；在 NAT 之后是网关的公网地址）'} 加入应用的服务器出口IP`,
      ),
      where: where.whitelist(app.name),
    };
  };
  try {
    await client.accessToken();
  } catch (err) {
    if (!(err instanceof DingTalkError)) throw err;
    if (isWhitelist(err)) return [{ id: id('token'), status: 'pass', title: label('AppKey and AppSecret', 'AppKey 与 AppSecret'), detail: t('accepted', '已接受') }, whitelistFail(err)];
    const skipped = { id: id('permissions'), status: 'skip' as const, title: label('permissions', '权限'), detail: t('not checked: no token', '未检查：没有 token') };
    if (isCredentials(err))
      return [
        {
          id: id('token'),
          status: 'fail',
          title: label('AppKey and AppSecret', 'AppKey 与 AppSecret'),
          detail: said(err),
          fix: t(
            `copy the AppKey (Client ID) into apps[${index}].appKey and the AppSecret (Client Secret) into apps[${index}].appSecret (or the variable it names in .env) again; both come from the same app`,
            `重新复制 AppKey（Client ID）到 apps[${index}].appKey，AppSecret（Client Secret）到 apps[${index}].appSecret（或 .env 中对应的变量）；两者须来自同一个应用`,
          ),
          where: where.credentials(app.name),
        },
        skipped,
      ];
    return [{ id: id('token'), status: 'fail', title: label('access token', 'access token'), detail: said(err), fix: err.todo }, skipped];
  }
  const checks: Check[] = [{ id: id('token'), status: 'pass', title: label('AppKey and AppSecret', 'AppKey 与 AppSecret'), detail: t('token fetched', '已获取 token') }];
  let whitelisted = true;
  const need = needs(config, app, index);
  for (const group of GROUPS) {
    if (need[group.key] === 'unused') continue;
    const title = label(`permission: ${group.name.en}`, `权限: ${group.name.zh}`);
    let failure: DingTalkError | undefined;
    try {
      await group.probe(client);
    } catch (err) {
      if (!(err instanceof DingTalkError)) throw err;
      failure = err;
    }
    if (failure && isWhitelist(failure)) {
      if (whitelisted) checks.push(whitelistFail(failure));
      whitelisted = false;
      continue;
    }
    if (failure && isPermission(failure)) {
      const required = need[group.key] === 'required';
      checks.push({
        id: id(`permission:${group.key}`),
        status: required ? 'fail' : 'warn',
        title,
        detail: t(
          `DingTalk ${failure.code}: ${failure.dingMessage}${required ? '' : ' (sends to userids still work; mobiles and departments will fail)'}`,
          `钉钉 ${failure.code}: ${failure.dingMessage}${required ? '' : '（发给 userid 不受影响；手机号和部门会失败）'}`,
        ),
        fix: t(`apply for ${group.permission.en} for this app, then wait for it to be granted`, `为该应用申请 ${group.permission.zh}，通过后生效`),
        where: where.permissions(app.name),
      });
      continue;
    }
    if (failure && !group.pastPermission(failure.code)) {
      checks.push({
        id: id(`permission:${group.key}`),
        status: 'warn',
        title,
        detail: t(`not verified: DingTalk answered ${failure.code} ${failure.dingMessage}`, `未能确认：钉钉应答 ${failure.code} ${failure.dingMessage}`),
        fix: failure.todo,
      });
      continue;
    }
    checks.push({ id: id(`permission:${group.key}`), status: 'pass', title, detail: t('granted', '已授权') });
    if (group.key === 'workNotice') checks.push(agentCheck(app, index, failure, label, id));
    if (group.key === 'robot' && failure && /robotCode/i.test(String(failure.code)))
      checks.push({
        id: id('robotCode'),
        status: 'fail',
        title: label('robotCode', 'robotCode'),
        detail: said(failure),
        fix: t(`apps[${index}].robotCode is not this app's robot: copy the robotCode shown for the app's robot`, `apps[${index}].robotCode 不是该应用的机器人：复制该应用机器人页面上的 robotCode`),
        where: where.robot(app.name),
      });
  }
  if (whitelisted) checks.splice(1, 0, { id: id('whitelist'), status: 'pass', title: label('IP whitelist', 'IP 白名单'), detail: t('calls from this server are accepted', '接受本服务器的调用') });
  await client.close();
  return checks;
}

/** The AgentId belongs to the app: the progress probe answers 40056 (不合法的agentid) when it does not. */
function agentCheck(app: AppConfig, index: number, failure: DingTalkError | undefined, label: (en: string, zh: string) => Text, id: (w: string) => string): Check {
  const title = label(`AgentId ${app.agentId}`, `AgentId ${app.agentId}`);
  if (failure && (failure.code === 40056 || failure.code === 41011))
    return {
      id: id('agentId'),
      status: 'fail',
      title,
      detail: said(failure),
      fix: t(
        `apps[${index}].agentId is not this app's: copy the AgentId shown beside its AppKey (a number; the AppKey is text)`,
        `apps[${index}].agentId 不属于该应用：复制其 AppKey 旁边显示的 AgentId（数字；AppKey 是字母串）`,
      ),
      where: where.credentials(app.name),
    };
  return { id: id('agentId'), status: 'pass', title, detail: t("belongs to this app", '属于该应用') };
}
