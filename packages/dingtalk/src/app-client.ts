
import { readFile } from 'node:fs/promises';
import { basename } from 'node:path';
import type { Readable } from 'node:stream';
import { FormData } from 'undici';
import { type DirectoryCache, MemoryDirectoryCache } from './directory-cache.js';
import { DingTalkError, DingTalkValidationError } from './errors.js';
import { type CallInfo, Transport } from './http.js';
import { LIMITS } from './messages/limits.js';
import { extensionOf, type MediaKind, mediaRuleProblem } from './messages/media-rules.js';
import { toAppRobotMessage, toWorkMsg, type WorkMsg } from './messages/render.js';
import type { Message } from './messages/schemas.js';
import { readNewApi, readOapi } from './oapi-call.js';
import { DEFAULT_RETRY, type RetryPolicy, withRetry } from './retry.js';
import { TokenManager, type TokenStore } from './token.js';

export const DINGTALK_OAPI = 'https://oapi.dingtalk.com';
export const DINGTALK_API = 'https://api.dingtalk.com';

export interface AppCredentials {
  appKey: string;
  appSecret: string;
  /** Needed for work notifications. */
  agentId?: number;
  /** Needed for app-robot messages; for internal apps usually the AppKey. */
  robotCode?: string;
}

export interface ClientOptions {
  oapiBaseUrl?: string;
  apiBaseUrl?: string;
  tokenStore?: TokenStore;
  directoryCache?: DirectoryCache;
  /** Fetch tokens from the new API (default) or the legacy /gettoken; both give a token good for both families. */
  tokenEndpoint?: 'oauth2' | 'gettoken';
  refreshAheadMs?: number;
  timeoutMs?: number;
  retry?: Partial<RetryPolicy>;
  /** Share one connection pool between clients. */
  transport?: Transport;
  onCall?: (info: CallInfo) => void;
  /**
   * Awaited before every request to DingTalk (token fetches included), with the API path: where a caller paces its
   * calls inside DingTalk's quotas (20 calls a second per app and API).
   */
  beforeCall?: (api: string) => Promise<void>;
}

export interface WorkNoticeTarget {
  userIds?: string[];
  deptIds?: number[];
  toAllUsers?: boolean;
}

export interface SendResult {
  invalidUserIds: string[];
  forbiddenUserIds: string[];
  failedUserIds: string[];
  readUserIds: string[];
  unreadUserIds: string[];
  invalidDeptIds: number[];
  /** Why each forbidden user was filtered: 143105 daily cap, 143106 duplicate content, 143103 per-minute … */
  forbidden: { userid: string; code: string; count: number }[];
}

export type MediaType = MediaKind;
/** A member as a department's user listing (/topapi/v2/user/list) gives it. */
export interface DirectoryUser {
  userid: string;
  name: string;
  /** Absent when the person has none, or the app lacks the permission to read mobiles. */
  mobile: string | null;
  deptIds: number[];
}

export interface DepartmentUsersPage {
  users: DirectoryUser[];
  hasMore: boolean;
  /** The cursor of the next page when hasMore. */
  nextCursor: number | null;
}

/** The whole org as walked from the root: each person once (with every department they are in), every department id. */
export interface OrgWalk {
  users: DirectoryUser[];
  departments: number[];
  /** DingTalk calls the walk made (department listings and user pages; a token fetch not counted). */
  calls: number;
}

/** DingTalk's most users per page of /topapi/v2/user/list. */
export const DEPARTMENT_USERS_PAGE_MAX = 100;
export const ROOT_DEPARTMENT = 1;

type Body = Record<string, unknown>;
type AppRobotPayload = Message | { msgKey: string; msgParam: string };

const chunk = <T>(items: T[], size: number): T[][] => {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
};

const isRaw = (m: Message | WorkMsg): m is WorkMsg => 'msgtype' in m;

/**
 * One enterprise internal app: tokens, directory, work notifications, app robots, group chats, media. Every call
 * checks DingTalk's answer, refreshes a rejected token once, and retries what the error table says is transient.
 */
