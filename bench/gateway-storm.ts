/**
 * An alert storm against one robot: N distinct Alertmanager alerts posted to /dingtalk/<target>/send within 10 s,
 * with storm digests (the default) and with `digest: false`, side by side in one run. Measured: the time until the
 * last alert is visible in the robot's group, robot calls, the busiest minute, rate-limit refusals.
 *
 * Time here is the gateway's and the emulator's shared clock, moved forward in 1 s steps whenever the gateway has
 * nothing due sooner (both run in this process): the figure is what the quota allows, not this machine's speed, and
 * a 15-minute backlog takes seconds to measure.
 * Reproduce: npx tsx bench/gateway-storm.ts [alerts]
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseOrg, startEmulator } from '@dingpush/emulator';
import { parseConfig, startGateway } from '../packages/gateway/src/server.js';
import { fmt } from './lib.js';

const count = Number(process.argv[2] ?? 300);
const TOKEN = 'b'.repeat(64);
const KEY = 'bench-key-0123456789abcdef';

interface Call {
  time: number;
  path: string;
  errcode?: number | string;
}

async function storm(digest: boolean) {
  const emu = await startEmulator({ org: parseOrg({ apps: [], users: [], robots: [{ name: 'ops', accessToken: TOKEN }], switches: { deliveryMs: 0 } }), port: 0 });
  let offset = 0;
  const now = () => Date.now() + offset;
  const gw = await startGateway(
    parseConfig({
      server: { port: 0 },
      apiKeys: [{ name: 'bench', key: KEY }],
      store: { sqlite: join(mkdtempSync(join(tmpdir(), 'dingpush-storm-')), 'dingpush.db') },
      dingtalk: { oapiBaseUrl: emu.url, apiBaseUrl: emu.url },
      robots: [{ name: 'ops', webhook: `${emu.url}/robot/send?access_token=${TOKEN}`, digest }],
      targets: [{ name: 'storm', to: { robots: ['ops'] } }],
      delivery: { pollMs: 20 },
      logLevel: 'silent',
    }),
    { now },
  );
  const advance = async (ms: number) => {
    offset += ms;
    await fetch(`${emu.url}/_emulator/api/clock`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ advanceMs: ms }) });
    gw.runtime.wake();
  };
  const alert = (i: number) => {
    const name = `Storm${String(i).padStart(4, '0')}`;
    return {
      version: '4',
      groupKey: `{}:{alertname="${name}"}`,
      status: 'firing',
      receiver: 'dingpush',
      groupLabels: { alertname: name },
      commonLabels: { alertname: name, severity: 'warning' },
      commonAnnotations: {},
      externalURL: 'http://alertmanager.example.com:9093',
      alerts: [{ status: 'firing', labels: { alertname: name, severity: 'warning', instance: `web-${i % 40}` }, annotations: { summary: `disk ${50 + (i % 50)}% full` }, startsAt: new Date(now()).toISOString(), endsAt: '0001-01-01T00:00:00Z', generatorURL: 'http://prometheus.example.com/graph', fingerprint: name }],
    };
  };
  try {
    const start = now();
    const perSecond = Math.ceil(count / 10);
    for (let s = 0; s < 10; s++) {
      await Promise.all(
        Array.from({ length: Math.min(perSecond, count - s * perSecond) }, (_, k) =>
          fetch(`${gw.url}/dingtalk/storm/send`, { method: 'POST', headers: { authorization: `Bearer ${KEY}`, 'content-type': 'application/json' }, body: JSON.stringify(alert(s * perSecond + k)) }).then((r) => {
            if (r.status !== 200) throw new Error(`HTTP ${r.status}`);
          }),
        ),
      );
      await advance(1_000);
    }
    const names = Array.from({ length: count }, (_, i) => `Storm${String(i).padStart(4, '0')}`);
    let lastVisibleAt = 0;
    for (;;) {
      const inbox = (await (await fetch(`${emu.url}/_emulator/api/inbox/robots/ops`)).json()).messages as { deliveredAt: number; message: unknown }[];
      const text = inbox.map((m) => JSON.stringify(m.message)).join('\n');
      if (names.every((n) => text.includes(n))) {
        lastVisibleAt = Math.max(...inbox.map((m) => m.deliveredAt));
        break;
      }
      if (now() - start > 3 * 3_600_000) throw new Error('not all visible after 3 hours');
      // Let the gateway work on what is due, then move the clock on (a second at a time: slots are never skipped).
      await new Promise((r) => setTimeout(r, 25));
      const next = await gw.store.nextDue();
      if (next === null || next > now()) await advance(1_000);
    }
    const calls = ((await (await fetch(`${emu.url}/_emulator/api/calls?path=%2Frobot%2Fsend`)).json()).calls as Call[]).filter((c) => c.time >= start);
    const busiest = Math.max(...calls.map((c) => calls.filter((x) => x.time > c.time - 60_000 && x.time <= c.time).length));
    return { seconds: (lastVisibleAt - start) / 1000, calls: calls.length, busiest, refused: calls.filter((c) => c.errcode !== 0).length };
  } finally {
    await gw.close();
    await emu.close();
  }
}

const withDigest = await storm(true);
const separate = await storm(false);
console.log(`\nAn alert storm: ${count} distinct alerts to one robot within 10 s (Alertmanager webhook → /dingtalk/<target>/send)`);
console.log('| robot | last alert visible after | robot calls | busiest minute | refused (130101) |');
console.log('|---|---|---|---|---|');
for (const [name, r] of [['storm digests (default)', withDigest], ['digest: false', separate]] as const)
  console.log(`| ${name} | ${fmt(r.seconds, 1)} s | ${r.calls} | ${r.busiest} | ${r.refused} |`);
console.log(`\ndigest: false takes ${fmt(separate.seconds / withDigest.seconds, 1)}× as long to show the last alert, with ${fmt(separate.calls / withDigest.calls, 1)}× the calls.`);
console.log(`Reproduce: npx tsx bench/gateway-storm.ts ${count}`);
process.exit(0);
