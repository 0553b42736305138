import { randomBytes } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { DAY_MS } from '../clock.js';
import { type Obj, needString, newApiAuth, newApiBody, query } from '../http.js';
import { MSG_KEYS, missCode } from '../messages/msgkey.js';
import { newApiError } from '../oapi.js';
import type { OrgApp } from '../org.js';
import type { EmulatorState, InboxMessage, OtoSend } from '../state.js';

const MSG_PARAM_MAX_BYTES = 15_000;
const KEYS_PER_CALL = 20;

/** Enterprise (app) robots on the new API (§7.2): one-to-one batch send, group send, read status, recall. */
export function registerAppRobot(app: FastifyInstance, state: EmulatorState): void {
  const robotCodeOf = (orgApp: OrgApp, body: Obj | Record<string, string | undefined>): string => {
    const code = body.robotCode;
    if (typeof code !== 'string' || code === '') throw newApiError(400, 'invalidParameter.robotCode.empty', 'robotCode is empty');
    if (code !== (orgApp.robotCode ?? orgApp.appKey))
      throw newApiError(400, 'invalidParameter.robotCode.notExsit', `robotCode ${code} does not belong to this app`);
    return code;
  };

  const groupOf = (body: Obj) => {
    const cid = body.openConversationId;
    if (typeof cid !== 'string' || cid === '') throw newApiError(400, 'miss.openConversationId', 'openConversationId is empty');
    const chat = state.chatByConversation(cid);
    if (!chat) throw newApiError(400, 'invalid.openConversationId', 'openConversationId is invalid');
    return chat;
  };

  const newKey = () => `${randomBytes(24).toString('base64')}`;

  app.post('/v1.0/robot/oToMessages/batchSend', async (req) => {
    const orgApp = newApiAuth(state, req);
    const body = newApiBody(req);
    const robotCode = robotCodeOf(orgApp, body);
    const userIds = body.userIds;
    if (!Array.isArray(userIds) || userIds.length === 0)
      throw newApiError(400, 'invalidParameter.userIds.empty', 'userIds is empty');
    if (userIds.length > state.org.switches.otoMaxUsers)
      throw newApiError(400, 'invalidParameter.userIds.overMax', `userIds exceeds ${state.org.switches.otoMaxUsers}`);
    const { msgKey, msgParam } = parseMessage(body);
    const now = state.now();
    const send: OtoSend = { processQueryKey: newKey(), app: orgApp.appKey, robotCode, kind: 'oto', entries: new Map(), sentAt: now, recalled: false };
    const invalid: string[] = [];
    for (const id of userIds.map(String)) {
      if (!state.user(id)) {
        invalid.push(id);
        continue;
      }
      const entry = state.newMessage({
        channel: 'robot_oto',
        from: orgApp.name,
        msgtype: msgKey,
        message: { msgKey, msgParam },
        sentAt: now,
        deliveredAt: now,
        readAt: state.readTime(`${send.processQueryKey}|${id}`, now),
        processQueryKey: send.processQueryKey,
      });
      send.entries.set(id, entry);
      state.deliver(state.inboxUsers, id, entry);
    }
    state.otoSends.set(send.processQueryKey, send);
    return { processQueryKey: send.processQueryKey, invalidStaffIdList: invalid, flowControlledStaffIdList: [] };
  });

  app.get('/v1.0/robot/oToMessages/readStatus', async (req) => {
    const orgApp = newApiAuth(state, req);
    const q = query(req);
    robotCodeOf(orgApp, q);
    const send = findSend(state, orgApp, q.processQueryKey, 'oto');
    const now = state.now();
    return {
      sendStatus: send.recalled ? 'RECALLED' : 'SUCCESS',
      messageReadInfoList: [...send.entries].map(([userId, entry]) => {
        const read = isRead(entry, now);
        return {
          name: state.user(userId)?.name ?? userId,
          userId,
          readStatus: read ? 'READ' : 'UNREAD',
          ...(read ? { readTimestamp: entry.readAt } : {}),
        };
      }),
    };
  });

  app.post('/v1.0/robot/otoMessages/batchRecall', async (req) => {
    const orgApp = newApiAuth(state, req);
    const body = newApiBody(req);
    robotCodeOf(orgApp, body);
    return recall(state, orgApp, body, 'oto');
  });

  app.post('/v1.0/robot/groupMessages/send', async (req) => {
    const orgApp = newApiAuth(state, req);
    const body = newApiBody(req);
    const robotCode = robotCodeOf(orgApp, body);
    const chat = groupOf(body);
    const { msgKey, msgParam } = parseMessage(body);
    const now = state.now();
    const send: OtoSend = {
      processQueryKey: newKey(),
      app: orgApp.appKey,
      robotCode,
      kind: 'group',
      openConversationId: chat.openConversationId,
      entries: new Map(),
      sentAt: now,
      recalled: false,
    };
    const entry = state.newMessage({
      channel: 'app_group',
      from: orgApp.name,
      msgtype: msgKey,
      message: { msgKey, msgParam },
      sentAt: now,
      deliveredAt: now,
      processQueryKey: send.processQueryKey,
    });
    send.entries.set(chat.chatid, entry);
    state.otoSends.set(send.processQueryKey, send);
    state.deliver(state.inboxChats, chat.chatid, entry);
    return { processQueryKey: send.processQueryKey };
  });

  app.post('/v1.0/robot/groupMessages/query', async (req) => {
    const orgApp = newApiAuth(state, req);
    const body = newApiBody(req);
    const key = typeof body.processQueryKey === 'string' ? body.processQueryKey : undefined;
    const send = findSend(state, orgApp, key, 'group');
    const maxResults = body.maxResults === undefined ? 200 : Number(body.maxResults);
    if (!Number.isInteger(maxResults) || maxResults < 1 || maxResults > 200)
      throw newApiError(400, 'invalidParameter.pageSize.invalid', 'maxResults must be 1–200');
    const offset = body.nextToken === undefined || body.nextToken === '' ? 0 : Number(body.nextToken);
    if (!Number.isInteger(offset) || offset < 0) throw newApiError(400, 'invalidParameter.cursor.invalid', 'nextToken is invalid');
    const chat = state.chatByConversation(send.openConversationId ?? '');
    const now = state.now();
    const readers = (chat?.members ?? []).filter((m) => {
      const at = state.readTime(`${send.processQueryKey}|${m}`, send.sentAt);
      return !send.recalled && at !== null && at <= now;
    });
    const page = readers.slice(offset, offset + maxResults);
    const hasMore = offset + maxResults < readers.length;
    return {
      sendStatus: send.recalled ? 'RECALLED' : 'SUCCESS',
      readUserIds: page,
      hasMore,
      ...(hasMore ? { nextToken: String(offset + maxResults) } : {}),
    };
  });

  app.post('/v1.0/robot/groupMessages/recall', async (req) => {
    const orgApp = newApiAuth(state, req);
    const body = newApiBody(req);
    robotCodeOf(orgApp, body);
    groupOf(body);
    return recall(state, orgApp, body, 'group');
  });
}

