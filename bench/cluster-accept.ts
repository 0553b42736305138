/**
 * Cluster accepts: one gateway against three on one PostgreSQL and Redis (cluster mode), the same load in one run:
 * notifications accepted per second (work notifications due now, so every instance's dispatcher works meanwhile) with
 * 48 connections in all (three instances: 16 each), and the same for work due later (dispatchers idle).
 * Reproduce: npx tsx bench/cluster-accept.ts [seconds]
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import autocannon from 'autocannon';
import pg from 'pg';
import { stringify } from 'yaml';
import { APP, BENCH_KEY } from './gateway-env.js';
import { fmt, startProcess, stop, writeTempJson } from './lib.js';

const seconds = Number(process.argv[2] ?? 10);
const PG_URL = process.env.DINGPUSH_BENCH_POSTGRES ?? 'postgres://postgres@127.0.0.1:5432/test';
const REDIS_URL = process.env.DINGPUSH_BENCH_REDIS ?? 'redis://127.0.0.1:6379';
const headers = { 'content-type': 'application/json', authorization: `Bearer ${BENCH_KEY}` };
let n = 0;
const tomorrow = () => new Date(Date.now() + 86_400_000).toISOString();
const bodies = {
  'due now': () => ({ to: { userIds: [`u${n % 1000}`] }, message: { type: 'text', content: `work ${n++}` } }),
  'due later': () => ({ to: { userIds: [`u${n % 1000}`] }, message: { type: 'text', content: `later ${n++}` }, sendAt: tomorrow() }),
};

async function cluster(instances: number, kind: keyof typeof bodies) {
  const schema = `dingpush_bench_${process.pid}_${instances}_${kind.replace(' ', '_')}`;
  const users = Array.from({ length: 1000 }, (_, i) => ({ userid: `u${i}`, name: `User ${i}`, mobile: `139${String(i).padStart(8, '0')}` }));
  const orgFile = writeTempJson('org.json', { apps: [APP], users, switches: { deliveryMs: 200, readAfterMs: 1000 } });
  const emulator = await startProcess(['emulator', '--port', '0', '--org', orgFile]);
  const configFile = join(orgFile.replace(/\/org\.json$/, ''), 'dingpush.yaml');
  writeFileSync(
    configFile,
    stringify({
      server: { port: 0, bodyLimitBytes: 1024 * 1024 },
      apiKeys: [{ name: 'bench', key: BENCH_KEY }],
      store: { postgres: PG_URL, schema, redis: REDIS_URL },
      dingtalk: { oapiBaseUrl: emulator.url, apiBaseUrl: emulator.url },
      apps: [APP],
      tracking: { firstCheckMs: 500, readChecksMs: [] },
      logLevel: 'warn',
    }),
  );
  // The first instance migrates the schema; the others start on it.
  const gateways = [await startProcess(['serve', '--config', configFile])];
  gateways.push(...(await Promise.all(Array.from({ length: instances - 1 }, () => startProcess(['serve', '--config', configFile])))));
  try {
    const run = (connections: number, url: string, method: 'GET' | 'POST', path: string) =>
      autocannon({
        url: `${url}${path}`,
        connections,
        duration: seconds,
        requests: [method === 'GET' ? { method } : { method, headers, setupRequest: (req: any) => ({ ...req, body: JSON.stringify(bodies[kind]()) }) }],
      });
    const all = async (method: 'GET' | 'POST', path: string) => {
      const results = await Promise.all(gateways.map((g) => run(48 / instances, g.url, method, path)));
      return { rate: results.reduce((s, r) => s + r.requests.average, 0), non2xx: results.reduce((s, r) => s + r.non2xx + r.errors, 0), p99: Math.max(...results.map((r) => r.latency.p99)) };
    };
    await all('GET', '/healthz'); // warm-up
    const healthz = await all('GET', '/healthz');
    const accept = await all('POST', '/v1/notifications');
    return { healthz, accept };
  } finally {
    await Promise.all(gateways.map((g) => stop(g.child)));
    await stop(emulator.child);
    const client = new pg.Client({ connectionString: PG_URL });
    await client.connect();
    await client.query(`drop schema if exists "${schema}" cascade`);
    await client.end();
  }
}

const rows: string[] = [];
for (const kind of Object.keys(bodies) as (keyof typeof bodies)[]) {
  const one = await cluster(1, kind);
  const three = await cluster(3, kind);
  rows.push(
    `| ${kind} | ${fmt(one.accept.rate)} (p99 ${one.accept.p99} ms) | ${fmt(three.accept.rate)} (p99 ${three.accept.p99} ms) | **${fmt(three.accept.rate / one.accept.rate, 2)}×** | ${fmt(one.healthz.rate)} / ${fmt(three.healthz.rate)} | ${one.accept.non2xx + three.accept.non2xx} |`,
  );
}
console.log(`\nCluster accepts on PostgreSQL + Redis, 48 connections in all, ${seconds} s each (everything on this 2-core machine: gateways, PostgreSQL, Redis, emulator, load)`);
console.log('| work notifications | one instance accepted/s | three instances accepted/s | three / one | GET /healthz req/s one / three | non-2xx or errors |');
console.log('|---|---|---|---|---|---|');
for (const r of rows) console.log(r);
console.log(`\nReproduce: npx tsx bench/cluster-accept.ts ${seconds}`);
