/**
 * How close a gateway's sends to one app come to the rate its call quota allows (delivery.appCallsPerSecond, 16 by
 * default; DingTalk's limit is 20 a second per app and API): N work notifications to N people accepted at once, then
 * the rate of asyncsend_v2 calls the emulator saw, from the first to the last. One gateway process, on SQLite and on
 * PostgreSQL (a fresh schema), optionally beside an earlier build in the same run.
 * Reproduce: npx tsx bench/dispatch-rate.ts [count] [earlier build's packages/gateway/bin/dingpush.js]
 */
import pg from 'pg';
import { startBenchEnv } from './gateway-env.js';
import { fmt, stop } from './lib.js';

const count = Number(process.argv[2] ?? 600);
const before = process.argv[3];
const PG_URL = process.env.DINGPUSH_BENCH_POSTGRES ?? 'postgres://postgres@127.0.0.1:5432/test';
const SEND = '/topapi/message/corpconversation/asyncsend_v2';

async function measure(bin: string | undefined, store: 'sqlite' | 'postgres') {
  const schema = `bench_rate_${process.pid}_${Date.now()}`;
  const env = await startBenchEnv({
    users: count,
    ...(bin ? { bin } : {}),
    ...(store === 'postgres' ? { store: { postgres: PG_URL, schema } } : {}),
  });
  try {
    await Promise.all(Array.from({ length: count }, (_, i) => env.send({ to: { userIds: [`u${i}`] }, message: { type: 'text', content: `rate ${i}` } })));
    const deadline = Date.now() + 10 * 60_000;
    let calls = await env.calls(SEND);
    while (calls.length < count && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 500));
      calls = await env.calls(SEND);
    }
    const times = calls.map((c) => c.receivedAt).sort((a, b) => a - b);
    const perSecond = (times.length - 1) / ((times[times.length - 1]! - times[0]!) / 1000);
    const refused = calls.filter((c) => c.errcode !== 0);
    const codes = [...new Set(refused.map((c) => String(c.errcode)))].join(', ');
    return { calls: times.length, perSecond, refused: refused.length ? `${refused.length} (${codes})` : '0' };
  } finally {
    await stop(env.gateway.child);
    await stop(env.emulator.child);
    if (store === 'postgres') {
      const c = new pg.Client({ connectionString: PG_URL });
      await c.connect();
      await c.query(`drop schema if exists "${schema}" cascade`);
      await c.end();
    }
  }
}

const builds = before ? [{ name: 'earlier build', bin: before }, { name: 'this build', bin: undefined }] : [{ name: 'this build', bin: undefined }];
const rows: string[] = [];
for (const store of ['sqlite', 'postgres'] as const) {
  for (const build of builds) {
    const m = await measure(build.bin, store);
    rows.push(`| ${store} | ${build.name} | ${m.calls} | ${fmt(m.perSecond, 1)} | **${fmt((m.perSecond / 16) * 100)}%** | ${m.refused} |`);
  }
}
console.log(`\nSends to one app: ${count} work notifications to ${count} people accepted at once, one gateway process (2-core machine)`);
console.log('| store | build | asyncsend_v2 calls | calls/s | share of the 16/s pace | refused (codes) |');
console.log('|---|---|---|---|---|---|');
for (const r of rows) console.log(r);
console.log(`\nReproduce: npx tsx bench/dispatch-rate.ts ${count}${before ? ' <earlier build>/packages/gateway/bin/dingpush.js' : ''}`);
