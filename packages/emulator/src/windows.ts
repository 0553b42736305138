import { DAY_MS, shanghaiDay } from './clock.js';

/** Timestamps of events per key within a sliding window; used for QPS, robot per-minute and per-minute recipients. */
export class SlidingWindow {
  private readonly events = new Map<string, number[]>();

  constructor(private readonly windowMs: number) {}

  /** How many events for key fall in (now - window, now]. */
  count(key: string, now: number): number {
    return this.prune(key, now).length;
  }

  add(key: string, now: number, times = 1): void {
    const list = this.prune(key, now);
    for (let i = 0; i < times; i++) list.push(now);
  }

  private prune(key: string, now: number): number[] {
    let list = this.events.get(key);
    if (!list) {
      list = [];
      this.events.set(key, list);
    }
    const cutoff = now - this.windowMs;
    let drop = 0;
    while (drop < list.length && list[drop]! <= cutoff) drop++;
    if (drop > 0) list.splice(0, drop);
    return list;
  }

  clear(): void {
    this.events.clear();
  }
}

/** "Per day" counters: calendar days in UTC+8 by default, or a rolling 24 h window (the §0.4 switch). */
export class DayCounter {
  private readonly calendar = new Map<string, number>();
  private readonly rolling = new SlidingWindow(DAY_MS);

  constructor(private readonly isRolling: () => boolean) {}

  count(key: string, now: number): number {
    if (this.isRolling()) return this.rolling.count(key, now);
    return this.calendar.get(`${key}|${shanghaiDay(now)}`) ?? 0;
  }

  add(key: string, now: number): void {
    if (this.isRolling()) {
      this.rolling.add(key, now);
      return;
    }
    const k = `${key}|${shanghaiDay(now)}`;
    this.calendar.set(k, (this.calendar.get(k) ?? 0) + 1);
  }

  clear(): void {
    this.calendar.clear();
    this.rolling.clear();
  }
}
