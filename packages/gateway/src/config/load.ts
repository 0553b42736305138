import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { parseEnv } from 'node:util';
import { isAlias, LineCounter, parseDocument, visit, type YAMLError } from 'yaml';
import type { z } from 'zod';
import { type Config, configSchema } from './schema.js';

/** A configuration that cannot be used; `problems` lists every one found, each naming its key. */
export class ConfigError extends Error {
  override name = 'ConfigError';
  readonly problems: string[];
  constructor(problems: string | string[]) {
    const list = typeof problems === 'string' ? [problems] : problems;
    super(list.length > 1 ? `${list[0]} (and ${list.length - 1} more: dingpush config check lists them all)` : (list[0] ?? 'invalid configuration'));
    this.problems = list;
  }
}

export function formatPath(path: readonly PropertyKey[]): string {
  return path.reduce<string>((acc, part) => (typeof part === 'number' ? `${acc}[${part}]` : acc ? `${acc}.${String(part)}` : String(part)), '');
}

/**
 * Replaces ${NAME} (or ${NAME:-default}) in every string from the environment; each missing variable is a problem
 * naming its key (and the string keeps the placeholder, so validation goes on and finds the others).
 */
export function substituteEnv(value: unknown, env: NodeJS.ProcessEnv, path: (string | number)[] = [], problems: string[] = []): unknown {
  if (typeof value === 'string') {
    return value.replace(/\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}/g, (m, varName: string, fallback: string | undefined) => {
      const v = env[varName];
      if (v !== undefined && v !== '') return v;
      if (fallback !== undefined) return fallback;
      problems.push(`${formatPath(path) || '(root)'}: environment variable ${varName} is not set`);
      return m;
    });
  }
  if (Array.isArray(value)) return value.map((v, i) => substituteEnv(v, env, [...path, i], problems));
  if (typeof value === 'object' && value !== null)
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, substituteEnv(v, env, [...path, k], problems)]));
  return value;
}

/**
 * `templates[i].file` read into `templates[i].text`, relative to the config file's directory; before validation, so
 * that the schema sees every template's text (and its parse check names the file). A template gives exactly one of
 * text and file.
 */