function isRead(entry: InboxMessage, now: number): boolean {
  return !entry.recalled && entry.readAt !== null && entry.readAt <= now;
}

function findSend(state: EmulatorState, orgApp: OrgApp, key: string | undefined, kind: OtoSend['kind']): OtoSend {
  if (!key) throw newApiError(400, 'invalidParameter.processQueryKey.missing', 'processQueryKey is empty');
  const send = state.otoSends.get(key);
  if (!send || send.app !== orgApp.appKey || send.kind !== kind || state.now() - send.sentAt > DAY_MS)
    throw newApiError(400, 'invalid.processQueryKey', 'processQueryKey is invalid');
  return send;
}

function recall(state: EmulatorState, orgApp: OrgApp, body: Obj, kind: OtoSend['kind']) {
  const keys = body.processQueryKeys;
  if (!Array.isArray(keys) || keys.length === 0)
    throw newApiError(400, 'invalidParameter.processQueryKey.missing', 'processQueryKeys is empty');
  if (keys.length > KEYS_PER_CALL)
    throw newApiError(400, 'invalidParameter.processQueryKeys.overMax', `processQueryKeys exceeds ${KEYS_PER_CALL}`);
  const successResult: string[] = [];
  const failedResult: Record<string, string> = {};
  for (const key of keys.map(String)) {
    const send = state.otoSends.get(key);
    if (!send || send.app !== orgApp.appKey || send.kind !== kind || state.now() - send.sentAt > DAY_MS) {
      failedResult[key] = 'invalid.processQueryKey';
      continue;
    }
    send.recalled = true;
    for (const entry of send.entries.values()) entry.recalled = true;
    successResult.push(key);
  }
  state.version++;
  return { successResult, failedResult };
}

function parseMessage(body: Obj): { msgKey: string; msgParam: Obj } {
  const msgKey = needString(body, 'msgKey', 'invalidParameter.msgKey.empty');
  const fields = MSG_KEYS[msgKey];
  if (!fields) throw newApiError(400, 'invalidParameter.msgKey.invalid', `msgKey ${msgKey} is not supported`);
  const raw = body.msgParam;
  if (typeof raw !== 'string') throw newApiError(400, 'invalidParameter.msgParam.invalid', 'msgParam must be a JSON string');
  if (Buffer.byteLength(raw) > MSG_PARAM_MAX_BYTES)
    throw newApiError(400, 'invalidParameter.msgParam.tooLong', `msgParam exceeds ${MSG_PARAM_MAX_BYTES} bytes`);
  let msgParam: unknown;
  try {
    msgParam = JSON.parse(raw);
  } catch {
    throw newApiError(400, 'invalidParameter.msgParam.invalid', 'msgParam is not valid JSON');
  }
  if (typeof msgParam !== 'object' || msgParam === null || Array.isArray(msgParam))
    throw newApiError(400, 'invalidParameter.msgParam.invalid', 'msgParam must be a JSON object');
  for (const field of fields) {
    const v = (msgParam as Obj)[field];
    if (v === undefined || v === null || v === '') throw newApiError(400, missCode(msgKey, field), `msgParam.${field} is missing`);
  }
  return { msgKey, msgParam: msgParam as Obj };
}
