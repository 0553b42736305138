import { createHash, randomBytes } from 'node:crypto';
import { Clock } from './clock.js';
import type { Org, OrgApp, OrgChat, OrgRobot, OrgUser } from './org.js';
import { DayCounter, SlidingWindow } from './windows.js';

export type Channel = 'work_notice' | 'robot' | 'chat' | 'robot_oto' | 'app_group';

/** One message as a person or a group sees it. */
export interface InboxMessage {
  id: string;
  channel: Channel;
  /** The app or robot that sent it. */
  from: string;
  msgtype: string;
  message: Record<string, unknown>;
  sentAt: number;
  /** When it shows up in the recipient's client; work notifications arrive asynchronously. */
  deliveredAt: number;
  /** When the recipient opens it; null = never. */
  readAt: number | null;
  recalled: boolean;
  taskId?: number;
  processQueryKey?: string;
  messageId?: string;
  /** Robot messages: who was @-mentioned and actually notified, and who was listed but not notified. */
  mentions?: { notified: string[]; notNotified: string[]; all: boolean };
}

export interface WorkTask {
  taskId: number;
  app: string;
  createdAt: number;
  doneAt: number;
  msg: Record<string, unknown>;
  delivered: Map<string, InboxMessage>;
  invalidUsers: string[];
  invalidDepts: number[];
  forbidden: { userid: string; code: string; count: number }[];
  failed: string[];
  recipientCount: number;
  recalled: boolean;
}

export interface OtoSend {
  processQueryKey: string;
  app: string;
  robotCode: string;
  kind: 'oto' | 'group';
  openConversationId?: string;
  entries: Map<string, InboxMessage>;
  sentAt: number;
  recalled: boolean;
}

export interface CallRecord {
  time: number;
  /** When the request arrived, in ms since the epoch with sub-millisecond precision (for latency benchmarks). */
  receivedAt?: number;
  method: string;
  path: string;
  app?: string;
  robot?: string;
  status: number;
  errcode?: number | string;
}

/**
 * dropAfter: DingTalk processes the call, then the connection drops before the answer (a lost answer). errcode: the
 * call is refused with this DingTalk code and message (HTTP 200), as DingTalk refuses what it does not take.
 */
export type FaultKind = 'latency' | 'busy' | 'http5xx' | 'drop' | 'dropAfter' | 'revokeToken' | 'errcode';

export interface Fault {
  id: number;
  path: string;
  kind: FaultKind;
  /** How many more requests it hits; undefined = every matching request (use with rate). */
  remaining?: number;
  rate?: number;
  latencyMs?: number;
  status?: number;
  errcode?: number;
  errmsg?: string;
}

interface TokenRecord {
  token: string;
  app: string;
  expiresAt: number;
  revoked: boolean;
}

export interface MediaRecord {
  mediaId: string;
  type: string;
  filename: string;
  size: number;
  createdAt: number;
  /** What was uploaded, for a test to compare with what it sent (GET /_emulator/api/media/:id). */
  bytes: Buffer;
}

const TOKEN_LIFETIME_MS = 7_200_000;
const CALL_LOG_MAX = 20_000;

export type TokenCheck = { app: OrgApp } | { error: 'missing' | 'invalid' | 'expired' };

/** Everything the emulator remembers; reset() returns it to the org file's state. */
export class EmulatorState {
  readonly clock: Clock;
  org: Org;
  private readonly initialOrg: Org;

  private tokens = new Map<string, TokenRecord>();
  private currentToken = new Map<string, string>();
  tasks = new Map<number, WorkTask>();
  nextTaskId = 256_271_667_526;
  inboxUsers = new Map<string, InboxMessage[]>();
  inboxRobots = new Map<string, InboxMessage[]>();
  inboxChats = new Map<string, InboxMessage[]>();
  robotMsgUuids = new Map<string, number>();
  robotBlockedUntil = new Map<string, number>();
  robotWindow = new SlidingWindow(60_000);
  qpsWindow = new SlidingWindow(1_000);
  recipientsWindow = new SlidingWindow(60_000);
  userDaily: DayCounter;
  toAllDaily: DayCounter;
  /** (app, user, hash of msg) → time it was last delivered, for the once-a-day identical-content filter. */
  contentSeen = new Map<string, number>();
  monthlyCalls = new Map<string, number>();
  otoSends = new Map<string, OtoSend>();
  media = new Map<string, MediaRecord>();
  calls: CallRecord[] = [];
  faults: Fault[] = [];
  private nextFaultId = 1;
  private nextMessageSeq = 1;
  /** Bumped on every inbox change, so the inbox page can poll cheaply. */
  version = 0;

  constructor(org: Org) {
    this.initialOrg = structuredClone(org);
    this.org = structuredClone(org);
    this.clock = new Clock(org.clockOffsetMs);
    this.userDaily = new DayCounter(() => this.org.switches.rollingDay);
    this.toAllDaily = new DayCounter(() => this.org.switches.rollingDay);
  }

  now(): number {
    return this.clock.now();
  }

  reset(): void {
    this.org = structuredClone(this.initialOrg);
    this.clock.reset();
    this.tokens.clear();
    this.currentToken.clear();
    this.tasks.clear();
    this.inboxUsers.clear();
    this.inboxRobots.clear();
    this.inboxChats.clear();
    this.robotMsgUuids.clear();
    this.robotBlockedUntil.clear();
    this.robotWindow.clear();
    this.qpsWindow.clear();
    this.recipientsWindow.clear();
    this.userDaily.clear();
    this.toAllDaily.clear();
    this.contentSeen.clear();
    this.monthlyCalls.clear();
    this.otoSends.clear();
    this.media.clear();
    this.calls = [];
    this.faults = [];
    this.version++;
  }