export class DingTalkApp {
  readonly tokens: TokenManager;
  readonly directoryCache: DirectoryCache;
  private readonly transport: Transport;
  private readonly ownsTransport: boolean;
  private readonly oapiBase: string;
  private readonly apiBase: string;
  private readonly retry: RetryPolicy;
  private readonly beforeCall: ((api: string) => Promise<void>) | undefined;

  constructor(
    readonly credentials: AppCredentials,
    opts: ClientOptions = {},
  ) {
    this.beforeCall = opts.beforeCall;
    this.oapiBase = (opts.oapiBaseUrl ?? DINGTALK_OAPI).replace(/\/$/, '');
    this.apiBase = (opts.apiBaseUrl ?? DINGTALK_API).replace(/\/$/, '');
    this.ownsTransport = !opts.transport;
    this.transport = opts.transport ?? new Transport({ ...(opts.timeoutMs ? { timeoutMs: opts.timeoutMs } : {}), ...(opts.onCall ? { onCall: opts.onCall } : {}) });
    this.retry = { ...DEFAULT_RETRY, ...opts.retry };
    this.directoryCache = opts.directoryCache ?? new MemoryDirectoryCache();
    const useLegacy = opts.tokenEndpoint === 'gettoken';
    this.tokens = new TokenManager({
      key: `dingtalk-token:${credentials.appKey}`,
      fetch: () => withRetry(() => (useLegacy ? this.fetchLegacyToken() : this.fetchToken()), this.retry, true),
      ...(opts.tokenStore ? { store: opts.tokenStore } : {}),
      ...(opts.refreshAheadMs !== undefined ? { refreshAheadMs: opts.refreshAheadMs } : {}),
    });
  }

  private async send(api: string, url: string, init: Parameters<Transport['send']>[2]) {
    await this.beforeCall?.(api);
    return this.transport.send(api, url, init);
  }

  // ── tokens ──────────────────────────────────────────────────────────────

  accessToken(): Promise<string> {
    return this.tokens.get();
  }

