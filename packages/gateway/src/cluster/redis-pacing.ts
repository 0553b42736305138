import { DingTalkError } from '@dingpush/dingtalk';
import type { PacingWindows, Reservation, WindowState } from '../dispatch/pacer.js';
import type { RedisEpoch } from './redis-epoch.js';
import type { RedisLink } from './redis-link.js';

/**
 * The pacing windows of a cluster, in Redis: every instance reserves in the same windows, each reservation one Lua
 * script (atomic), so FIFO order and every quota (per robot, per app and API, recipients per minute) hold across
 * instances. The scripts are dispatch/pacer.ts's earliestSlot/reserveAt/decide, ported line by line (a differential
 * test runs both on the same random sequences).
 *
 * What stays in the store: per-user daily caps and same-content marks (`counters`) are written in the same transaction
 * as the send's start, which Redis cannot join, and the store never loses them.
 *
 * KEYS: the epoch, the moment of the last loss, then the windows; ARGV: the epoch, now, then the operation's own.
 * A window's value is "epoch|blockedUntil|t,w;t,w;…" (blockedUntil may be empty). A window of another epoch, or none,
 * is one whose history Redis may have lost: until `lostMs` after the loss it counts as full (blocked), never as empty.
 * Numbers are written with %.17g (exact for every double; Lua's tostring keeps 14 digits).
 */
const PRELUDE = `local epoch = ARGV[1]
if redis.call('GET', KEYS[1]) ~= epoch then return redis.error_reply('EPOCH the pacing windows are of another epoch') end
local now = tonumber(ARGV[2])
local lost = tonumber(redis.call('GET', KEYS[2]) or '')
local function fmt(x) return string.format('%.17g', x) end
local function load(key, lostMs)
  local s = { log = {} }
  local raw = redis.call('GET', key)
  if raw then
    local e, b, rest = string.match(raw, '^([^|]*)|([^|]*)|(.*)$')
    if e == epoch then
      s.blocked = tonumber(b)
      for t, w in string.gmatch(rest, '([^,;]+),([^;]+)') do s.log[#s.log + 1] = { tonumber(t), tonumber(w) } end
      return s
    end
  end
  if lost and now < lost + lostMs then s.blocked = lost + lostMs end
  return s
end
local function save(key, s, windowMs)
  local parts = {}
  local horizon = s.blocked or now
  for i, e in ipairs(s.log) do
    parts[i] = fmt(e[1]) .. ',' .. fmt(e[2])
    if e[1] > horizon then horizon = e[1] end
  end
  local raw = epoch .. '|' .. (s.blocked and fmt(s.blocked) or '') .. '|' .. table.concat(parts, ';')
  -- Kept while it can count (its last slot or block, plus a window) and a little longer; then an idle window expires.
  redis.call('SET', key, raw, 'PX', fmt(math.floor(math.max(horizon, now) - now + 3 * windowMs)))
end
local function earliest(s, limit, windowMs, weight, start)
  local w = math.min(weight, limit)
  local n = #s.log
  local last = -math.huge
  if n > 0 then last = s.log[n][1] end
  local t0 = math.max(start, last, s.blocked or -math.huge)
  local inWindow, first, i = 0, n + 1, n
  while i >= 1 and s.log[i][1] > t0 - windowMs do
    inWindow = inWindow + s.log[i][2]
    first = i
    i = i - 1
  end
  local need = inWindow + w - limit
  if need <= 0 then return t0 end
  for j = first, n do
    need = need - s.log[j][2]
    if need <= 0 then return math.max(t0, s.log[j][1] + windowMs + 1) end
  end
  return math.max(t0, last + windowMs + 1)
end
local function reserveAt(s, limit, windowMs, gran, weight, at)
  local w = math.min(weight, limit)
  local log = {}
  for _, e in ipairs(s.log) do
    if e[1] > at - windowMs then log[#log + 1] = { e[1], e[2] } end
  end
  local tail = log[#log]
  if tail and gran > 0 and at - tail[1] < gran then
    log[#log] = { math.max(tail[1], at), tail[2] + w }
  else
    log[#log + 1] = { at, w }
  end
  local out = { log = log }
  -- Kept even once a slot lies behind it (see reserveAt in dispatch/pacer.ts).
  if s.blocked then out.blocked = s.blocked end
  return out
end
-- The calls: KEYS[3..], each with six ARGV from base on: limit, windowMs, granularityMs, lateMs, lostMs, weight.
local function callsFrom(base)
  local calls, states = {}, {}
  for i = 3, #KEYS do
    local b = base + (i - 3) * 6
    local c = { key = KEYS[i], limit = tonumber(ARGV[b]), windowMs = tonumber(ARGV[b + 1]), gran = tonumber(ARGV[b + 2]),
      lateMs = tonumber(ARGV[b + 3]), lostMs = tonumber(ARGV[b + 4]), weight = tonumber(ARGV[b + 5]) }
    calls[#calls + 1] = c
    states[c.key] = load(c.key, c.lostMs)
  end
  return calls, states
end
`;

/** ARGV[3]: the held slot ('' none); the calls from ARGV[4]. Answers the slot. */
const RESERVE = `${PRELUDE}
local held = tonumber(ARGV[3])
local calls, states = callsFrom(4)
local blocked, lateMs = 0, math.huge
for _, c in ipairs(calls) do
  blocked = math.max(blocked, states[c.key].blocked or 0)
  lateMs = math.min(lateMs, c.lateMs)
end
if held and now - held <= lateMs and blocked <= math.max(now, held) then return fmt(held) end
local at = -math.huge
for _, c in ipairs(calls) do at = math.max(at, earliest(states[c.key], c.limit, c.windowMs, c.weight, now)) end
local out = {}
for _, c in ipairs(calls) do out[c.key] = { reserveAt(states[c.key], c.limit, c.windowMs, c.gran, c.weight, at), c.windowMs } end
for key, v in pairs(out) do save(key, v[1], v[2]) end
return fmt(at)`;

