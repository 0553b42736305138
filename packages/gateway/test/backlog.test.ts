import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseOrg, type RunningEmulator, startEmulator } from '@dingpush/emulator';
import { stringify } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DingpushClient } from '../src/server.js';
import { API_KEY, gatewayConfig, org, text, useGateway , busiestMinute, type EmulatorCall } from './helpers.js';
import { type Spawned, spawnDingpush } from './process.js';

type Call = EmulatorCall;
const robotCalls = (calls: Call[], robot: string) => calls.filter((c) => c.path === '/robot/send' && c.robot === robot);

describe('pacing by reservation: a robot backlog', () => {
  // One message a slot, in order (digest: false), the whole minute for them (no reserve for urgent ones).
  const env = useGateway({
    config: { delivery: { pollMs: 20, backoffBaseMs: 50, backoffMaxMs: 300, robotReserve: 0 } },
    configure: (c) => {
      for (const r of c.robots ?? []) r.digest = false;
    },
  });

  it('200 messages to one robot are delivered in the order they were accepted, never more than 20 in a minute, none refused', async () => {
    const accepted: string[] = [];
    for (let i = 0; i < 200; i++) {
      await env.api.send({ to: { robots: ['ops'] }, message: text(`backlog ${String(i).padStart(3, '0')}`) });
      accepted.push(`backlog ${String(i).padStart(3, '0')}`);
    }
    const arrived = async () => (await env.inbox('robots', 'ops')).map((m) => m.message.text.content as string).filter((c) => c.startsWith('backlog '));
    let firstSlot = 0;
    for (let window = 1; window <= 10; window++) {
      await expect.poll(async () => (await arrived()).length, { timeout: 10_000, interval: 50 }).toBe(20 * window);
      if (window === 1) firstSlot = robotCalls(await env.calls(), 'ops')[0]!.time;
      // Nothing more goes until the minute has passed.
      await new Promise((r) => setTimeout(r, 150));
      expect((await arrived()).length).toBe(20 * window);
      // The clock moves to when the next twenty's slots are due (as real time would), not past them.
      if (window < 10) await env.advance(firstSlot + window * 62_001 + 20 - env.now());
    }
    expect(await arrived()).toEqual(accepted);
    const calls = robotCalls(await env.calls(), 'ops');
    expect(calls.filter((c) => c.errcode !== 0)).toEqual([]);
    expect(busiestMinute(calls)).toBe(20);
  }, 120_000);
});

/** Gateways in processes of their own on one SQLite file: the robot's window lives in the store, not in a process. */
describe('robot windows survive a restart and are shared by a second process', () => {
  let emu: RunningEmulator;
  let dir: string;
  let configFile: string;
  const running: Spawned[] = [];
  beforeAll(async () => {
    emu = await startEmulator({ org: parseOrg(org({ deliveryMs: 20 })), port: 0 });
    dir = mkdtempSync(join(tmpdir(), 'dingpush-restart-'));
    configFile = join(dir, 'dingpush.yaml');
    const config = gatewayConfig(emu.url, dir, { delivery: { pollMs: 20, leaseMs: 1_000, robotReserve: 0 }, logLevel: 'warn' });
    for (const r of config.robots ?? []) r.digest = false;
    writeFileSync(configFile, stringify(config));
  });
  afterAll(async () => {
    for (const p of running) if (p.child.exitCode === null) p.child.kill('SIGKILL');
    await emu.close();
  });
  const start = async () => {
    const p = spawnDingpush(['serve', '--config', configFile]);
    running.push(p);
    const url = (await p.waitFor(/API:\s+(http:\/\/127\.0\.0\.1:\d+)/))[1]!;
    return { p, api: new DingpushClient({ url, apiKey: API_KEY }) };
  };
  const calls = async (): Promise<Call[]> => robotCalls((await (await fetch(`${emu.url}/_emulator/api/calls`)).json()).calls, 'alerts');

  it('killed in the middle of a backlog, the next process makes no call over the quota', async () => {
    const first = await start();
    const ids = [];
    for (let i = 0; i < 30; i++) ids.push((await first.api.send({ to: { robots: ['alerts'] }, message: text(`告警 restart ${i}`) })).id);
    await expect.poll(async () => (await calls()).length, { timeout: 10_000, interval: 50 }).toBe(20);
    first.p.child.kill('SIGKILL');
    await first.p.exited;
    const second = await start();
    // The window is full for the next minute: the new process waits for it instead of starting from an empty one.
    await new Promise((r) => setTimeout(r, 2_500));
    expect((await calls()).length).toBe(20);
    expect((await calls()).filter((c) => c.errcode !== 0)).toEqual([]);
    const waiting = await second.api.get(ids[29]!);
    expect(waiting.deliveries![0]).toMatchObject({ status: 'queued', reason: expect.stringContaining('20-a-minute') });
    // A second process on the same file shares the window too.
    const third = await start();
    for (let i = 0; i < 5; i++) await third.api.send({ to: { robots: ['alerts'] }, message: text(`告警 second process ${i}`) });
    await new Promise((r) => setTimeout(r, 2_000));
    expect((await calls()).length).toBe(20);
    expect((await calls()).filter((c) => c.errcode !== 0)).toEqual([]);
    for (const p of [second.p, third.p]) p.child.kill('SIGTERM');
    expect(await second.p.exited).toBe(0);
    expect(await third.p.exited).toBe(0);
  }, 60_000);
});
