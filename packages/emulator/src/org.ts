import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';

/** The org file: who exists in the emulated DingTalk, and the §0.4 choices (switches). */
const appSchema = z.object({
  name: z.string().min(1),
  appKey: z.string().min(1),
  appSecret: z.string().min(1),
  agentId: z.number().int().positive(),
  robotCode: z.string().min(1).optional(),
  /** Addresses or IPv4 CIDR ranges the app's calls may come from; empty = any. Others answer 60020. */
  ipWhitelist: z.array(z.string().min(1)).default([]),
  /** The permission groups the app holds; absent = all. An endpoint of a missing group answers 88 / sub_code 60011. */
  scopes: z.array(z.enum(['contacts', 'workNotice', 'robot'])).optional(),
});

const departmentSchema = z.object({
  id: z.number().int().positive(),
  name: z.string().min(1),
  parentId: z.number().int().positive().optional(),
});

const userSchema = z.object({
  userid: z.string().min(1),
  name: z.string().min(1),
  mobile: z.string().min(1).optional(),
  deptIds: z.array(z.number().int().positive()).default([1]),
  title: z.string().optional(),
  email: z.string().optional(),
  active: z.boolean().default(true),
  /** Work notifications to this user end in `failed_user_id_list` (to exercise resends). */
  deliveryFails: z.boolean().default(false),
});

const robotSchema = z.object({
  name: z.string().min(1),
  accessToken: z.string().min(1),
  secret: z.string().min(1).optional(),
  keywords: z.array(z.string().min(1)).max(10).default([]),
  ipWhitelist: z.array(z.string().min(1)).default([]),
});

const chatSchema = z.object({
  chatid: z.string().min(1),
  openConversationId: z.string().min(1),
  name: z.string().min(1),
  owner: z.string().min(1),
  members: z.array(z.string().min(1)).default([]),
});

export const switchesSchema = z.object({
  /** 130101 (observed) or 410100 (current doc). */
  robotRateLimitCode: z.union([z.literal(130101), z.literal(410100)]).default(130101),
  /** Messages a custom robot may send in a sliding minute; 0 turns the limit off (benchmarks). */
  robotPerMinute: z.number().int().min(0).default(20),
  robotBlockSeconds: z.number().int().min(0).default(600),
  workNoticeMaxUsers: z.number().int().positive().default(100),
  workNoticeMaxDepts: z.number().int().positive().default(20),
  /** The 2048-byte whole-`msg` cap of D0769; off by default (§0.4). */
  strictMsgBytes: z.boolean().default(false),
  /** A rolling 24 h window instead of the calendar day in UTC+8. */
  rollingDay: z.boolean().default(false),
  dailyUserCap: z.number().int().positive().default(500),
  recipientsPerMinute: z.number().int().positive().default(5000),
  toAllPerDay: z.number().int().positive().default(3),
  /** Calls per second per app per API; 0 turns the limit off. */
  appQps: z.number().int().min(0).default(20),
  /** Monthly non-exempt calls per app (90020); null = off. */
  monthlyQuota: z.number().int().positive().nullable().default(null),
  otoMaxUsers: z.number().int().positive().default(20),
  /** How long an asynchronous work-notification task takes to finish (progress 0 → 2). */
  deliveryMs: z.number().int().min(0).default(300),
  /** After delivery, a reader opens the message this much later. */
  readAfterMs: z.number().int().min(0).default(60_000),
  /** Share of recipients (0–100, chosen by a stable hash) who ever read a message, so read and unread both occur. */
  readPercent: z.number().int().min(0).max(100).default(70),
});

export const orgSchema = z.object({
  corpId: z.string().default('dingemulatorcorp'),
  apps: z.array(appSchema).default([]),
  departments: z.array(departmentSchema).default([{ id: 1, name: 'Root' }]),
  users: z.array(userSchema).default([]),
  robots: z.array(robotSchema).default([]),
  chats: z.array(chatSchema).default([]),
  switches: switchesSchema.default(switchesSchema.parse({})),
  /** The emulator's clock (and its HTTP Date header) runs this far from real time: a server with a wrong clock. */
  clockOffsetMs: z.number().int().default(0),
});

export type Org = z.infer<typeof orgSchema>;
export type OrgInput = z.input<typeof orgSchema>;
export type OrgApp = Org['apps'][number];
export type OrgUser = Org['users'][number];
export type OrgRobot = Org['robots'][number];
export type OrgChat = Org['chats'][number];
export type Scope = NonNullable<OrgApp['scopes']>[number];
export type Switches = Org['switches'];

export class OrgError extends Error {}

