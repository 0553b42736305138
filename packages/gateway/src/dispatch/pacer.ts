import type { Store } from '../store/types.js';

/**
 * Pacing by reservation. Each call to DingTalk reserves its own slot, once, in every window it counts against; slots
 * are handed out in order (a reservation is never earlier than the last one made), so waiting calls go out first in,
 * first out, and a call whose slot is in the future holds it instead of asking again.
 *
 * A window is a log of the slots reserved in it (time, weight): a new slot is the earliest moment at or after the
 * last slot at which the weights inside (t − window, t] plus its own stay within the limit. That allows an idle
 * destination's burst (20 robot messages at once) and never more than the limit in any window, which a token bucket
 * or GCRA with a burst cannot promise. DingTalk's blocks (130101's ten minutes, 90018) move every slot after them.
 *
 * Where the windows live is a PacingWindows backend: the store (row per key, locked for the reservation) without Redis,
 * so a restart or a second process on the same store never forgets a window or exceeds it; Redis in cluster mode
 * (cluster/redis-pacing.ts, the same rules ported to one Lua script per operation).
 */

export interface PaceRule {
  limit: number;
  windowMs: number;
  /** Slots closer than this are merged into one entry (later time, summed weight): fewer entries, never fewer counted. */
  granularityMs?: number;
  /**
   * How late a call may go after its slot and still count as at its slot: the margin between this window and
   * DingTalk's (a later call could land in a window it was not counted in). Later than that, it reserves again.
   */
  lateMs: number;
  /**
   * After Redis lost this window's history (cluster mode): how long from then it counts as full (default: windowMs).
   * 0: as empty, where going over the limit costs a retry rather than a block.
   */
  lostMs?: number;
}

export interface WindowState {
  /** Reserved slots, oldest first: [time, weight]. */
  log: [number, number][];
  blockedUntil?: number;
}

export interface Reservation {
  key: string;
  rule: PaceRule;
  /** How much of the limit the call uses (1 a call; recipients for the per-minute recipient quota). */
  weight: number;
}

export function parseWindow(json: string | undefined): WindowState {
  if (!json) return { log: [] };
  try {
    const s = JSON.parse(json) as Partial<WindowState>;
    return { log: Array.isArray(s.log) ? s.log : [], ...(typeof s.blockedUntil === 'number' ? { blockedUntil: s.blockedUntil } : {}) };
  } catch {
    return { log: [] };
  }
}

/** The earliest time at or after `start` (and after every slot already reserved) at which `weight` fits. */
export function earliestSlot(state: WindowState, rule: PaceRule, weight: number, start: number): number {
  const w = Math.min(weight, rule.limit);
  const last = state.log[state.log.length - 1]?.[0] ?? Number.NEGATIVE_INFINITY;
  const t0 = Math.max(start, last, state.blockedUntil ?? Number.NEGATIVE_INFINITY);
  let inWindow = 0;
  let first = state.log.length;
  for (let i = state.log.length - 1; i >= 0 && state.log[i]![0] > t0 - rule.windowMs; i--) {
    inWindow += state.log[i]![1];
    first = i;
  }
  let need = inWindow + w - rule.limit;
  if (need <= 0) return t0;
  // Wait until enough of the oldest slots in the window have left it.
  for (let i = first; i < state.log.length; i++) {
    need -= state.log[i]![1];
    if (need <= 0) return Math.max(t0, state.log[i]![0] + rule.windowMs + 1);
  }
  return Math.max(t0, last + rule.windowMs + 1);
}

/** Records a reservation at `at` and forgets slots that can no longer count. */
export function reserveAt(state: WindowState, rule: PaceRule, weight: number, at: number): WindowState {
  const w = Math.min(weight, rule.limit);
  const log = state.log.filter(([t]) => t > at - rule.windowMs);
  const tail = log[log.length - 1];
  if (tail && rule.granularityMs && at - tail[0] < rule.granularityMs) log[log.length - 1] = [Math.max(tail[0], at), tail[1] + w];
  else log.push([at, w]);
  // The block is kept even once a slot lies behind it (one number; a past one costs nothing): dropped there, the first
  // reservation after a 130101 (typically its retry, at the block's end) erased it, and a slot held inside it was
  // then taken as good.
  return { log, ...(state.blockedUntil ? { blockedUntil: state.blockedUntil } : {}) };
}

