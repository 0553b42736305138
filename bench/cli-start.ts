/**
 * Start-up cost of the dingpush command and of the gateway's two entry points, side by side in one run: wall time
 * and maximum RSS of a fresh process, the median of N runs each (interleaved, after one warm-up run each).
 *
 * - `dingpush --help` from the built bin (what `npx dingpush` runs now); from the built JavaScript with everything
 *   main.ts used to load up front (every command's module, both stores and their drivers); and from the TypeScript
 *   sources through tsx, lazily and with everything up front (the bin before the build: tsx and every module).
 * - `import('@dingpush/gateway')` (the SDK) against `import('@dingpush/gateway/server')`, with an empty Node as floor
 *   and the SDK's client module alone (the SDK also re-exports signCallback from dispatch/callbacks.js, which loads
 *   undici and @dingpush/dingtalk).
 *
 * Max RSS comes from /usr/bin/time (%M); without it, from process.resourceUsage().maxRSS at the child's exit.
 * Reproduce: npx tsx bench/cli-start.ts [runs]
 */
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fmt } from './lib.js';

const runs = Number(process.argv[2] ?? 10);
const root = new URL('..', import.meta.url).pathname;
const gw = join(root, 'packages/gateway');
const TIME = '/usr/bin/time';
const useTime = existsSync(TIME);

// Measure the current sources: build first (incremental, a no-op when dist/ is fresh).
execFileSync('npm', ['run', '-s', 'build'], { cwd: root, stdio: 'inherit' });

/** What main.ts loaded before: every command's module, and through the store both stores and their drivers. */
const EVERYTHING = ['cli/serve-command', 'cli/gateway-commands', 'cli/robot-command', 'cli/emulator-command', 'store/sqlite', 'store/postgres'];
const help = "await main(['node', 'dingpush', '--help'])";
const eager = (dir: string, ext: string) =>
  `await Promise.all([...${JSON.stringify(EVERYTHING.map((m) => join(dir, `${m}.${ext}`)))}, 'better-sqlite3'].map((m) => import(m))); const { main } = await import('${join(dir, `cli/main.${ext}`)}'); ${help}`;
const lazy = (dir: string, ext: string) => `const { main } = await import('${join(dir, `cli/main.${ext}`)}'); ${help}`;
const evalModule = (code: string, nodeArgs: string[] = []) => [...nodeArgs, '--input-type=module', '-e', code];
// The sources as the tsx bin ran them: the workspace packages resolve to src/*.ts too (the "source" condition).
const TSX = ['--import', 'tsx', '--conditions=source'];

interface Variant {
  group: string;
  label: string;
  args: string[];
}
const variants: Variant[] = [
  { group: 'dingpush --help', label: 'built bin (now)', args: [join(gw, 'bin/dingpush.js'), '--help'] },
  { group: 'dingpush --help', label: 'built, everything loaded', args: evalModule(eager(join(gw, 'dist'), 'js')) },
  { group: 'dingpush --help', label: 'tsx sources, lazy commands', args: evalModule(lazy(join(gw, 'src'), 'ts'), TSX) },
  { group: 'dingpush --help', label: 'tsx sources, everything (before)', args: evalModule(eager(join(gw, 'src'), 'ts'), TSX) },
  { group: 'import', label: 'empty node (floor)', args: ['-e', ''] },
  { group: 'import', label: "import('@dingpush/gateway') (SDK)", args: evalModule("await import('@dingpush/gateway')") },
  // What the SDK would cost without signCallback's module (dispatch/callbacks.js: undici, @dingpush/dingtalk, zod).
  { group: 'import', label: 'dist/sdk/client.js alone', args: evalModule(`await import('${join(gw, 'dist/sdk/client.js')}')`) },
  { group: 'import', label: "import('@dingpush/gateway/server')", args: evalModule("await import('@dingpush/gateway/server')") },
];

const scratch = mkdtempSync(join(tmpdir(), 'dingpush-cli-start-'));
const MAXRSS_HOOK = `data:text/javascript,${encodeURIComponent(
  "import { writeFileSync } from 'node:fs'; process.on('exit', () => writeFileSync(process.env.DINGPUSH_BENCH_RSS, String(process.resourceUsage().maxRSS)));",
)}`;

/** One run: wall ms and max RSS KiB. */
function measure(v: Variant): Promise<{ ms: number; rssKiB: number }> {
  const out = join(scratch, 'rss');
  rmSync(out, { force: true });
  const [cmd, args] = useTime ? [TIME, ['-f', '%M', '-o', out, process.execPath, ...v.args]] : [process.execPath, ['--import', MAXRSS_HOOK, ...v.args]];
  const started = process.hrtime.bigint();
  const child = spawn(cmd, args, { cwd: root, stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, DINGPUSH_BENCH_RSS: out } });
  let stderr = '';
  child.stderr!.on('data', (d) => {
    stderr += d;
  });
  return new Promise((resolve, reject) =>
    child.on('close', (code) => {
      const ms = Number(process.hrtime.bigint() - started) / 1e6;
      if (code !== 0) return reject(new Error(`${v.label}: exit ${code}\n${stderr}`));
      resolve({ ms, rssKiB: Number(readFileSync(out, 'utf8').trim().split('\n').pop()) });
    }),
  );
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};

for (const v of variants) await measure(v); // warm-up: tsx's cache, the file system cache
const samples = new Map(variants.map((v) => [v, { ms: [] as number[], rss: [] as number[] }]));
for (let i = 0; i < runs; i++)
  for (const v of variants) {
    const r = await measure(v);
    samples.get(v)!.ms.push(r.ms);
    samples.get(v)!.rss.push(r.rssKiB / 1024);
  }
rmSync(scratch, { recursive: true, force: true });

console.log(`\nStart-up, median of ${runs} runs each (Node ${process.version}, max RSS from ${useTime ? '/usr/bin/time' : 'process.resourceUsage()'})\n`);
for (const group of new Set(variants.map((v) => v.group))) {
  const inGroup = variants.filter((v) => v.group === group);
  const base = samples.get(inGroup[group === 'import' ? 1 : 0]!)!;
  const [baseMs, baseRss] = [median(base.ms), median(base.rss)];
  console.log(`${group.padEnd(40)} ${'wall ms'.padStart(8)} ${'max RSS MiB'.padStart(12)}   ratio (time, RSS)`);
  for (const v of inGroup) {
    const [ms, rss] = [median(samples.get(v)!.ms), median(samples.get(v)!.rss)];
    console.log(`  ${v.label.padEnd(38)} ${fmt(ms).padStart(8)} ${fmt(rss, 1).padStart(12)}   ${fmt(ms / baseMs, 2)}×, ${fmt(rss / baseRss, 2)}×`);
  }
  console.log('');
}
console.log(`Reproduce: npx tsx bench/cli-start.ts ${runs}`);