/** The calls from ARGV[3]. Answers where a reservation would land; writes nothing. */
const PEEK = `${PRELUDE}
local calls, states = callsFrom(3)
local at = -math.huge
for _, c in ipairs(calls) do at = math.max(at, earliest(states[c.key], c.limit, c.windowMs, c.weight, now)) end
return fmt(at)`;

/** ARGV[3]: until; ARGV[4], ARGV[5]: the window's windowMs and lostMs. */
const BLOCK = `${PRELUDE}
local s = load(KEYS[3], tonumber(ARGV[5]))
local untilAt = tonumber(ARGV[3])
if (s.blocked or 0) >= untilAt then return 0 end
s.blocked = untilAt
save(KEYS[3], s, tonumber(ARGV[4]))
return 1`;

type Script = (keys: number, ...args: string[]) => Promise<string | number>;
interface Scripts {
  dingpushPaceReserve: Script;
  dingpushPacePeek: Script;
  dingpushPaceBlock: Script;
}

const ruleArgs = (c: Reservation) => [c.rule.limit, c.rule.windowMs, c.rule.granularityMs ?? 0, c.rule.lateMs, c.rule.lostMs ?? c.rule.windowMs, c.weight].map(String);

/** Redis failed the step (away, stalled, or the loss could not be settled): nothing was sent; the call is retried. */
function unavailable(err: unknown): DingTalkError {
  if (err instanceof DingTalkError) return err;
  return new DingTalkError(
    'pacing',
    'pacing-store',
    err instanceof Error ? err.message : String(err),
    undefined,
    { class: 'retry', meaning: 'the shared pacing windows (Redis) are unavailable; nothing was sent' },
    false,
  );
}

/** A window as the scripts store it (`epoch|blocked|t,w;t,w…`); one of another epoch is not this cluster's any more. */
export function redisWindow(raw: string, epoch: string | null): WindowState {
  const [e, blocked, log] = raw.split('|');
  if (epoch !== null && e !== epoch) return { log: [] };
  return {
    log: (log ?? '')
      .split(';')
      .filter(Boolean)
      .map((pair) => pair.split(',').map(Number) as [number, number]),
    ...(blocked ? { blockedUntil: Number(blocked) } : {}),
  };
}

export class RedisPacer implements PacingWindows {
  private readonly scripts: Scripts;

  constructor(
    private readonly link: RedisLink,
    private readonly epoch: RedisEpoch,
  ) {
    // EVALSHA, falling back to EVAL once when Redis does not have the script (a restarted Redis).
    link.redis.defineCommand('dingpushPaceReserve', { lua: RESERVE });
    link.redis.defineCommand('dingpushPacePeek', { lua: PEEK });
    link.redis.defineCommand('dingpushPaceBlock', { lua: BLOCK });
    this.scripts = link.redis as unknown as Scripts;
  }

  async acquire(calls: Reservation[], now: number, held: number | null = null): Promise<number> {
    if (calls.length === 0) return now;
    return Number(await this.run('dingpushPaceReserve', now, calls.map((c) => c.key), [held === null ? '' : String(held), ...calls.flatMap(ruleArgs)]));
  }

  async peek(calls: Reservation[], now: number): Promise<number> {
    if (calls.length === 0) return now;
    return Number(await this.run('dingpushPacePeek', now, calls.map((c) => c.key), calls.flatMap(ruleArgs)));
  }

  async block(window: Pick<Reservation, 'key' | 'rule'>, until: number, now: number): Promise<void> {
    await this.run('dingpushPaceBlock', now, [window.key], [String(until), String(window.rule.windowMs), String(window.rule.lostMs ?? window.rule.windowMs)]);
  }

  async states(keys: string[], prefixes: string[]): Promise<Map<string, WindowState>> {
    const out = new Map<string, WindowState>();
    if (this.link.problem()) return out;
    const base = `${this.link.prefix}pace:`;
    const found = new Set(keys);
    for (const p of prefixes) {
      // The app's windows per API: a handful of keys, each expiring when idle.
      const stream = this.link.redis.scanStream({ match: `${base}${p.replace(/[*?[\]\\]/g, '\\$&')}*`, count: 200 });
      for await (const batch of stream as AsyncIterable<string[]>) for (const k of batch) found.add(k.slice(base.length));
    }
    const list = [...found];
    if (list.length === 0) return out;
    const epoch = this.epoch.current();
    const values = await this.link.redis.mget(...list.map((k) => `${base}${k}`));
    list.forEach((k, i) => {
      const v = values[i];
      if (v) out.set(k, redisWindow(v, epoch));
    });
    return out;
  }

  /** Runs a script; when Redis's epoch is not the one this instance knows, settles it (a loss, or a first start) first. */
  private async run(script: keyof Scripts, now: number, windows: string[], args: string[]): Promise<string | number> {
    try {
      for (let attempt = 0; ; attempt++) {
        const problem = this.link.problem();
        if (problem) throw new Error(problem);
        const epoch = this.epoch.current() ?? (await this.epoch.settle(now));
        const keys = [this.epoch.key, this.epoch.lostKey, ...windows.map((w) => `${this.link.prefix}pace:${w}`)];
        try {
          return await this.scripts[script].call(this.link.redis, keys.length, ...keys, epoch, String(now), ...args);
        } catch (err) {
          if (!(err instanceof Error && err.message.startsWith('EPOCH')) || attempt >= 2) throw err;
          await this.epoch.settle(now);
        }
      }
    } catch (err) {
      throw unavailable(err);
    }
  }
}