function formatPath(path: readonly PropertyKey[]): string {
  return path.reduce<string>((acc, part) => {
    if (typeof part === 'number') return `${acc}[${part}]`;
    return acc ? `${acc}.${String(part)}` : String(part);
  }, '');
}

/** Validates an org, including the references between its parts; the error names the key. */
export function parseOrg(input: unknown): Org {
  const result = orgSchema.safeParse(input);
  if (!result.success) {
    const issue = result.error.issues[0]!;
    throw new OrgError(`org: ${formatPath(issue.path) || '(root)'}: ${issue.message}`);
  }
  const org = result.data;
  const deptIds = new Set(org.departments.map((d) => d.id));
  if (!deptIds.has(1)) org.departments.unshift({ id: 1, name: 'Root' });
  deptIds.add(1);
  const unique = <T>(items: T[], key: (t: T) => string, label: string) => {
    const seen = new Set<string>();
    items.forEach((item, i) => {
      const k = key(item);
      if (seen.has(k)) throw new OrgError(`org: ${label}[${i}]: duplicate ${k}`);
      seen.add(k);
    });
  };
  unique(org.apps, (a) => a.appKey, 'apps');
  unique(org.users, (u) => u.userid, 'users');
  unique(org.robots, (r) => r.accessToken, 'robots');
  unique(org.robots, (r) => r.name, 'robots');
  unique(org.chats, (c) => c.chatid, 'chats');
  org.departments.forEach((d, i) => {
    if (d.parentId !== undefined && !deptIds.has(d.parentId))
      throw new OrgError(`org: departments[${i}].parentId: no department ${d.parentId}`);
  });
  const userIds = new Set(org.users.map((u) => u.userid));
  org.users.forEach((u, i) => {
    u.deptIds.forEach((id, j) => {
      if (!deptIds.has(id)) throw new OrgError(`org: users[${i}].deptIds[${j}]: no department ${id}`);
    });
  });
  org.chats.forEach((c, i) => {
    if (!userIds.has(c.owner)) throw new OrgError(`org: chats[${i}].owner: no user ${c.owner}`);
    c.members.forEach((m, j) => {
      if (!userIds.has(m)) throw new OrgError(`org: chats[${i}].members[${j}]: no user ${m}`);
    });
    if (!c.members.includes(c.owner)) c.members.unshift(c.owner);
  });
  return org;
}

/** Reads an org file, JSON or YAML (same keys). */
export function loadOrgFile(path: string): Org {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new OrgError(`org: cannot read ${path}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
  }
  let data: unknown;
  try {
    data = path.endsWith('.json') ? JSON.parse(text) : parseYaml(text);
  } catch (err) {
    throw new OrgError(`org: ${path} is not valid ${path.endsWith('.json') ? 'JSON' : 'YAML'}: ${(err as Error).message.split('\n')[0]}`);
  }
  return parseOrg(data);
}

/**
 * The demo org: one app, a small company and two robots. Secrets here are well-known demo values; the emulator
 * is for development and tests only.
 */
export function demoOrg(): Org {
  return parseOrg({
    corpId: 'dingdemocorp',
    apps: [
      { name: 'demo', appKey: 'dingdemoapp', appSecret: 'demo-app-secret-do-not-use-in-production', agentId: 1001, robotCode: 'dingdemoapp' },
    ],
    departments: [
      { id: 1, name: '演示公司' },
      { id: 2, name: '运维部', parentId: 1 },
      { id: 3, name: '研发部', parentId: 1 },
      { id: 4, name: '前端组', parentId: 3 },
    ],
    users: [
      { userid: 'zhangsan', name: '张三', mobile: '13800000001', deptIds: [2], title: '运维工程师' },
      { userid: 'lisi', name: '李四', mobile: '13800000002', deptIds: [2] },
      { userid: 'wangwu', name: '王五', mobile: '13800000003', deptIds: [3] },
      { userid: 'zhaoliu', name: '赵六', mobile: '13800000004', deptIds: [4] },
      { userid: 'sunqi', name: '孙七', mobile: '13800000005', deptIds: [4] },
      { userid: 'manager', name: '周经理', mobile: '13800000000', deptIds: [1] },
    ],
    robots: [
      { name: 'ops', accessToken: 'a'.repeat(64), secret: 'SECdemo0ops0secret0000000000000000000000000000000000000000000000000' },
      { name: 'alerts', accessToken: 'b'.repeat(64), keywords: ['告警', 'alert'] },
    ],
    chats: [
      { chatid: 'chat0demo0ops', openConversationId: 'cid0demo0ops==', name: '运维群', owner: 'zhangsan', members: ['zhangsan', 'lisi', 'manager'] },
    ],
  });
}
