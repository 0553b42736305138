/**
 * Robot ingest: accepting robot messages that are due now, while the robot's quota is spent and its queue grows,
 * against accepting work notifications that are due now and the no-op endpoint, in one run; optionally beside an
 * earlier build of the gateway (each waiting robot job held a slot of its own there: claimed, reserved, rescheduled).
 * Single process, SQLite (synchronous=FULL), 50 connections.
 * Reproduce: npx tsx bench/gateway-robot-ingest.ts [seconds] [earlier build's bin/dingpush.js]
 */
import autocannon from 'autocannon';
import { startBenchEnv } from './gateway-env.js';
import { fmt, stop } from './lib.js';

const seconds = Number(process.argv[2] ?? 10);
const before = process.argv[3];
let n = 0;
const rows: string[] = [];

// Each measurement in a gateway of its own, so that one kind's backlog (work notifications take minutes to send)
// does not slow the next; each against that gateway's own no-op endpoint.
async function measure(bin: string | undefined, body: () => unknown) {
  const env = await startBenchEnv({ ...(bin ? { bin } : {}) });
  try {
    const run = (path: string) =>
      autocannon({
        url: `${env.gateway.url}${path}`,
        connections: 50,
        duration: seconds,
        requests: [{ method: 'POST', headers: env.headers, setupRequest: (req: any) => ({ ...req, body: JSON.stringify(body()) }) }],
      });
    await run('/v1/noop'); // warm-up
    const noop = await run('/v1/noop');
    const accept = await run('/v1/notifications');
    return { noop: noop.requests.average, accepted: accept.requests.average, p50: accept.latency.p50, p99: accept.latency.p99, non2xx: accept.non2xx };
  } finally {
    await stop(env.gateway.child);
    await stop(env.emulator.child);
  }
}
const workNotice = () => ({ to: { userIds: [`u${n % 1000}`] }, message: { type: 'text', content: `work ${n++}` } });
const robot = () => ({ to: { robots: ['slow'] }, message: { type: 'text', content: `robot ${n++}` } });

for (const build of before ? [{ name: 'earlier build', bin: before }, { name: 'this build', bin: undefined }] : [{ name: 'this build', bin: undefined }]) {
  const work = await measure(build.bin, workNotice);
  const bot = await measure(build.bin, robot);
  const pct = (x: { accepted: number; noop: number }) => (x.accepted / x.noop) * 100;
  rows.push(
    `| ${build.name} | ${fmt(work.accepted)} of ${fmt(work.noop)} (${fmt(pct(work), 1)}%) | ${fmt(bot.accepted)} of ${fmt(bot.noop)} (${fmt(pct(bot), 1)}%) | **${fmt((pct(bot) / pct(work)) * 100, 1)}%** | ${bot.p50} / ${bot.p99} | ${work.non2xx + bot.non2xx} |`,
  );
}
console.log(`\nRobot ingest (due now, behind a spent quota) vs work-notice ingest (due now) vs no-op, SQLite FULL, 50 connections, ${seconds} s each`);
console.log('| build | work notices accepted/s of no-op req/s | robot messages accepted/s of no-op req/s | robot / work (each as a share of its no-op) | robot p50 / p99 ms | non-2xx |');
console.log('|---|---|---|---|---|---|');
for (const r of rows) console.log(r);
console.log(`\nReproduce: npx tsx bench/gateway-robot-ingest.ts ${seconds}${before ? ' <earlier build>/packages/gateway/bin/dingpush.js' : ''}`);
