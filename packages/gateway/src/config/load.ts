import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { parse as parseYaml } from 'yaml';
import type { z } from 'zod';
import { type Config, configSchema } from './schema.js';

export class ConfigError extends Error {
  override name = 'ConfigError';
}

export function formatPath(path: readonly PropertyKey[]): string {
  return path.reduce<string>((acc, part) => (typeof part === 'number' ? `${acc}[${part}]` : acc ? `${acc}.${String(part)}` : String(part)), '');
}

/** Replaces ${NAME} (or ${NAME:-default}) in every string from the environment; a missing variable names its key. */
export function substituteEnv(value: unknown, env: NodeJS.ProcessEnv, path: (string | number)[] = []): unknown {
  if (typeof value === 'string') {
    return value.replace(/\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}/g, (_m, varName: string, fallback: string | undefined) => {
      const v = env[varName];
      if (v !== undefined && v !== '') return v;
      if (fallback !== undefined) return fallback;
      throw new ConfigError(`${formatPath(path) || '(root)'}: environment variable ${varName} is not set`);
    });
  }
  if (Array.isArray(value)) return value.map((v, i) => substituteEnv(v, env, [...path, i]));
  if (typeof value === 'object' && value !== null)
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, substituteEnv(v, env, [...path, k])]));
  return value;
}

/**
 * `templates[i].file` read into `templates[i].text`, relative to the config file's directory; before validation, so
 * that the schema sees every template's text (and its parse check names the file). A template gives exactly one of
 * text and file.
 */
function readTemplateFiles(data: unknown, baseDir: string): unknown {
  if (typeof data !== 'object' || data === null || !Array.isArray((data as { templates?: unknown }).templates)) return data;
  const templates = (data as { templates: unknown[] }).templates.map((t, i) => {
    if (typeof t !== 'object' || t === null) return t;
    const { text, file } = t as { text?: unknown; file?: unknown };
    if (text !== undefined && file !== undefined) throw new ConfigError(`templates[${i}]: give text or file, not both`);
    if (text === undefined && file === undefined) throw new ConfigError(`templates[${i}]: give the template as text, or as file (a path relative to the config file)`);
    if (typeof file !== 'string' || file === '') return t;
    try {
      return { ...t, text: readFileSync(resolve(baseDir, file), 'utf8') };
    } catch (err) {
      throw new ConfigError(`templates[${i}].file: cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
    }
  });
  return { ...data, templates };
}

/** A configuration from its parsed YAML (or an object); template files are read relative to `baseDir`. */
export function parseConfig(data: unknown, env: NodeJS.ProcessEnv = process.env, baseDir = process.cwd()): Config {
  const result = configSchema.safeParse(readTemplateFiles(substituteEnv(data ?? {}, env), baseDir));
  if (!result.success) throw new ConfigError(describeIssue(result.error));
  return result.data;
}

export function loadConfigFile(path: string, env: NodeJS.ProcessEnv = process.env): Config {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new ConfigError(`cannot read config ${path}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
  }
  let data: unknown;
  try {
    data = parseYaml(text);
  } catch (err) {
    throw new ConfigError(`${path} is not valid YAML: ${(err as Error).message.split('\n')[0]}`);
  }
  return parseConfig(data, env, dirname(resolve(path)));
}

function describeIssue(error: z.ZodError): string {
  const issue = error.issues[0]!;
  const path = formatPath(issue.path);
  let message = issue.message;
  if (issue.code === 'unrecognized_keys') message = `unknown key ${issue.keys.map((k) => `"${k}"`).join(', ')}`;
  if (issue.code === 'invalid_type') message = `expected ${issue.expected}`;
  return `${path || '(root)'}: ${message}`;
}
