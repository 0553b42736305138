/**
 * Efficiency: DingTalk API calls per delivered notification, 1 000 users, identical content, mobiles as the address
 * (as alerting systems have them). The gateway (mobiles already cached), by default and with
 * delivery.mergeAcrossNotifications, against the usual script, in the same run.
 * Reproduce: npx tsx bench/gateway-efficiency.ts [count]
 *
 * Cold mode: N notifications of one mobile each to mobiles the gateway has never seen (a fresh gateway, empty cache),
 * without and with a directory sync first: the calls spent on finding who a mobile is, per notification.
 * Reproduce: npx tsx bench/gateway-efficiency.ts cold [count]
 */
import { APP, startBenchEnv } from './gateway-env.js';
import { fmt, stop } from './lib.js';
import { NaiveClient } from './naive-client.js';

const cold = process.argv[2] === 'cold';
const count = Number(process.argv[cold ? 3 : 2] ?? 1000);
const mobiles = Array.from({ length: count }, (_, i) => `139${String(i).padStart(8, '0')}`);
type Env = Awaited<ReturnType<typeof startBenchEnv>>;
const rows: { name: string; calls: number; ms: number; delivered: number }[] = [];

/** One gateway configuration: N notifications of one mobile each, then one notification to N mobiles. */
async function measure(label: string, delivery: Record<string, unknown>): Promise<Env> {
  const env = await startBenchEnv({ users: count, delivery });
  const callCount = async () => (await env.calls()).length;
  const waitAll = async (ids: string[]) => {
    for (const id of ids) {
      for (;;) {
        const n = await env.status(id);
        if (n.status === 'completed') break;
        await new Promise((r) => setTimeout(r, 100));
      }
    }
  };
  // Warm the gateway's mobile → userid cache, as after its first day of work.
  await waitAll([await env.send({ to: { mobiles }, message: { type: 'text', content: 'warm-up' } })]);
  let before = await callCount();
  let started = performance.now();
  const ids: string[] = [];
  await pool(count, 50, async (i) => {
    ids.push(await env.send({ to: { mobiles: [mobiles[i]!] }, message: { type: 'text', content: '服务器 web-01 CPU 95%' } }));
  });
  await waitAll(ids);
  rows.push({ name: `gateway${label}: ${count} notifications of one mobile each`, calls: (await callCount()) - before, ms: performance.now() - started, delivered: count });
  before = await callCount();
  started = performance.now();
  await waitAll([await env.send({ to: { mobiles }, message: { type: 'text', content: '季度报告已生成' } })]);
  rows.push({ name: `gateway${label}: 1 notification to ${count} mobiles`, calls: (await callCount()) - before, ms: performance.now() - started, delivered: count });
  return env;
}

async function pool(n: number, width: number, work: (i: number) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: width }, async () => {
      while (next < n) await work(next++);
    }),
  );
}

const LOOKUPS = new Set(['/topapi/v2/user/getbymobile', '/user/get_by_mobile']);
const SYNC_CALLS = new Set(['/topapi/v2/user/list', '/topapi/v2/department/listsubid']);

/** Cold mobiles, one notification each, on a fresh gateway: lookups (and a sync's listing calls) per notification. */
async function measureCold(withDirectory: boolean) {
  const env = await startBenchEnv({ users: count });
  try {
    const started = performance.now();
    if (withDirectory) {
      const res = await fetch(`${env.gateway.url}/v1/directory/sync`, { method: 'POST', headers: env.headers, body: '{}' });
      if (res.status !== 200) throw new Error(`sync: HTTP ${res.status} ${await res.text()}`);
    }
    const ids: string[] = [];
    await pool(count, 50, async (i) => {
      ids.push(await env.send({ to: { mobiles: [mobiles[i]!] }, message: { type: 'text', content: `cold ${i}` } }));
    });
    for (const id of ids) {
      for (;;) {
        const n = await env.status(id);
        if (n.status === 'completed') break;
        await new Promise((r) => setTimeout(r, 100));
      }
    }
    const ms = performance.now() - started;
    const calls = (await env.calls()).filter((c) => c.path !== '/v1.0/oauth2/accessToken' && c.path !== '/gettoken');
    const lookups = calls.filter((c) => LOOKUPS.has(c.path)).length;
    const listing = calls.filter((c) => SYNC_CALLS.has(c.path)).length;
    return { lookups, listing, total: calls.length, ms };
  } finally {
    await stop(env.gateway.child);
    await stop(env.emulator.child);
  }
}

if (cold) {
  const without = await measureCold(false);
  const withDir = await measureCold(true);
  console.log(`\nCold mobiles: ${count} notifications of one mobile each, ${count} users in the org, a fresh gateway (empty cache)`);
  console.log('| gateway | lookups (getbymobile) | directory listing calls | resolution calls per notification | all calls per notification | wall time |');
  console.log('|---|---|---|---|---|---|');
  for (const [name, r] of [
    ['no directory (per-mobile lookups)', without],
    ['directory synced first (POST /v1/directory/sync)', withDir],
  ] as const)
    console.log(`| ${name} | ${fmt(r.lookups)} | ${fmt(r.listing)} | ${fmt((r.lookups + r.listing) / count, 3)} | ${fmt(r.total / count, 3)} | ${fmt(r.ms)} ms |`);
  console.log('\nAll calls include each notification\'s send and its tracking look (getsendresult); token fetches are left out.');
  console.log(`Reproduce: npx tsx bench/gateway-efficiency.ts cold ${count}`);
  process.exit(0);
}

const merging = await measure(' merging identical content (mergeAcrossNotifications)', { mergeAcrossNotifications: true });
await stop(merging.gateway.child);
await stop(merging.emulator.child);
const env = await measure(' (default: a recall takes back exactly one notification)', {});
const callCount = async () => (await env.calls()).length;
try {
  const before = await callCount();
  const started = performance.now();
  const naive = new NaiveClient(env.emulator.url, APP);
  for (let i = 0; i < count; i++) await naive.sendWorkNotice({ mobile: mobiles[i]! }, '服务器 web-02 CPU 95%');
  rows.push({ name: 'naive script: token + lookup + send per message', calls: (await callCount()) - before, ms: performance.now() - started, delivered: count - naive.failures });

  // The naive script's best case is 3 calls a message; it loses messages to 90018 ("too fast") on top.
  const naivePerMessage = rows[rows.length - 1]!.calls / count;
  console.log(`\nDingTalk API calls per notification, ${count} users, identical content, mobiles cached (emulator in its own process)`);
  console.log('| sender | API calls | per notification | fewer calls than naive | delivered | wall time |');
  console.log('|---|---|---|---|---|---|');
  for (const r of rows)
    console.log(`| ${r.name} | ${fmt(r.calls)} | ${fmt(r.calls / count, 3)} | ${fmt(naivePerMessage / (r.calls / count), 1)}× | ${fmt(r.delivered)} of ${fmt(count)} | ${fmt(r.ms)} ms |`);
  console.log('\nGateway calls include tracking every send to a per-recipient outcome (getsendresult); the naive script tracks nothing');
  console.log('and loses what DingTalk refuses with 90018 (20 calls/s per API), as such scripts do.');
  console.log(`Reproduce: npx tsx bench/gateway-efficiency.ts ${count}`);
} finally {
  await stop(env.gateway.child);
  await stop(env.emulator.child);
}
