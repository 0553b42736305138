/**
 * The dingpush client against the usual script, sending the same 1 000 work notifications to the emulator.
 * Reproduce: npx tsx bench/client-vs-naive.ts [count]
 */
import { DingTalkApp } from '@dingpush/dingtalk';
import { fmt, startProcess, stop, writeTempJson } from './lib.js';
import { NaiveClient } from './naive-client.js';

const count = Number(process.argv[2] ?? 1000);
const APP = { name: 'bench', appKey: 'dingbench', appSecret: 'bench-secret', agentId: 1 };
const users = Array.from({ length: count }, (_, i) => ({ userid: `u${i}`, name: `User ${i}`, mobile: `139${String(i).padStart(8, '0')}` }));
const org = writeTempJson('org.json', { apps: [APP], users, switches: { appQps: 0, deliveryMs: 0 } });
const { child, url } = await startProcess(['emulator', '--port', '0', '--org', org]);

const apiCalls = async () => {
  const { calls } = await (await fetch(`${url}/_emulator/api/calls`)).json();
  await fetch(`${url}/_emulator/api/reset`, { method: 'POST' });
  return calls.length as number;
};
const concurrency = 10;
async function pool(n: number, work: (i: number) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(Array.from({ length: concurrency }, async () => {
    while (next < n) await work(next++);
  }));
}

type Row = { name: string; calls: number; ms: number };
const rows: Row[] = [];
async function measure(name: string, run: () => Promise<void>): Promise<void> {
  await apiCalls();
  const started = performance.now();
  await run();
  const ms = performance.now() - started;
  rows.push({ name, calls: await apiCalls(), ms });
}

try {
  await measure('naive script (token + connection per message)', async () => {
    const naive = new NaiveClient(url, APP);
    await pool(count, (i) => naive.sendWorkNotice({ userid: `u${i}` }, `Report #${i}`));
  });
  await measure('dingpush client, one call per notification', async () => {
    const app = new DingTalkApp(APP, { oapiBaseUrl: url, apiBaseUrl: url });
    await pool(count, async (i) => {
      await app.sendWorkNoticeOnce({ userIds: [`u${i}`] }, { type: 'text', content: `Report #${i}` });
    });
    await app.close();
  });
  await measure('dingpush client, identical content batched (100 userids a call)', async () => {
    const app = new DingTalkApp(APP, { oapiBaseUrl: url, apiBaseUrl: url });
    await app.sendWorkNotice({ userIds: users.map((u) => u.userid) }, { type: 'text', content: 'Same report for everyone' });
    await app.close();
  });
  const base = rows[0]!;
  console.log(`\n${count} work notifications to the DingTalk emulator (separate process, ${concurrency} in parallel)`);
  console.log('| sender | DingTalk API calls | wall time | calls vs naive | time vs naive |');
  console.log('|---|---|---|---|---|');
  for (const r of rows)
    console.log(`| ${r.name} | ${fmt(r.calls)} | ${fmt(r.ms)} ms | ${fmt(base.calls / r.calls, 1)}× fewer | ${fmt(base.ms / r.ms, 1)}× faster |`);
  console.log(`\nReproduce: npx tsx bench/client-vs-naive.ts ${count}`);
} finally {
  await stop(child);
}
