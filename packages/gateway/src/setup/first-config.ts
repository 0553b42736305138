import { randomBytes } from 'node:crypto';

/** What `dingpush init` asks for; every section is optional (none: a sandbox configuration). */
export interface FirstConfig {
  app?: { appKey: string; appSecret: string; agentId?: number; robotCode?: string };
  robot?: { name: string; webhook: string; secret?: string; keywords: string[] };
  /** A SQLite file path or a postgres:// URL. */
  store: string;
  /** Where DingTalk is, when it is not DingTalk itself (the emulator, a test double): one base URL for both APIs. */
  dingtalkUrl?: string;
}

export interface WrittenConfig {
  /** The commented YAML; secrets appear only as ${NAME}. */
  yaml: string;
  /** NAME → secret, for the .env beside the configuration. */
  secrets: Record<string, string>;
}

const q = (v: string | number) => JSON.stringify(v);
/** `${NAME}` as the configuration writes it: replaced from the environment (or .env) when the file is read. */
const ref = (name: string) => ['$', '{', name, '}'].join('');
const envName = (robot: string, what: string) => `DINGTALK_ROBOT_${robot.toUpperCase().replace(/[^A-Z0-9]/g, '_')}_${what}`;

/**
 * The configuration `dingpush init` writes: the keys a first deployment needs, each with a comment saying what it
 * is and where in DingTalk's console its value comes from. Secrets (the AppSecret, the robot's access token and
 * signing secret, the API key) go to `secrets` and the YAML refers to them as ${NAME}.
 */
export function renderFirstConfig(answers: FirstConfig, apiKey = `dp_${randomBytes(24).toString('base64url')}`): WrittenConfig {
  const secrets: Record<string, string> = {};
  const sandbox = !answers.app && !answers.robot;
  const lines: string[] = [
    '# dingpush configuration, written by `dingpush init`.',
    `# ${ref('NAME')} is read from the environment, or from the .env file beside this one (the environment wins).`,
    '# Check it against DingTalk with: npx dingpush doctor --config <this file>',
    '',
    '# Where the HTTP API listens (8720 is the default port).',
    'server: { host: 127.0.0.1, port: 8720 }',
    '',
    '# Where notifications are kept until delivered: a SQLite file, or { postgres: "postgres://…" } for several instances.',
    /^postgres(ql)?:\/\//.test(answers.store)
      ? `store: { postgres: "${ref('DINGPUSH_POSTGRES_URL')}" }`
      : `store: { sqlite: ${q(answers.store)} }`,
    '',
  ];
  if (/^postgres(ql)?:\/\//.test(answers.store)) secrets.DINGPUSH_POSTGRES_URL = answers.store;
  if (answers.dingtalkUrl) {
    lines.push('# DingTalk is reached here instead of oapi.dingtalk.com / api.dingtalk.com.');
    lines.push(`dingtalk: { oapiBaseUrl: ${q(answers.dingtalkUrl)}, apiBaseUrl: ${q(answers.dingtalkUrl)} }`, '');
  }
  if (sandbox) {
    lines.push(
      '# No DingTalk app or robot yet: `dingpush serve` runs in sandbox mode, against a built-in DingTalk emulator.',
      '# Run `dingpush init --force` with your values, or add them here:',
      '# apps:',
      `#   - { name: default, appKey: "dingxxxxxxxxxxxxxxxx", appSecret: "${ref('DINGTALK_APP_SECRET')}", agentId: 123456789 }`,
      '# robots:',
      `#   - { name: ops, webhook: "https://oapi.dingtalk.com/robot/send?access_token=${ref('DINGTALK_ROBOT_OPS_TOKEN')}", secret: "${ref('DINGTALK_ROBOT_OPS_SECRET')}" }`,
      '# apiKeys:',
      `#   - { name: default, key: "${ref('DINGPUSH_API_KEY')}" }`,
      '',
    );
    return { yaml: `${lines.join('\n')}\n`, secrets };
  }
  secrets.DINGPUSH_API_KEY = apiKey;
  lines.push(
    '# Senders authenticate with one of these keys (Authorization: Bearer <key>); the value is in .env.',
    'apiKeys:',
    `  - { name: default, key: "${ref('DINGPUSH_API_KEY')}" }`,
    '',
  );
  if (answers.app) {
    const a = answers.app;
    secrets.DINGTALK_APP_SECRET = a.appSecret;
    lines.push(
      '# An enterprise internal app (开发者后台 open-dev.dingtalk.com → 应用开发 → the app → 凭证与基础信息):',
      '# AppKey = Client ID, AppSecret = Client Secret, AgentId = the number shown beside them. Work notifications need',
      '# the AgentId; an app robot (to chats, one-to-one) needs the robotCode (usually the AppKey).',
      'apps:',
      `  - name: default`,
      `    appKey: ${q(a.appKey)}`,
      `    appSecret: "${ref('DINGTALK_APP_SECRET')}"`,
      ...(a.agentId !== undefined ? [`    agentId: ${a.agentId}`] : ['    # agentId: 123456789   # needed for work notifications']),
      ...(a.robotCode !== undefined ? [`    robotCode: ${q(a.robotCode)}`] : []),
      '',
    );
  }
  if (answers.robot) {
    const r = answers.robot;
    const url = new URL(r.webhook);
    const tokenVar = envName(r.name, 'TOKEN');
    secrets[tokenVar] = url.searchParams.get('access_token') ?? '';
    url.searchParams.delete('access_token');
    const rest = url.searchParams.toString();
    const webhook = `${url.origin}${url.pathname}?${rest ? `${rest}&` : ''}access_token=${ref(tokenVar)}`;
    lines.push(
      '# A custom group robot (the group → 群设置 → 机器人 → the robot): its webhook, and the security settings it was',
      '# created with: the signing secret (加签, starts with SEC) and/or keywords (自定义关键词; each message must contain one).',
      'robots:',
      `  - name: ${q(r.name)}`,
      `    webhook: ${q(webhook)}`,
    );
    if (r.secret) {
      const secretVar = envName(r.name, 'SECRET');
      secrets[secretVar] = r.secret;
      lines.push(`    secret: "${ref(secretVar)}"`);
    }
    lines.push(`    keywords: [${r.keywords.map(q).join(', ')}]`, '');
  }
  return { yaml: `${lines.join('\n')}\n`, secrets };
}

/**
 * The .env text with `secrets` set: lines of other variables are kept as they were (a user's own), ours are
 * replaced or appended. Values are single-quoted (no expansion); a value holding a quote or a newline is refused
 * by the shape checks before it gets here.
 */
export function mergeDotEnv(existing: string, secrets: Record<string, string>): string {
  const ours = new Set(Object.keys(secrets));
  const kept = existing.split('\n').filter((line) => {
    const m = /^\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)\s*=/.exec(line);
    return !(m && ours.has(m[1]!));
  });
  while (kept.length > 0 && kept[kept.length - 1] === '') kept.pop();
  const header = kept.length === 0 ? ['# Secrets for dingpush.yaml, written by `dingpush init` (keep this file private: mode 600).'] : [];
  return `${[...header, ...kept, ...Object.entries(secrets).map(([k, v]) => `${k}='${v}'`)].join('\n')}\n`;
}
