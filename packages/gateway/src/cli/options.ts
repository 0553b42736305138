import { readFileSync } from 'node:fs';
import type { Command } from 'commander';

/** A CLI mistake: printed as one line on stderr, exit code 2. */
export class UsageError extends Error {
  override name = 'UsageError';
}

export function parsePort(value: string, flag: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 65_535) throw new UsageError(`${flag}: expected a port number 0–65535, got "${value}"`);
  return n;
}

/** Repeatable flags that also take comma-separated lists: --user a,b --user c → [a, b, c]. */
export const collect = (value: string, previous: string[] = []) => [...previous, ...value.split(',').map((v) => v.trim()).filter(Boolean)];

export function readJsonFile(path: string, flag: string): unknown {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new UsageError(`${flag}: cannot read ${path} (${(err as NodeJS.ErrnoException).code ?? err})`);
  }
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new UsageError(`${flag}: ${path} is not valid JSON (${(err as Error).message})`);
  }
}

export function parseJson(value: string, flag: string): unknown {
  try {
    return JSON.parse(value);
  } catch (err) {
    throw new UsageError(`${flag}: not valid JSON (${(err as Error).message})`);
  }
}

/** --url and --key for commands that talk to a running gateway. */
export function gatewayOptions(cmd: Command): Command {
  return cmd
    .option('--url <url>', 'gateway URL (env DINGPUSH_URL)', process.env.DINGPUSH_URL ?? 'http://127.0.0.1:8720')
    .option('--key <key>', 'API key (env DINGPUSH_KEY); not needed in sandbox mode', process.env.DINGPUSH_KEY)
    .option('--json', 'print the answer as JSON');
}

/** The message flags `send` and `robot send` share (messageFromFlags reads them). */
export function messageOptions(cmd: Command, mentionScope: string): Command {
  return cmd
    .option('--text <content>', 'a text message')
    .option('--markdown <text>', 'a markdown message (needs --title)')
    .option('--title <title>', 'title of a markdown message')
    .option('--message <json>', 'any message as JSON, e.g. {"type":"action_card",...}')
    .option('--at-mobile <mobile...>', `${mentionScope}@-mention by mobile`, collect)
    .option('--at-user <userid...>', `${mentionScope}@-mention by userid`, collect)
    .option('--at-all', `${mentionScope}@everyone`);
}

export function print(json: boolean, value: unknown, human: () => string): void {
  process.stdout.write(json ? `${JSON.stringify(value, null, 2)}\n` : `${human()}\n`);
}

/** --text, --markdown with --title, or --message JSON: the one message a command sends (undefined if none given). */
export function messageFromFlags(f: { text?: string; markdown?: string; title?: string; message?: string }): unknown {
  const given = [f.text !== undefined, f.markdown !== undefined, f.message !== undefined].filter(Boolean).length;
  if (given > 1) throw new UsageError('give one of --text, --markdown or --message');
  if (f.text !== undefined) return { type: 'text', content: f.text };
  if (f.markdown !== undefined) {
    if (!f.title) throw new UsageError('--markdown needs --title (shown in the conversation list)');
    return { type: 'markdown', title: f.title, text: f.markdown };
  }
  if (f.message !== undefined) return parseJson(f.message, '--message');
  return undefined;
}