function readTemplateFiles(data: unknown, baseDir: string, problems: string[]): unknown {
  if (typeof data !== 'object' || data === null || !Array.isArray((data as { templates?: unknown }).templates)) return data;
  const templates = (data as { templates: unknown[] }).templates.map((t, i) => {
    if (typeof t !== 'object' || t === null) return t;
    const { text, file } = t as { text?: unknown; file?: unknown };
    if (text !== undefined && file !== undefined) {
      problems.push(`templates[${i}]: give text or file, not both`);
      return t;
    }
    if (text === undefined && file === undefined) {
      problems.push(`templates[${i}]: give the template as text, or as file (a path relative to the config file)`);
      return t;
    }
    if (typeof file !== 'string' || file === '') return t;
    try {
      return { ...t, text: readFileSync(resolve(baseDir, file), 'utf8') };
    } catch (err) {
      problems.push(`templates[${i}].file: cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
      // An empty text in its place, so that validation goes on without also calling the text missing.
      return { ...t, text: '' };
    }
  });
  return { ...data, templates };
}

/** A configuration from its parsed YAML (or an object); template files are read relative to `baseDir`. */
export function parseConfig(data: unknown, env: NodeJS.ProcessEnv = process.env, baseDir = process.cwd()): Config {
  const checked = checkConfig(data, env, baseDir);
  if (!checked.config) throw new ConfigError(checked.problems);
  return checked.config;
}

/**
 * Rules that hold only for a gateway that starts serving: outside sandbox mode (an app or a robot configured) every
 * sender needs a key.
 */
export function startProblems(config: unknown): string[] {
  // Read from what the file says, so that a file that did not validate is checked too (one pass lists everything).
  const d = (typeof config === 'object' && config !== null ? config : {}) as Record<string, unknown>;
  const count = (v: unknown) => (Array.isArray(v) ? v.length : 0);
  const sandbox = count(d.apps) === 0 && count(d.robots) === 0;
  return !sandbox && count(d.apiKeys) === 0 ? [NEEDS_API_KEY] : [];
}

export const NEEDS_API_KEY = 'apiKeys: at least one API key is needed outside sandbox mode (sandbox mode is when no app or robot is configured)';

/** Every problem of a configuration (each naming its key), or the configuration when there is none. */
export function checkConfig(data: unknown, env: NodeJS.ProcessEnv = process.env, baseDir = process.cwd()): { config?: Config; problems: string[] } {
  const problems: string[] = [];
  const prepared = readTemplateFiles(substituteEnv(data ?? {}, env, [], problems), baseDir, problems);
  const result = configSchema.safeParse(prepared);
  if (!result.success) problems.push(...result.error.issues.map(describeIssue));
  if (problems.length > 0 || !result.success) return { problems: [...new Set(problems)] };
  return { config: result.data, problems };
}

/**
 * The `.env` beside a configuration file (written by `dingpush init`, mode 0600), merged under the process
 * environment: a variable set in the environment wins, so a deployment can override the file.
 */
export function envWithDotEnv(configPath: string, env: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
  const file = join(dirname(resolve(configPath)), '.env');
  if (!existsSync(file)) return env;
  let parsed: Record<string, string>;
  try {
    parsed = parseEnv(readFileSync(file, 'utf8')) as Record<string, string>;
  } catch (err) {
    throw new ConfigError(`cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
  }
  // An empty variable counts as unset here as it does in ${NAME}: it does not hide the file's value.
  const set = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined && v !== ''));
  return { ...parsed, ...set };
}

/**
 * A configuration file's text, parsed as YAML; a file that cannot be read or parsed is a ConfigError listing every
 * YAML problem by line and column. The parser's own words may quote the text it stumbled on (an alias's or a tag's
 * name, and its warnings print the whole line), and that text can be a secret: only the words before their first
 * colon are shown, and the parser's warnings are problems here rather than printed by it on stderr.
 */
export function readConfigData(path: string): unknown {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new ConfigError(`cannot read config ${path}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
  }
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false, logLevel: 'silent' });
  const problem = (message: string, offset: number | undefined) => {
    const at = offset === undefined ? undefined : lines.linePos(offset);
    return `${path} is not valid YAML: ${message.split(/[:\n]/)[0]!.trim()}${at ? ` at line ${at.line}, column ${at.col}` : ''}`;
  };
  // A tag the parser does not know (an unquoted value starting with !) changes what the value is: a problem too.
  const found = [...doc.errors, ...doc.warnings].map((e: YAMLError) => problem(e.message, e.pos[0]));
  if (found.length > 0) throw new ConfigError(found);
  try {
    return doc.toJS();
  } catch (err) {
    // An alias (*name) that no anchor sets is found only when the document is read: point at the first such alias.
    let offset: number | undefined;
    visit(doc, {
      Alias(_key, node) {
        if (isAlias(node) && node.resolve(doc) === undefined) {
          offset = node.range?.[0];
          return visit.BREAK;
        }
        return undefined;
      },
    });
    throw new ConfigError(problem((err as Error).message, offset));
  }
}

/** Every problem of a configuration file (reading its `.env`), or the configuration; `data` is the file as parsed. */
export function checkConfigFile(path: string, env: NodeJS.ProcessEnv = process.env): { config?: Config; problems: string[]; data?: unknown } {
  let data: unknown;
  let fullEnv: NodeJS.ProcessEnv;
  try {
    data = readConfigData(path);
    fullEnv = envWithDotEnv(path, env);
  } catch (err) {
    if (err instanceof ConfigError) return { problems: err.problems };
    throw err;
  }
  return { ...checkConfig(data, fullEnv, dirname(resolve(path))), data };
}

export function loadConfigFile(path: string, env: NodeJS.ProcessEnv = process.env): Config {
  const checked = checkConfigFile(path, env);
  if (!checked.config) throw new ConfigError(checked.problems);
  return checked.config;
}

/**
 * An unknown key as a problem shows it. A YAML typo can make a value part of a key (`secret:SEC…` without the space
 * after the colon is one key): what follows a colon, and anything past 40 characters, is not shown.
 */
function shownKey(key: string): string {
  const colon = key.indexOf(':');
  if (colon >= 0) return `${key.slice(0, colon)}:… (a space is missing after the colon?)`;
  return key.length > 40 ? `${key.slice(0, 40)}…` : key;
}

function describeIssue(issue: z.core.$ZodIssue): string {
  const path = formatPath(issue.path);
  let message = issue.message;
  if (issue.code === 'unrecognized_keys') message = `unknown key ${issue.keys.map((k) => `"${shownKey(k)}"`).join(', ')}`;
  // Redis beside a SQLite file: say what cluster mode needs rather than that the key is unknown.
  if (issue.code === 'unrecognized_keys' && path === 'store' && issue.keys.includes('redis'))
    return 'store.redis: needs store.postgres: cluster mode is PostgreSQL and Redis (a SQLite store serves one process)';
  if (issue.code === 'invalid_type') message = `expected ${issue.expected}`;
  return `${path || '(root)'}: ${message}`;
}
