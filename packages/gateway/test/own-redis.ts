import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

/**
 * A redis-server of a test's own, which it may kill and start again (the shared one is never touched). It snapshots
 * only when told (SAVE) into a directory of its own, and loads its last snapshot when started again: without a SAVE,
 * a restart comes back empty.
 */
export function ownRedisServer() {
  const dir = mkdtempSync(join(tmpdir(), 'dingpush-redis-'));
  let port = 0;
  let server: ChildProcess | undefined;
  const url = () => `redis://127.0.0.1:${port}`;
  const start = async () => {
    port ||= await freePort();
    server = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--save', '', '--appendonly', 'no'], { stdio: 'ignore' });
    const probe = new Redis(url(), { lazyConnect: true, retryStrategy: () => 50 });
    probe.on('error', () => {});
    await probe.connect().catch(() => {});
    await probe.ping();
    probe.disconnect();
  };
  const kill = async () => {
    const s = server;
    server = undefined;
    if (!s || s.exitCode !== null) return;
    const exited = new Promise((r) => s.once('exit', r));
    s.kill('SIGKILL');
    await exited;
  };
  const cleanup = async () => {
    await kill();
    rmSync(dir, { recursive: true, force: true });
  };
  return { url, start, kill, cleanup, running: () => server !== undefined };
}