  // ── tokens ──────────────────────────────────────────────────────────────

  /** Same token while it is valid, with its life extended; a new one after expiry or revocation. */
  issueToken(app: OrgApp): { token: string; expiresIn: number } {
    const now = this.now();
    const current = this.currentToken.get(app.appKey);
    const record = current ? this.tokens.get(current) : undefined;
    if (record && !record.revoked && record.expiresAt > now) {
      record.expiresAt = now + TOKEN_LIFETIME_MS;
      return { token: record.token, expiresIn: TOKEN_LIFETIME_MS / 1000 };
    }
    const token = randomBytes(16).toString('hex');
    this.tokens.set(token, { token, app: app.appKey, expiresAt: now + TOKEN_LIFETIME_MS, revoked: false });
    this.currentToken.set(app.appKey, token);
    return { token, expiresIn: TOKEN_LIFETIME_MS / 1000 };
  }

  checkToken(token: string | undefined): TokenCheck {
    if (!token) return { error: 'missing' };
    const record = this.tokens.get(token);
    if (!record || record.revoked) return { error: 'invalid' };
    if (record.expiresAt <= this.now()) return { error: 'expired' };
    const app = this.org.apps.find((a) => a.appKey === record.app);
    if (!app) return { error: 'invalid' };
    return { app };
  }

  /** Revokes the current token of one app (by token) or of every app. */
  revokeTokens(token?: string): void {
    for (const record of this.tokens.values()) {
      if (!token || record.token === token) record.revoked = true;
    }
  }

  appByKey(appKey: string): OrgApp | undefined {
    return this.org.apps.find((a) => a.appKey === appKey);
  }

  // ── directory ───────────────────────────────────────────────────────────

  user(userid: string): OrgUser | undefined {
    return this.org.users.find((u) => u.userid === userid && u.active);
  }

  userByMobile(mobile: string): OrgUser | undefined {
    const bare = mobile.replace(/^\+?86-?/, '');
    return this.org.users.find((u) => u.active && u.mobile === bare);
  }

  department(id: number) {
    return this.org.departments.find((d) => d.id === id);
  }

  subDepartments(id: number) {
    return this.org.departments.filter((d) => d.parentId === id || (d.id !== 1 && d.parentId === undefined && id === 1));
  }

  /** Every department below id, including id itself. */
  departmentTree(id: number): number[] {
    const out = [id];
    for (let i = 0; i < out.length; i++) {
      for (const child of this.subDepartments(out[i]!)) if (!out.includes(child.id)) out.push(child.id);
    }
    return out;
  }

  /** Active users listed directly in department id (not its sub-departments), in org-file order. */
  directMembers(id: number): OrgUser[] {
    return this.org.users.filter((u) => u.active && u.deptIds.includes(id));
  }

  /** Everyone listed in the departments ids, active or not, in org-file order. */
  peopleInDepartments(ids: number[]): OrgUser[] {
    const set = new Set(ids);
    return this.org.users.filter((u) => u.deptIds.some((d) => set.has(d)));
  }

  usersInDepartments(ids: number[]): string[] {
    const set = new Set(ids);
    return this.org.users.filter((u) => u.active && u.deptIds.some((d) => set.has(d))).map((u) => u.userid);
  }

  robotByToken(token: string): OrgRobot | undefined {
    return this.org.robots.find((r) => r.accessToken === token);
  }

  chat(chatid: string): OrgChat | undefined {
    return this.org.chats.find((c) => c.chatid === chatid);
  }

  chatByConversation(openConversationId: string): OrgChat | undefined {
    return this.org.chats.find((c) => c.openConversationId === openConversationId);
  }

  // ── inboxes ─────────────────────────────────────────────────────────────

  newMessage(fields: Omit<InboxMessage, 'id' | 'recalled' | 'readAt'> & { readAt?: number | null }): InboxMessage {
    return { id: `m${this.nextMessageSeq++}`, recalled: false, readAt: null, ...fields };
  }

  deliver(box: Map<string, InboxMessage[]>, key: string, message: InboxMessage): void {
    let list = box.get(key);
    if (!list) {
      list = [];
      box.set(key, list);
    }
    list.push(message);
    this.version++;
  }

  /**
   * When a recipient reads a message: a stable share (readPercent) of recipients read readAfterMs after delivery;
   * the rest never do, so both read and unread show up in results.
   */
  readTime(key: string, deliveredAt: number): number | null {
    const digest = createHash('sha1').update(key).digest();
    const bucket = digest.readUInt16BE(0) % 100;
    return bucket < this.org.switches.readPercent ? deliveredAt + this.org.switches.readAfterMs : null;
  }

  // ── inspector ───────────────────────────────────────────────────────────

  logCall(record: CallRecord): void {
    this.calls.push(record);
    if (this.calls.length > CALL_LOG_MAX) this.calls.splice(0, this.calls.length - CALL_LOG_MAX);
  }

  addFault(fault: Omit<Fault, 'id'>): Fault {
    const f = { ...fault, id: this.nextFaultId++ };
    this.faults.push(f);
    return f;
  }

  /** The fault that hits this request, if any; consumes one of its count. */
  takeFault(path: string): Fault | undefined {
    for (const f of this.faults) {
      if (f.path !== '*' && f.path !== path) continue;
      if (f.remaining !== undefined && f.remaining <= 0) continue;
      if (f.rate !== undefined && Math.random() >= f.rate) continue;
      if (f.remaining !== undefined) f.remaining--;
      return f;
    }
    return undefined;
  }
}
