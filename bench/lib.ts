import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const DINGPUSH_BIN = new URL('../packages/gateway/bin/dingpush.js', import.meta.url).pathname;

/** Starts a dingpush subcommand in its own process and resolves once it prints a URL. */
export async function startProcess(args: string[], env: NodeJS.ProcessEnv = {}, nodeArgs: string[] = [], bin = DINGPUSH_BIN): Promise<{ child: ChildProcess; url: string; output: () => string }> {
  const child = spawn(process.execPath, [...nodeArgs, bin, ...args], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } });
  let out = '';
  const url = await new Promise<string>((resolve, reject) => {
    const onData = (d: Buffer) => {
      out += d;
      const m = /(http:\/\/127\.0\.0\.1:\d+)/.exec(out);
      if (m) resolve(m[1]!);
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', (d) => {
      out += d;
    });
    child.once('exit', (code) => reject(new Error(`process exited ${code}: ${out}`)));
  });
  return { child, url, output: () => out };
}

export function writeTempJson(name: string, data: unknown): string {
  const dir = mkdtempSync(join(tmpdir(), 'dingpush-bench-'));
  const file = join(dir, name);
  writeFileSync(file, JSON.stringify(data));
  return file;
}

export function stop(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null) return resolve();
    child.once('exit', () => resolve());
    child.kill('SIGTERM');
  });
}

export const fmt = (n: number, digits = 0) => n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });
