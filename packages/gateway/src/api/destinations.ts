import { shanghaiDay } from '../dispatch/day.js';
import type { PaceRule, WindowState } from '../dispatch/pacer.js';
import type { Runtime } from '../dispatch/runtime.js';
import { adviceFor } from '../domain/dingtalk-reason.js';
import type { RecentAttempt } from '../store/dashboard.js';

/**
 * GET /v1/destinations: the health of each robot and app, from what the store already holds — send jobs waiting (the
 * queue), the pacer's windows (quota in use, DingTalk's blocks), the latest calls to DingTalk (last success, last error
 * with the error table's meaning and what to do), and the per-user daily counters. Names only: never a webhook, token
 * or secret.
 */

/** How far back, and how many calls, the last success and last error are looked for in. */
const RECENT_MS = 24 * 3_600_000;
const RECENT_CALLS = 2_000;
/** Users at or above this share of delivery.perUserPerDay are listed as near their cap. */
const NEAR_CAP = 0.8;

const iso = (ms: number | null | undefined) => (ms ? new Date(ms).toISOString() : null);

/** Reserved weight in the window that holds `now` (slots reserved ahead count: they are spent). */
function inUse(state: WindowState, rule: PaceRule, now: number) {
  const used = state.log.filter(([t]) => t > now - rule.windowMs).reduce((s, [, w]) => s + w, 0);
  return { used, limit: rule.limit, windowMs: rule.windowMs };
}

function lastCalls(attempts: RecentAttempt[], match: (a: RecentAttempt) => boolean) {
  // Newest first: the first success and the first failure found are the latest ones.
  const ok = attempts.find((a) => match(a) && a.outcome === 'ok');
  const bad = attempts.find((a) => match(a) && a.outcome !== 'ok');
  let lastError = null;
  if (bad) {
    const code = bad.code ?? 'network';
    const info = adviceFor(code, bad.message ?? '');
    lastError = { at: iso(bad.at)!, code, message: bad.message ?? '', meaning: info.meaning, whatToDo: { en: info.todo.en, zh: info.todo.zh }, outcome: bad.outcome };
  }
  return { lastSuccessAt: iso(ok?.at), lastError };
}

export async function destinationsView(rt: Runtime, only: { apps?: string[]; robots?: string[] }) {
  const now = rt.now();
  const [queues, attempts] = await Promise.all([rt.store.destinationQueues(), rt.store.recentAttempts(now - RECENT_MS, RECENT_CALLS)]);
  const queueOf = (channel: string, destination: string) => {
    const q = queues.find((r) => r.channel === channel && r.destination === destination);
    return { depth: q?.depth ?? 0, oldestAgeMs: q?.oldestCreatedAt ? Math.max(0, now - q.oldestCreatedAt) : 0 };
  };

  const robots = [...rt.robots.values()].filter((r) => !only.robots || only.robots.includes(r.name));
  const apps = [...rt.apps.values()].filter((a) => !only.apps || only.apps.includes(a.name));
  const robotKeys = robots.map((r) => rt.quotas.robotCall(r.webhook).key);
  // From wherever the windows live: the store, or Redis in cluster mode.
  const windows = await rt.pacer.states(robotKeys, apps.flatMap((a) => [`app:${a.appKey}:`, `recipients:${a.appKey}`]));
  const windowOf = (key: string): WindowState => windows.get(key) ?? { log: [] };
  const blocked = (...states: WindowState[]) => {
    const until = Math.max(0, ...states.map((s) => s.blockedUntil ?? 0));
    return until > now ? iso(until) : null;
  };

  const cap = rt.config.delivery.perUserPerDay;
  const today = shanghaiDay(now);

  return {
    robots: robots.map((r, i) => {
      const w = windowOf(robotKeys[i]!);
      return {
        name: r.name,
        queue: queueOf('robot', r.name),
        quota: inUse(w, rt.quotas.robot, now),
        blockedUntil: blocked(w),
        ...lastCalls(attempts, (a) => a.channel === 'robot' && a.destination === r.name),
      };
    }),
    apps: await Promise.all(
      apps.map(async (a) => {
        const callWindows = [...windows].filter(([k]) => k.startsWith(`app:${a.appKey}:`));
        const recipients = windowOf(`recipients:${a.appKey}`);
        // Counter keys are cap|<appKey>|<userid>|<day>: today's only.
        const near = (await rt.store.countersAtLeast(`cap|${a.appKey}|`, Math.ceil(cap * NEAR_CAP), now, 200))
          .map((c) => ({ parts: c.key.split('|'), sent: c.value }))
          .filter((c) => c.parts[3] === String(today))
          .slice(0, 50)
          .map((c) => ({ userid: c.parts[2]!, sent: c.sent, cap }));
        return {
          name: a.name,
          channels: Object.fromEntries(['work_notice', 'chat', 'robot_oto', 'robot_group'].map((ch) => [ch, queueOf(ch, a.name)])),
          quota: {
            calls: callWindows.map(([k, s]) => ({ api: k.slice(`app:${a.appKey}:`.length), ...inUse(s, rt.quotas.appCalls, now) })),
            recipients: inUse(recipients, rt.quotas.recipients, now),
          },
          blockedUntil: blocked(recipients, ...callWindows.map(([, s]) => s)),
          ...lastCalls(attempts, (x) => x.channel !== 'robot' && x.destination === a.name),
          nearDailyCap: near,
        };
      }),
    ),
  };
}