/**
 * One reservation over the windows' current states: the slot `held` from an earlier reservation when it is still
 * good (not long past, no block over it; nothing to save), else a new slot in every window of `calls` (one moment
 * for all) and the states to save. Every backend decides exactly this (the Redis one in Lua: see its differential test).
 */
export function decide(states: Map<string, WindowState>, calls: Reservation[], now: number, held: number | null): { at: number; save: Map<string, WindowState> | null } {
  const blocked = Math.max(...calls.map((c) => states.get(c.key)!.blockedUntil ?? 0));
  const lateMs = Math.min(...calls.map((c) => c.rule.lateMs));
  // Good from before it comes (a job holding it is claimed a little ahead, to have its store writes done by then) until
  // lateMs after it, unless a block since covers it.
  if (held !== null && now - held <= lateMs && blocked <= Math.max(now, held)) return { at: held, save: null };
  const at = Math.max(...calls.map((c) => earliestSlot(states.get(c.key)!, c.rule, c.weight, now)));
  const save = new Map<string, WindowState>();
  for (const c of calls) save.set(c.key, reserveAt(states.get(c.key)!, c.rule, c.weight, at));
  return { at, save };
}

/** Where the pacing windows are kept: every reservation, peek and block is one atomic step over them. */
export interface PacingWindows {
  /**
   * The moment `calls` may go: the slot `held` from an earlier reservation when it is still good (not long past,
   * no block over it), else a new slot reserved in every window of `calls` (one moment for all).
   */
  acquire(calls: Reservation[], now: number, held?: number | null): Promise<number>;
  /** Where a reservation made now would land, reserving nothing. */
  peek(calls: Reservation[], now: number): Promise<number>;
  /** DingTalk said wait anyway: nothing is reserved on the window before `until`, and held slots before it are void. */
  block(window: Pick<Reservation, 'key' | 'rule'>, until: number, now: number): Promise<void>;
  /** The windows of `keys`, and of every key starting with one of `prefixes`, as they stand (read only: dashboards). */
  states(keys: string[], prefixes: string[]): Promise<Map<string, WindowState>>;
}

/** The windows in the store (SQLite, or PostgreSQL without Redis): a row per window, locked for each step. */
export class Pacer implements PacingWindows {
  constructor(private readonly store: Store) {}

  async states(keys: string[], prefixes: string[]): Promise<Map<string, WindowState>> {
    const raw = await this.store.pacingStates(keys, prefixes);
    return new Map([...raw].map(([k, v]) => [k, parseWindow(v)]));
  }

  async acquire(calls: Reservation[], now: number, held: number | null = null): Promise<number> {
    if (calls.length === 0) return now;
    return this.store.transact(null, now, async (tx) => {
      const raw = await tx.pacing(calls.map((c) => c.key));
      const { at, save } = decide(new Map(calls.map((c) => [c.key, parseWindow(raw.get(c.key))])), calls, now, held);
      if (save) await tx.savePacing(new Map([...save].map(([k, s]) => [k, JSON.stringify(s)])));
      return at;
    });
  }

  async peek(calls: Reservation[], now: number): Promise<number> {
    if (calls.length === 0) return now;
    return this.store.transact(null, now, async (tx) => {
      const raw = await tx.pacing(calls.map((c) => c.key));
      return Math.max(...calls.map((c) => earliestSlot(parseWindow(raw.get(c.key)), c.rule, c.weight, now)));
    });
  }

  async block({ key }: Pick<Reservation, 'key'>, until: number, now: number): Promise<void> {
    await this.store.transact(null, now, async (tx) => {
      const state = parseWindow((await tx.pacing([key])).get(key));
      if ((state.blockedUntil ?? 0) >= until) return;
      await tx.savePacing(new Map([[key, JSON.stringify({ ...state, blockedUntil: until })]]));
    });
  }
}
