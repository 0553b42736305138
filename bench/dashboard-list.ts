/**
 * The dashboard's list endpoint over 100 000 notifications: the first page, a filtered page (status + destination) and
 * a `q=` text search, timed through HTTP (GET /v1/notifications), p50/p99 of each.
 * Notifications go in through the store's accept path in batches (no dispatcher runs: they stay queued).
 * Reproduce: npx tsx bench/dashboard-list.ts [count] [runs]
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseConfig, startGateway } from '../packages/gateway/src/server.js';
import { planNotification } from '../packages/gateway/src/notifications/plan.js';
import { notificationRequestSchema } from '../packages/gateway/src/notifications/request.js';

const count = Number(process.argv[2] ?? 100_000);
const runs = Number(process.argv[3] ?? 50);
const KEY = 'bench-key-0123456789abcdef';
const dir = mkdtempSync(join(tmpdir(), 'dingpush-bench-list-'));
const config = parseConfig({
  server: { host: '127.0.0.1', port: 0 },
  apiKeys: [{ name: 'bench', key: KEY }],
  store: { sqlite: join(dir, 'dingpush.db') },
  dingtalk: { oapiBaseUrl: 'http://127.0.0.1:9', apiBaseUrl: 'http://127.0.0.1:9' },
  apps: [{ name: 'main', appKey: 'dingbench', appSecret: 'bench-secret-000', agentId: 1, robotCode: 'dingbench' }],
  robots: [
    { name: 'ops', webhook: `http://127.0.0.1:9/robot/send?access_token=${'e'.repeat(64)}` },
    { name: 'alerts', webhook: `http://127.0.0.1:9/robot/send?access_token=${'f'.repeat(64)}` },
  ],
  logLevel: 'silent',
});
const gw = await startGateway(config, { dispatch: false });
const words = ['deploy', 'disk', 'cpu', 'memory', 'backup', 'login', 'payment', 'report'];
const t0 = performance.now();
for (let i = 0; i < count; i += 1000) {
  await Promise.all(
    Array.from({ length: Math.min(1000, count - i) }, (_, j) => {
      const n = i + j;
      const request = notificationRequestSchema.parse({
        to: n % 3 === 0 ? { robots: [n % 2 ? 'ops' : 'alerts'] } : { userIds: [`u${n % 500}`] },
        message: { type: 'markdown', title: `${words[n % words.length]} ${n}`, text: `host web-${n % 97} ${words[(n * 7) % words.length]} at ${n}` },
      });
      return gw.store.accept(planNotification(request, config, { name: 'bench' }, Date.now()));
    }),
  );
}
console.log(`inserted ${count} notifications in ${((performance.now() - t0) / 1000).toFixed(1)} s`);

const time = async (label: string, qs: string) => {
  const ms: number[] = [];
  let items = 0;
  for (let r = 0; r < runs; r++) {
    const s = performance.now();
    const res = await fetch(`${gw.url}/v1/notifications?${qs}`, { headers: { authorization: `Bearer ${KEY}` } });
    items = ((await res.json()) as { items: unknown[] }).items.length;
    ms.push(performance.now() - s);
  }
  ms.sort((a, b) => a - b);
  const p = (q: number) => ms[Math.min(ms.length - 1, Math.floor(q * ms.length))]!.toFixed(1);
  console.log(`${label.padEnd(44)} p50 ${p(0.5)} ms  p99 ${p(0.99)} ms  (${items} items)`);
};
await time('first page (limit 50)', 'limit=50');
await time('filtered: status=queued&destination=ops', 'status=queued&destination=ops&limit=50');
await time('filtered: channel=work_notice', 'channel=work_notice&limit=50');
await time('text search q=backup', 'q=backup&limit=50');
await time('text search, rare: q=99999', 'q=99999&limit=50');
await gw.close();
console.log(`Reproduce: npx tsx bench/dashboard-list.ts ${count} ${runs}`);
