import { describe, expect, it } from 'vitest';
import { Pacer, SlidingWindow, TokenBucket } from '../src/dispatch/pacer.js';

describe('pacer', () => {
  it('a sliding window allows `limit` in any window and says when the next slot frees', () => {
    const w = new SlidingWindow(3, 1000);
    expect([w.take('a', 0), w.take('a', 100), w.take('a', 200)]).toEqual([0, 0, 0]);
    expect(w.take('a', 300)).toBe(700);
    expect(w.take('b', 300)).toBe(0);
    expect(w.take('a', 1000)).toBe(0);
    expect(w.take('a', 1050, 2)).toBe(150);
  });

  it('a token bucket averages the rate after its burst', () => {
    const b = new TokenBucket(10, 2);
    expect([b.take('k', 0), b.take('k', 0)]).toEqual([0, 0]);
    expect(b.take('k', 0)).toBe(100);
    expect(b.take('k', 100)).toBe(0);
  });

  it('a call that must wait does not use up recipients it did not send', () => {
    const p = new Pacer({ appCallsPerSecond: 1, robotPerMinute: 20, recipientsPerMinute: 1000 });
    expect(p.appCall('app', 'send', 0, 100)).toBe(0);
    expect(p.appCall('app', 'send', 0, 100)).toBe(0); // the burst of 2
    for (let i = 0; i < 20; i++) expect(p.appCall('app', 'send', 10, 100)).toBeGreaterThan(0);
    // Had the 20 waiting calls counted their recipients, the minute's 1 000 would be gone.
    expect(p.appCall('app', 'send', 1000, 100)).toBe(0);
  });

  it('robots: 20 a minute, then each waiting message gets its own later slot', () => {
    const p = new Pacer({ appCallsPerSecond: 20, robotPerMinute: 20, recipientsPerMinute: 5000 });
    for (let i = 0; i < 20; i++) expect(p.robotCall('ops', 0)).toBe(0);
    const waits = Array.from({ length: 5 }, () => p.robotCall('ops', 0));
    expect(waits).toEqual([62_000, 65_000, 68_000, 71_000, 74_000]);
    p.block('robot:ops', 600_000);
    expect(p.robotCall('ops', 100_000)).toBeGreaterThanOrEqual(500_000);
  });
});
