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

for (const build of before ? [{ name: 'earlier build', bin: before }, { name: 'this build', bin: undefined }] : [{ name: 'this build', bin: undefined }]) {
  const env = await startBenchEnv({ ...(build.bin ? { bin: build.bin } : {}) });
  try {
    const run = (path: string, body: () => unknown) =>
      autocannon({
        url: `${env.gateway.url}${path}`,
        connections: 50,
        duration: seconds,
        requests: [{ method: 'POST', headers: env.headers, setupRequest: (req: any) => ({ ...req, body: JSON.stringify(body()) }) }],
      });
    const workNotice = () => ({ to: { userIds: [`u${n % 1000}`] }, message: { type: 'text', content: `work ${n++}` } });
    const robot = () => ({ to: { robots: ['slow'] }, message: { type: 'text', content: `robot ${n++}` } });
    await run('/v1/noop', workNotice); // warm-up
    const noop = await run('/v1/noop', workNotice);
    const work = await run('/v1/notifications', workNotice);
    const bot = await run('/v1/notifications', robot);
    const robotCalls = (await env.calls('/robot/send')).length;
    const pct = (x: number) => `${fmt((x / noop.requests.average) * 100, 1)}%`;
    rows.push(
      `| ${build.name} | ${fmt(noop.requests.average)} | ${fmt(work.requests.average)} (${pct(work.requests.average)}) | ${fmt(bot.requests.average)} (${pct(bot.requests.average)}) | **${fmt((bot.requests.average / work.requests.average) * 100, 1)}%** | ${bot.latency.p50} / ${bot.latency.p99} | ${work.non2xx + bot.non2xx} | ${robotCalls} |`,
    );
  } finally {
    await stop(env.gateway.child);
    await stop(env.emulator.child);
  }
}
console.log(`\nRobot ingest (due now, behind a spent quota) vs work-notice ingest (due now) vs no-op, SQLite FULL, 50 connections, ${seconds} s each`);
console.log('| build | no-op req/s | work notices accepted/s (of no-op) | robot messages accepted/s (of no-op) | robot / work | robot p50 / p99 ms | non-2xx | robot calls |');
console.log('|---|---|---|---|---|---|---|---|');
for (const r of rows) console.log(r);
console.log(`\nReproduce: npx tsx bench/gateway-robot-ingest.ts ${seconds}${before ? ' <earlier build>/packages/gateway/bin/dingpush.js' : ''}`);