  private async fetchToken(): Promise<{ token: string; expiresInSec: number }> {
    const res = await this.send('/v1.0/oauth2/accessToken', `${this.apiBase}/v1.0/oauth2/accessToken`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ appKey: this.credentials.appKey, appSecret: this.credentials.appSecret }),
    });
    const body = readNewApi('/v1.0/oauth2/accessToken', res);
    return { token: String(body.accessToken), expiresInSec: Number(body.expireIn ?? 7200) };
  }

  private async fetchLegacyToken(): Promise<{ token: string; expiresInSec: number }> {
    const q = new URLSearchParams({ appkey: this.credentials.appKey, appsecret: this.credentials.appSecret });
    const res = await this.send('/gettoken', `${this.oapiBase}/gettoken?${q}`, { method: 'GET' });
    const body = readOapi('/gettoken', res);
    return { token: String(body.access_token), expiresInSec: Number(body.expires_in ?? 7200) };
  }

  /** Runs a call with the current token; a token DingTalk rejects is dropped, and the call repeated once. */
  private async authed<T>(call: (token: string) => Promise<T>, idempotent: boolean): Promise<T> {
    return withRetry(
      async () => {
        const token = await this.tokens.get();
        try {
          return await call(token);
        } catch (err) {
          if (!(err instanceof DingTalkError) || err.errorClass !== 'refresh_token') throw err;
          await this.tokens.invalidate(token);
          return call(await this.tokens.get());
        }
      },
      this.retry,
      idempotent,
    );
  }

  /** A POST (JSON) or GET to an oapi path with ?access_token=. */
  async oapi(path: string, body?: Body, opts: { method?: 'GET' | 'POST'; query?: Record<string, string>; idempotent?: boolean } = {}): Promise<Body> {
    const method = opts.method ?? 'POST';
    return this.authed(async (token) => {
      const q = new URLSearchParams({ ...opts.query, access_token: token });
      const res = await this.send(path, `${this.oapiBase}${path}?${q}`, {
        method,
        ...(method === 'POST' ? { headers: { 'content-type': 'application/json' }, body: JSON.stringify(body ?? {}) } : {}),
      });
      return readOapi(path, res);
    }, opts.idempotent ?? method === 'GET');
  }

  /** A call to the new API with the x-acs-dingtalk-access-token header. */
  async api(method: 'GET' | 'POST', path: string, body?: Body, opts: { query?: Record<string, string>; idempotent?: boolean } = {}): Promise<Body> {
    return this.authed(async (token) => {
      const q = opts.query ? `?${new URLSearchParams(opts.query)}` : '';
      const res = await this.send(path, `${this.apiBase}${path}${q}`, {
        method,
        headers: { 'x-acs-dingtalk-access-token': token, ...(body ? { 'content-type': 'application/json' } : {}) },
        ...(body ? { body: JSON.stringify(body) } : {}),
      });
      return readNewApi(path, res);
    }, opts.idempotent ?? method === 'GET');
  }

  // ── directory ───────────────────────────────────────────────────────────

  /** mobile → userid, cached (misses too); null when no active user has that mobile. */
  async getUserIdByMobile(mobile: string, opts: { legacy?: boolean } = {}): Promise<string | null> {
    const cached = await this.directoryCache.get(mobile);
    if (cached !== undefined) return cached;
    let userid: string | null;
    try {
      if (opts.legacy) {
        const body = await this.oapi('/user/get_by_mobile', undefined, { method: 'GET', query: { mobile } });
        userid = String(body.userid);
      } else {
        const body = await this.oapi('/topapi/v2/user/getbymobile', { mobile }, { idempotent: true });
        userid = String((body.result as Body).userid);
      }
    } catch (err) {
      if (!(err instanceof DingTalkError) || (err.code !== 60121 && err.code !== 40104)) throw err;
      userid = null;
    }
    await this.directoryCache.set(mobile, userid);
    return userid;
  }

  async getUser(userid: string): Promise<Body> {
    return (await this.oapi('/topapi/v2/user/get', { userid }, { idempotent: true })).result as Body;
  }

  async listSubDepartments(deptId = 1): Promise<{ deptId: number; name: string; parentId: number }[]> {
    const body = await this.oapi('/topapi/v2/department/listsub', { dept_id: deptId }, { idempotent: true });
    return (body.result as Body[]).map((d) => ({ deptId: Number(d.dept_id), name: String(d.name), parentId: Number(d.parent_id) }));
  }

  async listDepartmentUserIds(deptId: number): Promise<string[]> {
    const body = await this.oapi('/topapi/user/listid', { dept_id: deptId }, { idempotent: true });
    return ((body.result as Body).userid_list as string[]) ?? [];
  }

  async listSubDepartmentIds(deptId: number): Promise<number[]> {
    const body = await this.oapi('/topapi/v2/department/listsubid', { dept_id: deptId }, { idempotent: true });
    return (((body.result as Body).dept_id_list as unknown[]) ?? []).map(Number);
  }

  /** One page of a department's direct members (not its sub-departments'), with their details; size 1–100. */
  async listDepartmentUsers(deptId: number, cursor = 0, size = DEPARTMENT_USERS_PAGE_MAX): Promise<DepartmentUsersPage> {
    if (!Number.isInteger(size) || size < 1 || size > DEPARTMENT_USERS_PAGE_MAX)
      throw new DingTalkValidationError('size', `must be an integer from 1 to ${DEPARTMENT_USERS_PAGE_MAX}`);
    const body = await this.oapi('/topapi/v2/user/list', { dept_id: deptId, cursor, size }, { idempotent: true });
    const result = (body.result ?? {}) as Body;
    const list = (result.list as Body[] | undefined) ?? [];
    const hasMore = result.has_more === true;
    return {
      users: list.map((u) => ({
        userid: String(u.userid),
        name: String(u.name ?? ''),
        mobile: typeof u.mobile === 'string' && u.mobile !== '' ? u.mobile : null,
        deptIds: Array.isArray(u.dept_id_list) ? u.dept_id_list.map(Number) : [deptId],
      })),
      hasMore,
      nextCursor: hasMore && result.next_cursor !== undefined ? Number(result.next_cursor) : null,
    };
  }

  /**
   * The whole org: departments breadth-first from the root (listsubid, one level a call), and every page of each
   * one's direct members. DingTalk has no "all users" call; this is the fewest calls that see everyone (one listing
   * per department plus one call per 100 members). A person in several departments is listed once.
   */
  async walkOrg(): Promise<OrgWalk> {
    const users = new Map<string, DirectoryUser>();
    const departments: number[] = [ROOT_DEPARTMENT];
    const seen = new Set(departments);
    let calls = 0;
    for (let i = 0; i < departments.length; i++) {
      const dept = departments[i]!;
      calls++;
      for (const child of await this.listSubDepartmentIds(dept)) {
        if (!seen.has(child)) {
          seen.add(child);
          departments.push(child);
        }
      }
      let cursor: number | null = 0;
      while (cursor !== null) {
        calls++;
        const page: DepartmentUsersPage = await this.listDepartmentUsers(dept, cursor);
        for (const u of page.users) {
          const known = users.get(u.userid);
          if (known) known.deptIds = [...new Set([...known.deptIds, ...u.deptIds])];
          else users.set(u.userid, { ...u, deptIds: [...u.deptIds] });
        }
        // A page that says "more" without a cursor (or with the same one) would loop forever: stop there.
        cursor = page.hasMore && page.nextCursor !== null && page.nextCursor > cursor ? page.nextCursor : null;
      }
    }
    return { users: [...users.values()], departments, calls };
  }

  // ── work notifications ──────────────────────────────────────────────────

  private agentId(): number {
    if (this.credentials.agentId === undefined) throw new DingTalkValidationError('agentId', 'this app has no agentId; work notifications need one');
    return this.credentials.agentId;
  }

  /**
   * One asyncsend_v2 call (≤100 userids, ≤20 departments). Not retried after an ambiguous failure: the caller checks
   * progress before sending again, since a repeated send would count twice against DingTalk's daily caps.
   */
  async sendWorkNoticeOnce(target: WorkNoticeTarget, message: Message | WorkMsg): Promise<number> {
    const userIds = target.userIds ?? [];
    const deptIds = target.deptIds ?? [];
    if (userIds.length > LIMITS.workNoticeUserIds) throw new DingTalkValidationError('userIds', `at most ${LIMITS.workNoticeUserIds} per call`);
    if (deptIds.length > LIMITS.workNoticeDeptIds) throw new DingTalkValidationError('deptIds', `at most ${LIMITS.workNoticeDeptIds} per call`);
    if (!target.toAllUsers && userIds.length === 0 && deptIds.length === 0)
      throw new DingTalkValidationError('userIds', 'give userIds, deptIds or toAllUsers');
    const msg = isRaw(message) ? message : toWorkMsg(message);
    const body: Body = { agent_id: this.agentId(), msg };
    if (userIds.length) body.userid_list = userIds.join(',');
    if (deptIds.length) body.dept_id_list = deptIds.join(',');
    if (target.toAllUsers) body.to_all_user = true;
    const res = await this.oapi('/topapi/message/corpconversation/asyncsend_v2', body);
    return Number(res.task_id);
  }

  /** Sends to any number of recipients, split into calls of at most 100 userids and 20 departments. */
  async sendWorkNotice(target: WorkNoticeTarget, message: Message | WorkMsg): Promise<{ taskIds: number[] }> {
    const msg = isRaw(message) ? message : toWorkMsg(message);
    if (target.toAllUsers) return { taskIds: [await this.sendWorkNoticeOnce({ toAllUsers: true }, msg)] };
    const userChunks = chunk(target.userIds ?? [], LIMITS.workNoticeUserIds);
    const deptChunks = chunk(target.deptIds ?? [], LIMITS.workNoticeDeptIds);
    const calls = Math.max(userChunks.length, deptChunks.length);
    const taskIds: number[] = [];
    for (let i = 0; i < calls; i++) {
      taskIds.push(await this.sendWorkNoticeOnce({ userIds: userChunks[i] ?? [], deptIds: deptChunks[i] ?? [] }, msg));
    }
    return { taskIds };
  }

  async getSendProgress(taskId: number): Promise<{ percent: number; status: 0 | 1 | 2 }> {
    const body = await this.oapi('/topapi/message/corpconversation/getsendprogress', { agent_id: this.agentId(), task_id: taskId }, { idempotent: true });
    const p = body.progress as Body;
    return { percent: Number(p.progress_in_percent), status: Number(p.status) as 0 | 1 | 2 };
  }

  async getSendResult(taskId: number): Promise<SendResult> {
    const body = await this.oapi('/topapi/message/corpconversation/getsendresult', { agent_id: this.agentId(), task_id: taskId }, { idempotent: true });
    const r = (body.send_result ?? {}) as Body;
    const list = (k: string) => ((r[k] as unknown[]) ?? []).map(String);
    return {
      invalidUserIds: list('invalid_user_id_list'),
      forbiddenUserIds: list('forbidden_user_id_list'),
      failedUserIds: list('failed_user_id_list'),
      readUserIds: list('read_user_id_list'),
      unreadUserIds: list('unread_user_id_list'),
      invalidDeptIds: ((r.invalid_dept_id_list as unknown[]) ?? []).map(Number),
      forbidden: ((r.forbidden_list as Body[]) ?? []).map((f) => ({ userid: String(f.userid), code: String(f.code), count: Number(f.count) })),
    };
  }

  async recallWorkNotice(taskId: number): Promise<void> {
    await this.oapi('/topapi/message/corpconversation/recall', { agent_id: this.agentId(), msg_task_id: taskId }, { idempotent: true });
  }

  async updateStatusBar(taskId: number, statusValue: string, statusBg?: string): Promise<void> {
    await this.oapi(
      '/topapi/message/corpconversation/status_bar/update',
      { agent_id: this.agentId(), task_id: taskId, status_value: statusValue, ...(statusBg ? { status_bg: statusBg } : {}) },
      { idempotent: true },
    );
  }

  // ── legacy group chat ───────────────────────────────────────────────────

  async sendChat(chatid: string, message: Message | WorkMsg): Promise<string> {
    const msg = isRaw(message) ? message : toWorkMsg(message, 'chat');
    return String((await this.oapi('/chat/send', { chatid, msg })).messageId);
  }

  // ── app robot (new API) ─────────────────────────────────────────────────

  private robotCode(): string {
    return this.credentials.robotCode ?? this.credentials.appKey;
  }

  /** One-to-one robot messages, split into calls of at most 20 users. */
  async sendRobotOto(
    userIds: string[],
    message: AppRobotPayload,
  ): Promise<{ processQueryKey: string; userIds: string[]; invalidUserIds: string[]; flowControlledUserIds: string[] }[]> {
    if (userIds.length === 0) throw new DingTalkValidationError('userIds', 'must not be empty');
    const payload = 'msgKey' in message ? message : toAppRobotMessage(message);
    const out = [];
    for (const batch of chunk(userIds, LIMITS.otoUserIds)) {
      const body = await this.api('POST', '/v1.0/robot/oToMessages/batchSend', { robotCode: this.robotCode(), userIds: batch, ...payload });
      out.push({
        processQueryKey: String(body.processQueryKey),
        userIds: batch,
        invalidUserIds: ((body.invalidStaffIdList as string[]) ?? []).map(String),
        flowControlledUserIds: ((body.flowControlledStaffIdList as string[]) ?? []).map(String),
      });
    }
    return out;
  }

  async getOtoReadStatus(processQueryKey: string): Promise<{ sendStatus: string; reads: { userId: string; read: boolean; readAt?: number }[] }> {
    const body = await this.api('GET', '/v1.0/robot/oToMessages/readStatus', undefined, { query: { robotCode: this.robotCode(), processQueryKey } });
    return {
      sendStatus: String(body.sendStatus),
      reads: ((body.messageReadInfoList as Body[]) ?? []).map((r) => ({
        userId: String(r.userId),
        read: r.readStatus === 'READ',
        ...(r.readTimestamp !== undefined ? { readAt: Number(r.readTimestamp) } : {}),
      })),
    };
  }

  async recallOto(processQueryKeys: string[]): Promise<{ recalled: string[]; failed: Record<string, string> }> {
    const recalled: string[] = [];
    const failed: Record<string, string> = {};
    for (const keys of chunk(processQueryKeys, LIMITS.recallKeys)) {
      const body = await this.api('POST', '/v1.0/robot/otoMessages/batchRecall', { robotCode: this.robotCode(), processQueryKeys: keys }, { idempotent: true });
      recalled.push(...((body.successResult as string[]) ?? []));
      Object.assign(failed, body.failedResult ?? {});
    }
    return { recalled, failed };
  }

  async sendRobotGroup(openConversationId: string, message: AppRobotPayload): Promise<string> {
    const payload = 'msgKey' in message ? message : toAppRobotMessage(message);
    const body = await this.api('POST', '/v1.0/robot/groupMessages/send', { robotCode: this.robotCode(), openConversationId, ...payload });
    return String(body.processQueryKey);
  }

  async queryGroupMessage(
    processQueryKey: string,
    opts: { openConversationId?: string; maxResults?: number; nextToken?: string } = {},
  ): Promise<{ sendStatus: string; readUserIds: string[]; nextToken?: string; hasMore: boolean }> {
    const body = await this.api(
      'POST',
      '/v1.0/robot/groupMessages/query',
      { processQueryKey, robotCode: this.robotCode(), ...opts },
      { idempotent: true },
    );
    return {
      sendStatus: String(body.sendStatus),
      readUserIds: ((body.readUserIds as string[]) ?? []).map(String),
      hasMore: body.hasMore === true,
      ...(typeof body.nextToken === 'string' ? { nextToken: body.nextToken } : {}),
    };
  }

  async recallGroup(openConversationId: string, processQueryKeys: string[]): Promise<{ recalled: string[]; failed: Record<string, string> }> {
    const recalled: string[] = [];
    const failed: Record<string, string> = {};
    for (const keys of chunk(processQueryKeys, LIMITS.recallKeys)) {
      const body = await this.api('POST', '/v1.0/robot/groupMessages/recall', { robotCode: this.robotCode(), openConversationId, processQueryKeys: keys }, { idempotent: true });
      recalled.push(...((body.successResult as string[]) ?? []));
      Object.assign(failed, body.failedResult ?? {});
    }
    return { recalled, failed };
  }

  // ── media ───────────────────────────────────────────────────────────────

  /** Uploads a file (a Buffer, a stream, or a path on disk) and answers the media id messages can reference. */
  async uploadMedia(type: MediaType, source: Buffer | Readable | string, filename?: string): Promise<{ mediaId: string; type: string; createdAt: number }> {
    const name = filename ?? (typeof source === 'string' ? basename(source) : undefined);
    if (!name) throw new DingTalkValidationError('filename', 'give a filename with an extension for a Buffer or stream');
    const data = typeof source === 'string' ? await readFile(source) : Buffer.isBuffer(source) ? source : await streamToBuffer(source);
    // What DingTalk would refuse (40005 format, 40006 size, 44001 empty) is refused before a call is spent on it.
    const problem = mediaRuleProblem(type, extensionOf(name), data.length);
    if (problem) throw new DingTalkValidationError('media', problem);
    const body = await this.authed(async (token) => {
      const form = new FormData();
      form.set('type', type);
      form.set('media', new Blob([new Uint8Array(data)]), name);
      const q = new URLSearchParams({ access_token: token, type });
      return readOapi('/media/upload', await this.send('/media/upload', `${this.oapiBase}/media/upload?${q}`, { method: 'POST', body: form }));
    }, true);
    return { mediaId: String(body.media_id), type: String(body.type), createdAt: Number(body.created_at) };
  }

  async close(): Promise<void> {
    if (this.ownsTransport) await this.transport.close();
  }
}

async function streamToBuffer(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of stream) chunks.push(Buffer.isBuffer(c) ? c : Buffer.from(c));
  return Buffer.concat(chunks);
}


