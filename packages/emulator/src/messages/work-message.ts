import { oapiError } from '../oapi.js';

/**
 * Validation of the work-notification / chat `msg` object (shared/dingtalk-api.md §4), written from the contract.
 * Throws an OapiFailure carrying DingTalk's errcode; the detail names the field.
 */

const WORK_TYPES = ['text', 'image', 'voice', 'file', 'link', 'oa', 'markdown', 'action_card'] as const;
export type WorkMsgType = (typeof WORK_TYPES)[number];

type Obj = Record<string, unknown>;

const chars = (s: string) => [...s].length;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);
const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);

function required(body: Obj, field: string, path: string, code = 40035): string {
  const v = str(body[field]);
  if (v === undefined || v.trim() === '') throw oapiError(code, `${path}.${field} 缺失`);
  return v;
}

function maxChars(value: string | undefined, limit: number, path: string): void {
  if (value !== undefined && chars(value) > limit) throw oapiError(34016, `${path} 超过${limit}字符`);
}

export interface MediaLookup {
  has(mediaId: string): boolean;
}

function mediaId(body: Obj, path: string, code: number, media: MediaLookup): void {
  const id = required(body, 'media_id', path, code);
  if (!media.has(id)) throw oapiError(40007, `${path}.media_id ${id}`);
}

export function validateWorkMessage(msg: unknown, media: MediaLookup): { msgtype: WorkMsgType; body: Obj } {
  if (!isObj(msg)) throw oapiError(34014, 'msg');
  const msgtype = msg.msgtype;
  if (typeof msgtype !== 'string' || !(WORK_TYPES as readonly string[]).includes(msgtype))
    throw oapiError(40008, `msg.msgtype ${String(msgtype)}`);
  const body = msg[msgtype];
  if (!isObj(body)) throw oapiError(34014, `msg.${msgtype} 缺失`);
  const p = `msg.${msgtype}`;
  switch (msgtype as WorkMsgType) {
    case 'text':
      maxChars(required(body, 'content', p, 44004), 5000, `${p}.content`);
      break;
    case 'image':
      mediaId(body, p, 34008, media);
      break;
    case 'file':
      mediaId(body, p, 34010, media);
      break;
    case 'voice': {
      mediaId(body, p, 34011, media);
      const duration = required(body, 'duration', p);
      if (!/^[1-9]\d*$/.test(duration) || Number(duration) >= 60)
        throw oapiError(40035, `${p}.duration 须为小于60的正整数`);
      break;
    }
    case 'link':
      required(body, 'messageUrl', p, 34009);
      required(body, 'picUrl', p);
      required(body, 'title', p);
      required(body, 'text', p);
      break;
    case 'markdown':
      maxChars(required(body, 'title', p), 64, `${p}.title`);
      maxChars(required(body, 'text', p), 5000, `${p}.text`);
      break;
    case 'oa':
      validateOa(body, p);
      break;
    case 'action_card':
      validateActionCard(body, p);
      break;
  }
  return { msgtype: msgtype as WorkMsgType, body };
}

function validateOa(body: Obj, p: string): void {
  required(body, 'message_url', p);
  const head = body.head;
  if (!isObj(head)) throw oapiError(40035, `${p}.head 缺失`);
  const bgcolor = required(head, 'bgcolor', `${p}.head`);
  if (!/^[0-9A-Fa-f]{8}$/.test(bgcolor)) throw oapiError(40035, `${p}.head.bgcolor 须为8位十六进制ARGB`);
  const oaBody = body.body;
  if (!isObj(oaBody)) throw oapiError(40035, `${p}.body 缺失`);
  maxChars(str(oaBody.title), 50, `${p}.body.title`);
  if (oaBody.form !== undefined) {
    if (!Array.isArray(oaBody.form) || !oaBody.form.every((r) => isObj(r)))
      throw oapiError(34014, `${p}.body.form 须为 {key,value} 数组`);
  }
  const bar = body.status_bar;
  if (bar !== undefined && !isObj(bar)) throw oapiError(34014, `${p}.status_bar`);
}

function validateActionCard(body: Obj, p: string): void {
  maxChars(str(body.title), 64, `${p}.title`);
  maxChars(required(body, 'markdown', p), 5000, `${p}.markdown`);
  const single = body.single_title !== undefined || body.single_url !== undefined;
  const multi = body.btn_json_list !== undefined || body.btn_orientation !== undefined;
  if (single) {
    maxChars(required(body, 'single_title', p), 20, `${p}.single_title`);
    maxChars(required(body, 'single_url', p), 500, `${p}.single_url`);
    return;
  }
  if (!multi) throw oapiError(40035, `${p}.single_title/single_url 或 btn_orientation/btn_json_list 缺失`);
  required(body, 'btn_orientation', p);
  const list = body.btn_json_list;
  if (!Array.isArray(list) || list.length === 0) throw oapiError(40035, `${p}.btn_json_list 缺失`);
  list.forEach((btn, i) => {
    if (!isObj(btn)) throw oapiError(34014, `${p}.btn_json_list[${i}]`);
    maxChars(required(btn, 'title', `${p}.btn_json_list[${i}]`), 20, `${p}.btn_json_list[${i}].title`);
    maxChars(required(btn, 'action_url', `${p}.btn_json_list[${i}]`), 700, `${p}.btn_json_list[${i}].action_url`);
  });
  maxChars(JSON.stringify(list), 1000, `${p}.btn_json_list`);
}

/** Canonical JSON (sorted keys): "same content" is byte-identical canonical JSON of `msg` (§0.4). */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (isObj(value))
    return `{${Object.keys(value)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonicalJson(value[k])}`)
      .join(',')}}`;
  return JSON.stringify(value);
}

