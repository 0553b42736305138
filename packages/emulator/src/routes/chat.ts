import { randomBytes } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { INVALID_JSON, type Obj, oapiAuth, query } from '../http.js';
import { validateWorkMessage } from '../messages/work-message.js';
import { oapiError, ok } from '../oapi.js';
import type { EmulatorState } from '../state.js';

/** Legacy enterprise group chats (§7.1): chat/create, chat/get, chat/send with §4 message bodies. */
export function registerChat(app: FastifyInstance, state: EmulatorState): void {
  const jsonBody = (body: unknown): Obj => {
    if (body === INVALID_JSON || typeof body !== 'object' || body === null || Array.isArray(body)) throw oapiError(43009);
    return body as Obj;
  };

  app.post('/chat/send', async (req) => {
    const orgApp = oapiAuth(state, req, { top: false });
    if (!String(req.headers['content-type'] ?? '').includes('application/json')) throw oapiError(43009);
    const body = jsonBody(req.body);
    const chatid = body.chatid;
    if (typeof chatid !== 'string' || chatid === '') throw oapiError(49000);
    const chat = state.chat(chatid);
    if (!chat) throw oapiError(34001);
    // 007gzs posts the flat form {chatid, msgtype, text}; the documented form nests it under msg.
    const msg = body.msg ?? (typeof body.msgtype === 'string' ? { msgtype: body.msgtype, [body.msgtype]: body[body.msgtype] } : undefined);
    if (msg === undefined) throw oapiError(40035, 'msg 缺失');
    const { msgtype } = validateWorkMessage(msg, state.media);
    if (state.org.switches.strictMsgBytes && Buffer.byteLength(JSON.stringify(msg)) > 2048)
      throw oapiError(34016, 'msg 超过2048字节');
    const now = state.now();
    const messageId = `msg${randomBytes(12).toString('base64url')}`;
    state.deliver(
      state.inboxChats,
      chat.chatid,
      state.newMessage({
        channel: 'chat',
        from: orgApp.name,
        msgtype,
        message: msg as Obj,
        sentAt: now,
        deliveredAt: now,
        messageId,
      }),
    );
    return ok({ messageId });
  });

  app.post('/chat/create', async (req) => {
    oapiAuth(state, req, { top: false });
    const body = jsonBody(req.body);
    const name = typeof body.name === 'string' ? body.name : '';
    if (name === '') throw oapiError(40035, '群名称不能为空');
    if ([...name].length > 20) throw oapiError(400002, 'name 最多20个字符');
    const owner = body.owner;
    if (typeof owner !== 'string' || owner === '') throw oapiError(49013);
    const members = body.useridlist;
    if (!Array.isArray(members) || members.length === 0) throw oapiError(49010);
    if (members.length > 40) throw oapiError(49011);
    const unknown = members.filter((m) => typeof m !== 'string' || !state.user(m));
    if (unknown.length > 0) throw oapiError(40031, unknown.join(','));
    if (!members.includes(owner)) throw oapiError(40031, 'owner 不在 useridlist 中');
    const chat = {
      chatid: `chat${randomBytes(16).toString('hex')}`,
      openConversationId: `cid${randomBytes(16).toString('base64')}`,
      name,
      owner,
      members: members as string[],
    };
    state.org.chats.push(chat);
    return ok({ chatid: chat.chatid, openConversationId: chat.openConversationId, conversationTag: 2 });
  });

  app.get('/chat/get', async (req) => {
    oapiAuth(state, req, { top: false });
    const chatid = query(req).chatid;
    if (!chatid) throw oapiError(49000);
    const chat = state.chat(chatid);
    if (!chat) throw oapiError(40016);
    return ok({
      chat_info: {
        chatid: chat.chatid,
        name: chat.name,
        owner: chat.owner,
        useridlist: chat.members,
        conversationTag: 2,
        chatBannedType: 0,
        searchable: 0,
        validationType: 0,
        mentionAllAuthority: 0,
        managementType: 0,
        showHistoryType: 0,
        icon: '',
        status: 1,
      },
    });
  });
}
