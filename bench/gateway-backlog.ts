/**
 * Backlog: 100 000 notifications queued behind a robot DingTalk lets through at 20 a minute. The queue lives in
 * SQLite, not in memory: RSS stays flat while it grows, and ingest keeps working.
 * Reproduce: npx tsx bench/gateway-backlog.ts [count]
 */
import autocannon from 'autocannon';
import { rssMiB, startBenchEnv } from './gateway-env.js';
import { fmt, stop } from './lib.js';

const count = Number(process.argv[2] ?? 100_000);
const env = await startBenchEnv();
const pid = env.gateway.child.pid!;
const depth = async () => ((await (await fetch(`${env.gateway.url}/readyz`)).json()) as { queueDepth: number }).queueDepth;
let n = 0;
const load = (amount: number | undefined, duration: number | undefined, body: () => unknown) =>
  autocannon({
    url: `${env.gateway.url}/v1/notifications`,
    connections: 50,
    ...(amount ? { amount } : {}),
    ...(duration ? { duration } : {}),
    requests: [{ method: 'POST', headers: env.headers, setupRequest: (req: any) => ({ ...req, body: JSON.stringify(body()) }) }],
  });
const robotMessage = () => ({ to: { robots: ['slow'] }, message: { type: 'text', content: `backlog ${n++}` } });
const workNotice = () => ({ to: { userIds: [`u${n % 1000}`] }, message: { type: 'text', content: `during backlog ${n++}` } });

try {
  const rows: string[] = [];
  const sample = async (label: string, extra = '') => rows.push(`| ${label} | ${fmt(await depth())} | ${fmt(rssMiB(pid))} MiB | ${extra} |`);
  await sample('idle');
  const empty = await load(undefined, 5, workNotice);
  await sample('after 5 s of work notifications, empty queue', `${fmt(empty.requests.average)} accepted/s`);
  const fill = await load(count, undefined, robotMessage);
  await sample(`after queueing ${fmt(count)} robot messages`, `${fmt(fill.requests.average)} accepted/s, ${fill.non2xx} non-2xx`);
  const during = await load(undefined, 5, workNotice);
  await sample('5 s of work notifications with the backlog', `${fmt(during.requests.average)} accepted/s, ${during.non2xx} non-2xx`);
  await new Promise((r) => setTimeout(r, 10_000));
  await sample('10 s later (dispatcher spreading the backlog)');
  const robotCalls = (await env.calls('/robot/send')).map((c) => c.errcode);
  console.log(`\nBacklog behind a throttled robot (20 a minute), SQLite, 50 connections`);
  console.log('| moment | send jobs queued | gateway RSS | ingest |');
  console.log('|---|---|---|---|');
  for (const r of rows) console.log(r);
  console.log(`\nRobot calls so far: ${robotCalls.length}, of which 130101: ${robotCalls.filter((c) => c === 130101).length}`);
  console.log(`Reproduce: npx tsx bench/gateway-backlog.ts ${count}`);
} finally {
  await stop(env.gateway.child);
  await stop(env.emulator.child);
}
