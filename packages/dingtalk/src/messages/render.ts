import { DingTalkValidationError } from '../errors.js';
import { LIMITS } from './limits.js';
import { codePoints } from './split.js';
import { type Message, type Surface, supports } from './schemas.js';

/** Renders one dingpush message for each DingTalk surface (shared/dingtalk-api.md §4, §6.3, §7.2). */

export type WorkMsg = { msgtype: string } & Record<string, unknown>;
export type RobotBody = { msgtype: string; at?: RobotAt; msgUuid?: string } & Record<string, unknown>;
export interface RobotAt {
  atMobiles?: string[];
  atUserIds?: string[];
  isAtAll?: boolean;
}
export interface Mentions {
  mobiles?: string[];
  userIds?: string[];
  all?: boolean;
}

function requireSurface(surface: Surface, message: Message): void {
  if (!supports(surface, message.type))
    throw new DingTalkValidationError('message.type', `${message.type} messages cannot be sent to ${surface.replace('_', ' ')}s`);
}

/** DingTalk's 34016: a work notification's or chat message's text holds at most this many characters. */
function withinChars(path: string, value: string, max: number): string {
  if (codePoints(value) > max)
    throw new DingTalkValidationError(path, `must be at most ${max} characters in a work notification or chat message; this one has ${codePoints(value)} (send it with overflow "split")`);
  return value;
}

/** The `msg` of a work notification or legacy chat/send (snake_case, with link's camelCase exceptions). */
export function toWorkMsg(message: Message, surface: 'work_notice' | 'chat' = 'work_notice'): WorkMsg {
  requireSurface(surface, message);
  switch (message.type) {
    case 'text':
      return { msgtype: 'text', text: { content: withinChars('message.content', message.content, LIMITS.textContent) } };
    case 'markdown':
      return { msgtype: 'markdown', markdown: { title: message.title, text: withinChars('message.text', message.text, LIMITS.markdownText) } };
    case 'link':
      return { msgtype: 'link', link: { messageUrl: message.messageUrl, picUrl: message.picUrl ?? '@lALOAAAAAAAAAAA', title: message.title, text: message.text } };
    case 'action_card': {
      const card: Record<string, unknown> = { title: message.title, markdown: message.markdown };
      if (message.singleTitle !== undefined) {
        card.single_title = message.singleTitle;
        card.single_url = message.singleUrl;
      } else {
        card.btn_orientation = message.buttonOrientation === 'horizontal' ? '1' : '0';
        card.btn_json_list = (message.buttons ?? []).map((b) => ({ title: b.title, action_url: b.url }));
      }
      return { msgtype: 'action_card', action_card: card };
    }
    case 'oa': {
      const body: Record<string, unknown> = {};
      const b = message.body;
      if (b.title !== undefined) body.title = b.title;
      if (b.form !== undefined) body.form = b.form;
      if (b.rich !== undefined) body.rich = b.rich;
      if (b.content !== undefined) body.content = b.content;
      if (b.image !== undefined) body.image = b.image;
      if (b.fileCount !== undefined) body.file_count = b.fileCount;
      if (b.author !== undefined) body.author = b.author;
      const oa: Record<string, unknown> = { message_url: message.messageUrl, head: { bgcolor: message.head.bgcolor, text: message.head.text ?? '' }, body };
      if (message.pcMessageUrl !== undefined) oa.pc_message_url = message.pcMessageUrl;
      if (message.statusBar) oa.status_bar = { status_value: message.statusBar.value, ...(message.statusBar.bg ? { status_bg: message.statusBar.bg } : {}) };
      return { msgtype: 'oa', oa };
    }
    case 'image':
      return { msgtype: 'image', image: { media_id: message.mediaId } };
    case 'file':
      return { msgtype: 'file', file: { media_id: message.mediaId } };
    case 'voice':
      return { msgtype: 'voice', voice: { media_id: message.mediaId, duration: String(message.durationSeconds) } };
    default:
      throw new DingTalkValidationError('message.type', `${message.type} is not a work-notification type`);
  }
}

/**
 * A custom-robot webhook body. Mentions are filled into `at` and, because DingTalk only notifies a mentioned person
 * when `@<mobile>` / `@<userid>` also appears in the text, the missing `@…` are appended to it.
 */
