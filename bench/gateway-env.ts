import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { startProcess, writeTempJson } from './lib.js';

export const BENCH_KEY = 'bench-key-0123456789abcdef';
export const APP = { name: 'bench', appKey: 'dingbench', appSecret: 'bench-secret', agentId: 1 };
export const ROBOT_TOKEN = 'a'.repeat(64);

/** An emulator and a gateway, each in its own process, the gateway on a fresh SQLite file. */
export async function startBenchEnv(
  opts: {
    users?: number;
    switches?: Record<string, unknown>;
    delivery?: Record<string, unknown>;
    env?: NodeJS.ProcessEnv;
    nodeArgs?: string[];
    synchronous?: 'full' | 'normal';
    /** Another build of the `dingpush` command (an earlier version, for a side-by-side run). */
    bin?: string;
    robots?: Record<string, unknown>[];
    targets?: Record<string, unknown>[];
    /** Another store than a fresh SQLite file (e.g. `{ postgres, schema }`). */
    store?: Record<string, unknown>;
  } = {},
) {
  const users = Array.from({ length: opts.users ?? 1000 }, (_, i) => ({ userid: `u${i}`, name: `User ${i}`, mobile: `139${String(i).padStart(8, '0')}` }));
  const orgFile = writeTempJson('org.json', {
    apps: [APP],
    users,
    robots: [{ name: 'slow', accessToken: ROBOT_TOKEN }],
    switches: { deliveryMs: 200, readAfterMs: 1000, ...opts.switches },
  });
  const emulator = await startProcess(['emulator', '--port', '0', '--org', orgFile]);
  const dir = orgFile.replace(/\/org\.json$/, '');
  const configFile = join(dir, 'dingpush.yaml');
  writeFileSync(
    configFile,
    stringify({
      server: { port: 0, bodyLimitBytes: 1024 * 1024 },
      apiKeys: [{ name: 'bench', key: BENCH_KEY }],
      store: opts.store ?? { sqlite: join(dir, 'dingpush.db'), synchronous: opts.synchronous ?? 'full' },
      dingtalk: { oapiBaseUrl: emulator.url, apiBaseUrl: emulator.url },
      apps: [APP],
      robots: [{ name: 'slow', webhook: `${emulator.url}/robot/send?access_token=${ROBOT_TOKEN}`, ...opts.robots?.[0] }],
      ...(opts.targets ? { targets: opts.targets } : {}),
      tracking: { firstCheckMs: 500, readChecksMs: [] },
      delivery: { ...opts.delivery },
      logLevel: 'warn',
    }),
  );
  const gateway = await startProcess(['serve', '--config', configFile], { DINGPUSH_NOOP_ENDPOINT: '1', ...opts.env }, opts.nodeArgs, opts.bin);
  const headers = { 'content-type': 'application/json', authorization: `Bearer ${BENCH_KEY}` };
  return {
    emulator,
    gateway,
    headers,
    async calls(path?: string): Promise<{ time: number; receivedAt: number; path: string; errcode?: number | string }[]> {
      const q = path ? `?path=${encodeURIComponent(path)}` : '';
      return (await (await fetch(`${emulator.url}/_emulator/api/calls${q}`)).json()).calls;
    },
    async send(body: unknown): Promise<string> {
      const res = await fetch(`${gateway.url}/v1/notifications`, { method: 'POST', headers, body: JSON.stringify(body) });
      if (res.status !== 202) throw new Error(`send: HTTP ${res.status} ${await res.text()}`);
      return ((await res.json()) as { id: string }).id;
    },
    async status(id: string): Promise<{ status: string; counts: Record<string, number> }> {
      return (await fetch(`${gateway.url}/v1/notifications/${id}`, { headers })).json();
    },
  };
}

/** Resident set size of a process, from /proc (Linux). */
export function rssMiB(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  return Number(/VmRSS:\s+(\d+)/.exec(status)![1]) / 1024;
}
