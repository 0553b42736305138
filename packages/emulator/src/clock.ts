/** The emulator's one clock: real time plus an offset that tests move forward. */
export class Clock {
  private offsetMs: number;

  /** `baseOffsetMs`: where the clock starts, and where reset() puts it back (the org file's clockOffsetMs). */
  constructor(private readonly baseOffsetMs = 0) {
    this.offsetMs = baseOffsetMs;
  }

  now(): number {
    return Date.now() + this.offsetMs;
  }

  advance(ms: number): number {
    this.offsetMs += ms;
    return this.now();
  }

  reset(): void {
    this.offsetMs = this.baseOffsetMs;
  }
}

const DAY_MS = 86_400_000;
const SHANGHAI_OFFSET_MS = 8 * 3_600_000;

/** Calendar day number in Asia/Shanghai (UTC+8, no daylight saving): DingTalk's "per day". */
export function shanghaiDay(ms: number): number {
  return Math.floor((ms + SHANGHAI_OFFSET_MS) / DAY_MS);
}

export function monthKey(ms: number): string {
  const d = new Date(ms + SHANGHAI_OFFSET_MS);
  return `${d.getUTCFullYear()}-${d.getUTCMonth() + 1}`;
}

export { DAY_MS };
