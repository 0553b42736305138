import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { parseEnv } from 'node:util';
import { type FirstConfig, mergeDotEnv, renderFirstConfig } from '../setup/first-config.js';
import {
  agentIdShape,
  appKeyShape,
  appSecretShape,
  keywordShape,
  robotCodeShape,
  robotNameShape,
  robotSecretShape,
  robotWebhookShape,
  type ShapeCheck,
  storeShape,
} from '../setup/value-shapes.js';
import { UsageError } from './options.js';

export interface InitFlags {
  config?: string;
  force?: boolean;
  appKey?: string;
  appSecret?: string;
  agentId?: string;
  robotCode?: string;
  robotName?: string;
  robotWebhook?: string;
  robotSecret?: string;
  robotKeyword?: string[];
  store?: string;
  dingtalkUrl?: string;
}

const DEFAULT_STORE = './data/dingpush.db';

/** A flag's value, checked: a malformed one stops `init` with a line naming the flag. */
function flag(value: string | undefined, name: string, shape: ShapeCheck): string | undefined {
  if (value === undefined) return undefined;
  const problem = shape(value);
  if (problem) throw new UsageError(`${name}: ${problem}`);
  return value;
}

/** Asks in the terminal; a malformed answer is asked again (the prompt library shows why). */
interface Asker {
  text(message: string, shape: ShapeCheck, opts?: { optional?: boolean; default?: string }): Promise<string>;
  secret(message: string, shape: ShapeCheck, opts?: { optional?: boolean }): Promise<string>;
}

async function terminalAsker(): Promise<Asker> {
  const { input, password } = await import('@inquirer/prompts');
  const validate = (shape: ShapeCheck, optional: boolean) => (v: string) => (optional && v === '') || (shape(v.trim()) ?? true);
  return {
    text: async (message, shape, opts = {}) =>
      (await input({ message, validate: validate(shape, opts.optional ?? false), ...(opts.default !== undefined ? { default: opts.default } : {}) })).trim(),
    secret: async (message, shape, opts = {}) => (await password({ message, mask: '*', validate: validate(shape, opts.optional ?? false) })).trim(),
  };
}

