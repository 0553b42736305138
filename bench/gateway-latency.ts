/**
 * Latency with an idle queue: from the sender's POST to the DingTalk call (as the emulator receives it), one
 * notification at a time, each with its own content (nothing to merge or wait for).
 * Reproduce: npx tsx bench/gateway-latency.ts [samples]
 */
import { startBenchEnv } from './gateway-env.js';
import { fmt, stop } from './lib.js';

const samples = Number(process.argv[2] ?? 300);
const env = await startBenchEnv();
const SEND = '/topapi/message/corpconversation/asyncsend_v2';
const now = () => performance.timeOrigin + performance.now();
const pct = (xs: number[], p: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor((p / 100) * xs.length))]!;

try {
  const toCall: number[] = [];
  const toAccept: number[] = [];
  let calls = (await env.calls(SEND)).length;
  // Warm-up: token, connections, JIT.
  for (let i = 0; i < 20; i++) await env.send({ to: { userIds: [`u${i}`] }, message: { type: 'text', content: `warm ${i}` } });
  await new Promise((r) => setTimeout(r, 1500));
  calls = (await env.calls(SEND)).length;
  for (let i = 0; i < samples; i++) {
    const started = now();
    await env.send({ to: { userIds: [`u${i % 1000}`] }, message: { type: 'text', content: `latency ${i}` } });
    toAccept.push(now() - started);
    for (;;) {
      const list = await env.calls(SEND);
      if (list.length > calls) {
        calls = list.length;
        toCall.push(list[list.length - 1]!.receivedAt - started);
        break;
      }
      await new Promise((r) => setTimeout(r, 2));
    }
    // Stay under the 18 calls/s pacing so the queue is idle for every sample.
    await new Promise((r) => setTimeout(r, 60));
  }
  console.log(`\nIdle-queue latency, ${samples} notifications one at a time (gateway and emulator in separate processes)`);
  console.log('| interval | p50 ms | p90 ms | p99 ms | max ms |');
  console.log('|---|---|---|---|---|');
  for (const [name, xs] of [['POST → 202 accepted (stored)', toAccept], ['POST → DingTalk asyncsend_v2 call', toCall]] as const)
    console.log(`| ${name} | ${fmt(pct(xs, 50), 1)} | ${fmt(pct(xs, 90), 1)} | ${fmt(pct(xs, 99), 1)} | ${fmt(Math.max(...xs), 1)} |`);
  console.log(`\nReproduce: npx tsx bench/gateway-latency.ts ${samples}`);
} finally {
  await stop(env.gateway.child);
  await stop(env.emulator.child);
}
