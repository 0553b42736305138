/**
 * Ingest: notifications accepted per second (stored durably: SQLite, WAL, synchronous=FULL, group commit), beside a
 * no-op endpoint of the same server (same auth, no validation, no storage) in the same run.
 * Reproduce: npx tsx bench/gateway-ingest.ts [seconds]
 */
import autocannon from 'autocannon';
import { rssMiB, startBenchEnv } from './gateway-env.js';
import { fmt, stop } from './lib.js';

const seconds = Number(process.argv[2] ?? 10);
const env = await startBenchEnv();
try {
  // Held for tomorrow, so that this measures accepting, not delivering.
  const sendAt = new Date(Date.now() + 86_400_000).toISOString();
  let n = 0;
  const run = (title: string, path: string) =>
    autocannon({
      url: `${env.gateway.url}${path}`,
      title,
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
  await run('warm-up', '/v1/noop');
  const noop = await run('no-op endpoint', '/v1/noop');
  const accept = await run('POST /v1/notifications', '/v1/notifications');
  const rss = rssMiB(env.gateway.child.pid!);
  console.log(`\nGateway ingest, single process, SQLite (50 connections, ${seconds} s each, same run)`);
  console.log('| endpoint | requests/s (mean) | p50 ms | p99 ms | non-2xx |');
  console.log('|---|---|---|---|---|');
  for (const r of [noop, accept]) console.log(`| ${r.title} | ${fmt(r.requests.average)} | ${r.latency.p50} | ${r.latency.p99} | ${r.non2xx} |`);
  console.log(`\naccepted / no-op = ${fmt((accept.requests.average / noop.requests.average) * 100, 1)}%   (gateway RSS after: ${fmt(rss)} MiB)`);
  console.log(`Reproduce: npx tsx bench/gateway-ingest.ts ${seconds}`);
} finally {
  await stop(env.gateway.child);
  await stop(env.emulator.child);
}
