import http from 'node:http';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseOrg, startEmulator } from '@dingpush/emulator';
import { stringify } from 'yaml';
import { describe, expect, it } from 'vitest';
import { DingpushClient } from '../src/server.js';
import { API_KEY, gatewayConfig, org } from './helpers.js';
import { spawnDingpush } from './process.js';

type Outcome =
  | { kind: 'accepted'; seq: number; id: string }
  | { kind: 'shutting_down'; seq: number }
  | { kind: 'refused'; seq: number }
  | { kind: 'reset'; seq: number }
  | { kind: 'other'; seq: number; detail: string };

// Identical content to 300 different users: with mergeAcrossNotifications they go out 100 to a call, quickly.
const userOf = (seq: number) => `u${seq % 300}`;
const contentOf = (seq: number) => `burst ${Math.floor(seq / 300)}`;

/** One POST; what came back, classified. */
function post(url: string, seq: number, agent: http.Agent | false): Promise<Outcome> {
  const body = JSON.stringify({ to: { userIds: [userOf(seq)] }, message: { type: 'text', content: contentOf(seq) } });
  return new Promise((resolve) => {
    const req = http.request(
      `${url}/v1/notifications`,
      {
        method: 'POST',
        agent,
        headers: { authorization: `Bearer ${API_KEY}`, 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) },
      },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (d) => {
          text += d;
        });
        res.on('error', (err) => resolve({ kind: 'other', seq, detail: `response ${res.statusCode} cut: ${(err as NodeJS.ErrnoException).code ?? err.message}` }));
        res.on('end', () => {
          let json: any;
          try {
            json = JSON.parse(text);
          } catch {
            return resolve({ kind: 'other', seq, detail: `${res.statusCode} ${text}` });
          }
          if (res.statusCode === 202 && typeof json.id === 'string' && json.status === 'queued') return resolve({ kind: 'accepted', seq, id: json.id });
          const isApiError =
            res.statusCode === 503 &&
            json.error?.code === 'shutting_down' &&
            typeof json.error.message === 'string' &&
            Object.keys(json).length === 1 &&
            Object.keys(json.error).sort().join() === 'code,message';
          if (isApiError) return resolve({ kind: 'shutting_down', seq });
          resolve({ kind: 'other', seq, detail: `${res.statusCode} ${text}` });
        });
      },
    );
    req.on('error', (err) => {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ECONNREFUSED') return resolve({ kind: 'refused', seq });
      // A new connection reset before any answer is the listener closing on it (still in the kernel's backlog, or
      // accepted but not yet read): refused. A kept-alive connection cut under a request is not.
      if (code === 'ECONNRESET' && !req.reusedSocket) return resolve({ kind: 'reset', seq });
      resolve({ kind: 'other', seq, detail: `request error ${code ?? err.message} on a ${req.reusedSocket ? 'reused' : 'new'} connection` });
    });
    req.end(body);
  });
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('SIGTERM in the middle of a burst', () => {
  it('every POST is 202 (and delivered), 503 shutting_down in the API error object, or a refused connection; the process exits 0', async () => {
    const emu = await startEmulator({ org: parseOrg(org({ deliveryMs: 20 })), port: 0 });
    const dir = mkdtempSync(join(tmpdir(), 'dingpush-sigterm-'));
    const configFile = join(dir, 'dingpush.yaml');
    writeFileSync(configFile, stringify(gatewayConfig(emu.url, dir, {
      delivery: { pollMs: 50, backoffBaseMs: 50, backoffMaxMs: 300, leaseMs: 1_500, mergeAcrossNotifications: true },
      logLevel: 'warn',
    })));
    const keepAlive = new http.Agent({ keepAlive: true, maxSockets: 8 });
    try {
      const first = spawnDingpush(['serve', '--config', configFile]);
      const url = (await first.waitFor(/API:\s+(http:\/\/127\.0\.0\.1:\d+)/))[1]!;

      const outcomes: Outcome[] = [];
      let seq = 0;
      let exitedAt: number | undefined;
      void first.exited.then(() => {
        exitedAt = Date.now();
      });
      // Eight senders, half on kept-alive connections, half on a new connection each time, one POST after another,
      // until 300 ms after the process is gone.
      const senders = Array.from({ length: 8 }, async (_, k) => {
        const started = Date.now();
        while ((exitedAt === undefined || Date.now() - exitedAt < 300) && Date.now() - started < 30_000) {
          outcomes.push(await post(url, seq++, k % 2 === 0 ? keepAlive : false));
          await sleep(5);
        }
      });
      await sleep(400);
      const atSignal = outcomes.length;
      first.child.kill('SIGTERM');
      await Promise.all(senders);
      expect(await first.exited).toBe(0);
      expect(first.output()).toContain('SIGTERM: finishing what is in flight');

      const count = (kind: Outcome['kind']) => outcomes.filter((o) => o.kind === kind).length;
      const others = outcomes.filter((o): o is Extract<Outcome, { kind: 'other' }> => o.kind === 'other');
      console.info(
        `SIGTERM burst: ${outcomes.length} POSTs (${atSignal} before the signal): ${count('accepted')} accepted, ` +
          `${count('shutting_down')} shutting_down, ${count('refused')} refused, ${count('reset')} new connections reset unanswered, ${others.length} other`,
      );
      expect(others.map((o) => `#${o.seq}: ${o.detail}`)).toEqual([]);
      expect(count('accepted')).toBeGreaterThan(0);
      expect(count('refused')).toBeGreaterThan(0);

      // Everything answered 202 is delivered once, by the gateway restarted on the same SQLite file.
      const second = spawnDingpush(['serve', '--config', configFile]);
      try {
        const url2 = (await second.waitFor(/API:\s+(http:\/\/127\.0\.0\.1:\d+)/))[1]!;
        const api = new DingpushClient({ url: url2, apiKey: API_KEY });
        const accepted = outcomes.filter((o): o is Extract<Outcome, { kind: 'accepted' }> => o.kind === 'accepted');
        for (const o of accepted) {
          const n = await api.waitFor(o.id, { timeoutMs: 60_000, intervalMs: 200 });
          expect(['read', 'unread'], `burst ${o.seq}: ${JSON.stringify(n.deliveries)}`).toContain(n.deliveries![0]!.status);
          const inbox = (await (await fetch(`${emu.url}/_emulator/api/inbox/users/${userOf(o.seq)}`)).json()).messages as { message: { text: { content: string } } }[];
          expect(inbox.filter((m) => m.message.text.content === contentOf(o.seq))).toHaveLength(1);
        }
        // Nothing was stored that was not answered 202 (a reset connection hid no accept).
        const stored: string[] = [];
        for (let cursor: string | null = null; ; ) {
          const page = await api.list({ limit: 500, ...(cursor ? { cursor } : {}) });
          stored.push(...page.items.map((n) => n.id));
          cursor = page.nextCursor;
          if (!cursor) break;
        }
        expect(stored.sort()).toEqual(accepted.map((o) => o.id).sort());
      } finally {
        second.child.kill('SIGTERM');
        expect(await second.exited).toBe(0);
      }
    } finally {
      keepAlive.destroy();
      await emu.close();
    }
  }, 120_000);
});
