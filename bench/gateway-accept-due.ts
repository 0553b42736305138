/**
 * Accepts while the dispatcher has work: notifications accepted per second as a share of `GET /healthz` on the same
 * server, for work that is due later (the dispatcher idle), work notifications due now (the app's call quota makes a
 * backlog at once) and robot messages due now (the robot's 20 a minute), each in a gateway of its own (single
 * process, SQLite, synchronous=FULL, 50 connections); optionally beside an earlier build, in the same run.
 * Reproduce: npx tsx bench/gateway-accept-due.ts [seconds] [earlier build's packages/gateway/bin/dingpush.js]
 */
import autocannon from 'autocannon';
import { startBenchEnv } from './gateway-env.js';
import { fmt, stop } from './lib.js';

const seconds = Number(process.argv[2] ?? 10);
const before = process.argv[3];
let n = 0;
const tomorrow = () => new Date(Date.now() + 86_400_000).toISOString();
const kinds = {
  'work notices due later': () => ({ to: { userIds: [`u${n % 1000}`] }, message: { type: 'text', content: `later ${n++}` }, sendAt: tomorrow() }),
  'work notices due now': () => ({ to: { userIds: [`u${n % 1000}`] }, message: { type: 'text', content: `work ${n++}` } }),
  'robot messages due now': () => ({ to: { robots: ['slow'] }, message: { type: 'text', content: `robot ${n++}` } }),
} as const;

async function measure(bin: string | undefined, body: () => unknown) {
  const env = await startBenchEnv({ ...(bin ? { bin } : {}) });
  try {
    const run = (method: 'GET' | 'POST', path: string) =>
      autocannon({
        url: `${env.gateway.url}${path}`,
        connections: 50,
        duration: seconds,
        requests: [method === 'GET' ? { method } : { method, headers: env.headers, setupRequest: (req: any) => ({ ...req, body: JSON.stringify(body()) }) }],
      });
    await run('GET', '/healthz'); // warm-up
    const healthz = await run('GET', '/healthz');
    const accept = await run('POST', '/v1/notifications');
    // The accepted work is stored: the gateway answered 202 for each (non-2xx would count refusals or errors).
    return { healthz: healthz.requests.average, accepted: accept.requests.average, p99: accept.latency.p99, non2xx: accept.non2xx + accept.errors };
  } finally {
    await stop(env.gateway.child);
    await stop(env.emulator.child);
  }
}

const builds = before ? [{ name: 'earlier build', bin: before }, { name: 'this build', bin: undefined }] : [{ name: 'this build', bin: undefined }];
const rows: string[] = [];
for (const [kind, body] of Object.entries(kinds)) {
  for (const build of builds) {
    const m = await measure(build.bin, body);
    rows.push(`| ${kind} | ${build.name} | ${fmt(m.healthz)} | ${fmt(m.accepted)} | **${fmt((m.accepted / m.healthz) * 100, 1)}%** | ${m.p99} | ${m.non2xx} |`);
  }
}
console.log(`\nAccepts beside a busy dispatcher: single process, SQLite synchronous=FULL, 50 connections, ${seconds} s each (autocannon on the same 2-core machine)`);
console.log('| accepted | build | GET /healthz req/s | accepted/s | share of /healthz | accept p99 ms | non-2xx or errors |');
console.log('|---|---|---|---|---|---|---|');
for (const r of rows) console.log(r);
console.log(`\nReproduce: npx tsx bench/gateway-accept-due.ts ${seconds}${before ? ' <earlier build>/packages/gateway/bin/dingpush.js' : ''}`);