export function toRobotBody(message: Message, mentions?: Mentions): RobotBody {
  requireSurface('robot', message);
  const at = robotAt(mentions);
  if (at && message.type !== 'text' && message.type !== 'markdown')
    throw new DingTalkValidationError('mentions', 'only text and markdown robot messages can @-mention people');
  switch (message.type) {
    case 'text':
      return { msgtype: 'text', text: { content: withMentions(message.content, at) }, ...(at ? { at } : {}) };
    case 'markdown':
      return { msgtype: 'markdown', markdown: { title: message.title, text: withMentions(message.text, at) }, ...(at ? { at } : {}) };
    case 'link':
      return { msgtype: 'link', link: { title: message.title, text: message.text, messageUrl: message.messageUrl, ...(message.picUrl ? { picUrl: message.picUrl } : {}) } };
    case 'action_card': {
      const card: Record<string, unknown> = { title: message.title, text: message.markdown };
      if (message.singleTitle !== undefined) {
        card.singleTitle = message.singleTitle;
        card.singleURL = message.singleUrl;
      } else {
        card.btnOrientation = message.buttonOrientation === 'horizontal' ? '1' : '0';
        card.btns = (message.buttons ?? []).map((b) => ({ title: b.title, actionURL: b.url }));
      }
      return { msgtype: 'actionCard', actionCard: card };
    }
    case 'feed_card':
      return { msgtype: 'feedCard', feedCard: { links: message.links.map((l) => ({ title: l.title, messageURL: l.messageUrl, picURL: l.picUrl })) } };
    default:
      throw new DingTalkValidationError('message.type', `${message.type} is not a robot type`);
  }
}

function robotAt(mentions?: Mentions): RobotAt | undefined {
  if (!mentions) return undefined;
  const mobiles = mentions.mobiles ?? [];
  const userIds = mentions.userIds ?? [];
  if (userIds.length > LIMITS.atUserIds) throw new DingTalkValidationError('mentions.userIds', `at most ${LIMITS.atUserIds} userids per message`);
  if (mobiles.length === 0 && userIds.length === 0 && !mentions.all) return undefined;
  return {
    ...(mobiles.length ? { atMobiles: mobiles } : {}),
    ...(userIds.length ? { atUserIds: userIds } : {}),
    ...(mentions.all ? { isAtAll: true } : {}),
  };
}

/** Appends "@x" for each mentioned mobile / userid whose "@x" is not in the text yet. */
export function withMentions(text: string, at?: RobotAt): string {
  if (!at) return text;
  const missing = [...(at.atMobiles ?? []), ...(at.atUserIds ?? [])].filter((id) => !text.includes(`@${id}`));
  return missing.length ? `${text}\n${missing.map((id) => `@${id}`).join(' ')}` : text;
}

/** An app-robot (new API) message: msgKey and msgParam (a JSON string). */
export function toAppRobotMessage(message: Message): { msgKey: string; msgParam: string } {
  requireSurface('app_robot', message);
  const out = (msgKey: string, param: Record<string, unknown>) => {
    const msgParam = JSON.stringify(param);
    if (Buffer.byteLength(msgParam) > LIMITS.msgParamBytes)
      throw new DingTalkValidationError('message', `app-robot messages must be at most ${LIMITS.msgParamBytes} bytes as msgParam`);
    return { msgKey, msgParam };
  };
  switch (message.type) {
    case 'text':
      return out('sampleText', { content: message.content });
    case 'markdown':
      return out('sampleMarkdown', { title: message.title, text: message.text });
    case 'link':
      return out('sampleLink', { title: message.title, text: message.text, messageUrl: message.messageUrl, picUrl: message.picUrl ?? '' });
    case 'action_card': {
      const base = { title: message.title, text: message.markdown };
      if (message.singleTitle !== undefined) return out('sampleActionCard', { ...base, singleTitle: message.singleTitle, singleURL: message.singleUrl });
      const buttons = message.buttons ?? [];
      if (buttons.length === 1) return out('sampleActionCard', { ...base, singleTitle: buttons[0]!.title, singleURL: buttons[0]!.url });
      if (message.buttonOrientation === 'horizontal' && buttons.length === 2)
        return out('sampleActionCard6', { ...base, buttonTitle1: buttons[0]!.title, buttonUrl1: buttons[0]!.url, buttonTitle2: buttons[1]!.title, buttonUrl2: buttons[1]!.url });
      const param: Record<string, unknown> = { ...base };
      buttons.forEach((b, i) => {
        param[`actionTitle${i + 1}`] = b.title;
        param[`actionURL${i + 1}`] = b.url;
      });
      return out(`sampleActionCard${buttons.length}`, param);
    }
    case 'image':
      return out('sampleImageMsg', { photoURL: message.mediaId });
    case 'file': {
      const name = message.fileName ?? 'file';
      return out('sampleFile', { mediaId: message.mediaId, fileName: name, fileType: message.fileType ?? name.split('.').pop() ?? 'file' });
    }
    case 'voice':
      return out('sampleAudio', { mediaId: message.mediaId, duration: String(message.durationSeconds * 1000) });
    default:
      throw new DingTalkValidationError('message.type', `${message.type} is not an app-robot type`);
  }
}

/** The byte size of a robot webhook body, which DingTalk caps at 20 000. */
export function robotBodyBytes(body: RobotBody): number {
  return Buffer.byteLength(JSON.stringify(body));
}
