/**
 * Ingest: notifications accepted per second, single process, SQLite (WAL, group commit), beside a no-op endpoint of
 * the same server (same auth and JSON parsing, no validation, no storage) in the same run; with the default
 * synchronous=FULL (on disk before "accepted") and with synchronous=NORMAL.
 * Reproduce: npx tsx bench/gateway-ingest.ts [seconds]
 */
import autocannon from 'autocannon';
import { rssMiB, startBenchEnv } from './gateway-env.js';
import { fmt, stop } from './lib.js';

const seconds = Number(process.argv[2] ?? 10);
// Held for tomorrow, so that this measures accepting, not delivering.
const sendAt = new Date(Date.now() + 86_400_000).toISOString();
let n = 0;
const rows: string[] = [];

for (const synchronous of ['full', 'normal'] as const) {
  const env = await startBenchEnv({ synchronous });
  try {
    const run = (path: string) =>
      autocannon({
        url: `${env.gateway.url}${path}`,
        connections: 50,
        duration: seconds,
        requests: [
          {
            method: 'POST',
            headers: env.headers,
            setupRequest: (req: any) => ({ ...req, body: JSON.stringify({ to: { userIds: [`u${n % 1000}`] }, message: { type: 'text', content: `ingest ${n++}` }, sendAt }) }),
          },
        ],
      });
    await run('/v1/noop'); // warm-up
    const noop = await run('/v1/noop');
    const accept = await run('/v1/notifications');
    rows.push(
      `| synchronous=${synchronous.toUpperCase()} | ${fmt(noop.requests.average)} | ${fmt(accept.requests.average)} | **${fmt((accept.requests.average / noop.requests.average) * 100, 1)}%** | ${accept.latency.p50} / ${accept.latency.p99} | ${accept.non2xx} | ${fmt(rssMiB(env.gateway.child.pid!))} MiB |`,
    );
  } finally {
    await stop(env.gateway.child);
    await stop(env.emulator.child);
  }
}
console.log(`\nGateway ingest, single process, SQLite, 50 connections, ${seconds} s per endpoint (autocannon in the same 2-core machine)`);
console.log('| store | no-op req/s | accepted/s | ratio | accept p50 / p99 ms | non-2xx | RSS |');
console.log('|---|---|---|---|---|---|---|');
for (const r of rows) console.log(r);
console.log(`\nReproduce: npx tsx bench/gateway-ingest.ts ${seconds}`);