/** The answers: flags first; what they leave out is asked for in a terminal, or left out (sandbox) without one. */
async function gather(f: InitFlags, ask: Asker | undefined): Promise<FirstConfig> {
  const appKey = flag(f.appKey, '--app-key', appKeyShape);
  let appSecret = flag(f.appSecret, '--app-secret', appSecretShape);
  let agentId = flag(f.agentId, '--agent-id', agentIdShape);
  let robotCode = flag(f.robotCode, '--robot-code', robotCodeShape);
  let webhook = flag(f.robotWebhook, '--robot-webhook', robotWebhookShape);
  let robotName = flag(f.robotName, '--robot-name', robotNameShape);
  let robotSecret = flag(f.robotSecret, '--robot-secret', robotSecretShape);
  const keywords = (f.robotKeyword ?? []).map((k) => flag(k, '--robot-keyword', keywordShape)!);
  if (keywords.length > 10) throw new UsageError('--robot-keyword: a robot has at most 10 keywords');
  let store = flag(f.store, '--store', storeShape);
  const dingtalkUrl = flag(f.dingtalkUrl, '--dingtalk-url', (v) => (/^https?:\/\/[^/?#]+\/?$/.test(v) ? undefined : 'expected a base URL such as http://127.0.0.1:8730'));

  const appFlags = [appKey, appSecret, agentId, robotCode].some((v) => v !== undefined);
  const robotFlags = [webhook, robotName, robotSecret].some((v) => v !== undefined) || keywords.length > 0;
  let key = appKey;
  if (ask && !appFlags && !robotFlags) {
    key = (await ask.text('DingTalk app AppKey (Client ID), for work notifications — empty to skip', appKeyShape, { optional: true })) || undefined;
  }
  if (key !== undefined) {
    if (appSecret === undefined) {
      if (!ask) throw new UsageError('--app-secret: needed with --app-key (the Client Secret beside it in the developer console)');
      appSecret = await ask.secret('AppSecret (Client Secret)', appSecretShape);
    }
    if (agentId === undefined && ask && !appFlags) agentId = (await ask.text('AgentId (a number; needed for work notifications) — empty to skip', agentIdShape, { optional: true })) || undefined;
    if (robotCode === undefined && ask && !appFlags) robotCode = (await ask.text('robotCode of the app\'s robot (for chats and one-to-one) — empty to skip', robotCodeShape, { optional: true })) || undefined;
  } else if (appFlags) {
    throw new UsageError('--app-key: needed with --app-secret, --agent-id or --robot-code');
  }
  if (ask && !appFlags && !robotFlags) {
    webhook = (await ask.text('Custom robot webhook URL (https://oapi.dingtalk.com/robot/send?access_token=…) — empty to skip', robotWebhookShape, { optional: true })) || undefined;
    if (webhook !== undefined) {
      robotName = await ask.text('A name for this robot (senders address it by name)', robotNameShape, { default: 'ops' });
      robotSecret = (await ask.secret('Its signing secret (加签, starts with SEC) — empty if it has none', robotSecretShape, { optional: true })) || undefined;
      const answer = await ask.text('Its keywords (自定义关键词), comma-separated — empty if none', (v) => v.split(',').map((k) => keywordShape(k.trim())).find(Boolean), { optional: true });
      if (answer) keywords.push(...answer.split(',').map((k) => k.trim()));
    }
  } else if (robotFlags && webhook === undefined) {
    throw new UsageError('--robot-webhook: needed with --robot-name, --robot-secret or --robot-keyword');
  }
  if (store === undefined && ask) store = await ask.text('Where to keep notifications (SQLite file, or a postgres:// URL)', storeShape, { default: DEFAULT_STORE });

  return {
    ...(key !== undefined && appSecret !== undefined
      ? { app: { appKey: key, appSecret, ...(agentId !== undefined ? { agentId: Number(agentId) } : {}), ...(robotCode !== undefined ? { robotCode } : {}) } }
      : {}),
    ...(webhook !== undefined ? { robot: { name: robotName ?? 'ops', webhook, ...(robotSecret ? { secret: robotSecret } : {}), keywords } } : {}),
    store: store ?? DEFAULT_STORE,
    ...(dingtalkUrl !== undefined ? { dingtalkUrl: dingtalkUrl.replace(/\/$/, '') } : {}),
  };
}

/**
 * Writes a file only its owner can read, never readable by others even for a moment: a new file of mode 0600 beside
 * it, then renamed over it.
 */
function writePrivately(path: string, text: string): void {
  // A random name: a pid repeats (pid 1 in containers), and a crash may have left a file of that name behind.
  const temp = `${path}.${randomBytes(6).toString('hex')}.tmp`;
  writeFileSync(temp, text, { mode: 0o600, flag: 'wx' });
  try {
    chmodSync(temp, 0o600); // whatever the umask
    renameSync(temp, path);
  } catch (err) {
    rmSync(temp, { force: true });
    throw err;
  }
}

/** `dingpush init`: writes a commented configuration, its secrets to .env beside it (mode 0600). Prints no secret. */
export async function init(f: InitFlags): Promise<void> {
  const configPath = resolve(f.config ?? 'dingpush.yaml');
  const shown = relative(process.cwd(), configPath) || configPath;
  if (existsSync(configPath) && !f.force) throw new UsageError(`${shown} exists; --force overwrites it`);
  if (existsSync(configPath) && !statSync(configPath).isFile()) throw new UsageError(`${shown} is not a file; --config names the file to write`);
  const interactive = Boolean(process.stdin.isTTY && process.stdout.isTTY);
  const answers = await gather(f, interactive ? await terminalAsker() : undefined);
  mkdirSync(dirname(configPath), { recursive: true });
  const envPath = join(dirname(configPath), '.env');
  const existedBefore = existsSync(envPath);
  const existingText = existedBefore ? readFileSync(envPath, 'utf8') : '';
  const existing = parseEnv(existingText) as Record<string, string>;
  // The API key senders already use stays: a new one would lock them out (rotate it by editing .env).
  const { yaml, secrets } = renderFirstConfig(answers, existing.DINGPUSH_API_KEY || undefined);
  // .env may serve another configuration in this directory: a secret of its own is not replaced without --force.
  const clash = Object.keys(secrets).find((name) => existing[name] !== undefined && existing[name] !== secrets[name]);
  if (clash && !f.force) throw new UsageError(`${relative(process.cwd(), envPath) || envPath} already sets ${clash} to another value (another configuration's?); --force replaces it`);
  const names = Object.keys(secrets);
  // Both files or neither: the configuration waits beside its place until .env is written, and a configuration that
  // cannot take its place puts .env back as it was (a .env whose configuration is missing is half a setup).
  const configTemp = `${configPath}.${randomBytes(6).toString('hex')}.tmp`;
  writeFileSync(configTemp, yaml, { flag: 'wx' });
  try {
    if (names.length > 0) writePrivately(envPath, mergeDotEnv(existingText, secrets));
    try {
      renameSync(configTemp, configPath);
    } catch (err) {
      if (names.length > 0) {
        if (existedBefore) writePrivately(envPath, existingText);
        else rmSync(envPath, { force: true });
      }
      throw err;
    }
  } finally {
    rmSync(configTemp, { force: true });
  }
  const lines = [
    `wrote ${shown}${answers.app || answers.robot ? '' : ' (sandbox: no DingTalk app or robot yet)'}`,
    ...(names.length > 0 ? [`wrote ${relative(process.cwd(), envPath) || envPath} (mode 600): ${names.join(', ')}`] : []),
    'next:',
    `  npx dingpush doctor --config ${shown}     # checks it against DingTalk, sends nothing`,
    `  npx dingpush serve --config ${shown}`,
  ];
  process.stdout.write(`${lines.join('\n')}\n`);
}
