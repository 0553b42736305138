import { oapiError } from '../oapi.js';

/** Custom-robot webhook bodies (shared/dingtalk-api.md §6.3): camelCase, capital `URL` spellings. */

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);
const ROBOT_TYPES = ['text', 'link', 'markdown', 'actionCard', 'feedCard'] as const;

function missing(path: string): never {
  throw oapiError(
    400402,
    `错误描述:参数 ${path.replace('.', ' --》 ')} 缺失，或者参数格式不正确; 解决方案:请检查参数; 参考链接:https://open.dingtalk.com/document/`,
  );
}

function need(body: Obj, field: string, path: string): string {
  const v = body[field];
  if (typeof v !== 'string' || v === '') missing(`${path}.${field}`);
  return v;
}

export interface RobotMentions {
  notified: string[];
  notNotified: string[];
  all: boolean;
}

export function validateRobotMessage(body: Obj): { msgtype: string; text: string; mentions?: RobotMentions } {
  const msgtype = body.msgtype;
  if (typeof msgtype !== 'string' || !(ROBOT_TYPES as readonly string[]).includes(msgtype))
    throw oapiError(400105, `不支持的消息类型 ${String(msgtype)}`);
  const inner = body[msgtype];
  if (!isObj(inner)) missing(msgtype);
  switch (msgtype) {
    case 'text':
      return { msgtype, text: need(inner, 'content', 'text'), mentions: mentions(body.at, need(inner, 'content', 'text')) };
    case 'markdown':
      need(inner, 'title', 'markdown');
      return { msgtype, text: need(inner, 'text', 'markdown'), mentions: mentions(body.at, inner.text as string) };
    case 'link':
      need(inner, 'title', 'link');
      need(inner, 'messageUrl', 'link');
      return { msgtype, text: need(inner, 'text', 'link') };
    case 'actionCard': {
      need(inner, 'title', 'actionCard');
      const text = need(inner, 'text', 'actionCard');
      if (inner.singleTitle !== undefined || inner.singleURL !== undefined) {
        need(inner, 'singleTitle', 'actionCard');
        need(inner, 'singleURL', 'actionCard');
      } else {
        const btns = inner.btns;
        if (!Array.isArray(btns) || btns.length === 0) missing('actionCard.btns');
        btns.forEach((b, i) => {
          if (!isObj(b)) missing(`actionCard.btns[${i}]`);
          need(b, 'title', `actionCard.btns[${i}]`);
          need(b, 'actionURL', `actionCard.btns[${i}]`);
        });
      }
      return { msgtype, text };
    }
    default: {
      const links = (inner as Obj).links;
      if (!Array.isArray(links) || links.length === 0) missing('feedCard.links');
      links.forEach((l, i) => {
        if (!isObj(l)) missing(`feedCard.links[${i}]`);
        need(l, 'title', `feedCard.links[${i}]`);
        need(l, 'messageURL', `feedCard.links[${i}]`);
        need(l, 'picURL', `feedCard.links[${i}]`);
      });
      return { msgtype, text: '' };
    }
  }
}

/** A listed mobile or userid only notifies its owner when `@<it>` also appears in the text (§6.3). */
function mentions(at: unknown, text: string): RobotMentions | undefined {
  if (!isObj(at)) return undefined;
  const listed = [
    ...(Array.isArray(at.atMobiles) ? at.atMobiles : []),
    ...(Array.isArray(at.atUserIds) ? at.atUserIds : []),
    ...(Array.isArray(at.atDingtalkIds) ? at.atDingtalkIds : []),
  ].map(String);
  if (Array.isArray(at.atUserIds) && at.atUserIds.length > 50) throw oapiError(40035, 'at.atUserIds 超过50个');
  const notified = listed.filter((id) => text.includes(`@${id}`));
  return { notified, notNotified: listed.filter((id) => !notified.includes(id)), all: at.isAtAll === true };
}

/** Every string value of a body, for the keyword check (which fields DingTalk scans is not documented). */
export function allStrings(value: unknown, out: string[] = []): string[] {
  if (typeof value === 'string') out.push(value);
  else if (Array.isArray(value)) for (const v of value) allStrings(v, out);
  else if (isObj(value)) for (const v of Object.values(value)) allStrings(v, out);
  return out;
}
