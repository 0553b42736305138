/**
 * How many calls a second the emulator answers on loopback, so later benchmarks know it is not their bottleneck.
 * Reproduce: npx tsx bench/emulator-throughput.ts [seconds]
 */
import autocannon from 'autocannon';
import { fmt, startProcess, stop, writeTempJson } from './lib.js';

const seconds = Number(process.argv[2] ?? 10);
const users = Array.from({ length: 100 }, (_, i) => ({ userid: `u${i}`, name: `User ${i}`, mobile: `1380000${String(i).padStart(4, '0')}` }));
const org = writeTempJson('org.json', {
  apps: [{ name: 'bench', appKey: 'dingbench', appSecret: 'bench-secret', agentId: 1 }],
  users,
  robots: [{ name: 'bench', accessToken: 'f'.repeat(64) }],
  // Quotas off: this measures the server, not DingTalk's limits.
  switches: { appQps: 0, robotPerMinute: 0, dailyUserCap: 1_000_000 },
});

const { child, url } = await startProcess(['emulator', '--port', '0', '--org', org]);
try {
  const token = (await (await fetch(`${url}/gettoken?appkey=dingbench&appsecret=bench-secret`)).json()).access_token as string;
  let n = 0;
  const run = (title: string, path: string, body: () => unknown) =>
    autocannon({
      url: `${url}${path}`,
      title,
      connections: 50,
      duration: seconds,
      requests: [{ method: 'POST', headers: { 'content-type': 'application/json' }, setupRequest: (req: any) => ({ ...req, body: JSON.stringify(body()) }) }],
    });
  const robot = await run('robot/send', `/robot/send?access_token=${'f'.repeat(64)}`, () => ({ msgtype: 'text', text: { content: `bench ${n++}` } }));
  const work = await run('asyncsend_v2', `/topapi/message/corpconversation/asyncsend_v2?access_token=${token}`, () => ({
    agent_id: 1,
    userid_list: `u${n % 100},u${(n + 1) % 100}`,
    msg: { msgtype: 'text', text: { content: `bench ${n++}` } },
  }));
  console.log(`\nDingTalk emulator throughput on loopback (50 connections, ${seconds} s each, separate process)`);
  console.log('| endpoint | calls/s (mean) | p50 ms | p99 ms | non-2xx | errors |');
  console.log('|---|---|---|---|---|---|');
  for (const r of [robot, work])
    console.log(`| ${r.title} | ${fmt(r.requests.average)} | ${r.latency.p50} | ${r.latency.p99} | ${r.non2xx} | ${r.errors} |`);
  console.log(`\nReproduce: npx tsx bench/emulator-throughput.ts ${seconds}`);
} finally {
  await stop(child);
}
