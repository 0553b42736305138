import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { earliestSlot, type PaceRule, Pacer, reserveAt, type WindowState } from '../src/dispatch/pacer.js';
import { openStore, type Store } from '../src/server.js';

const ROBOT: PaceRule = { limit: 20, windowMs: 62_000, lateMs: 1_500 };
const reserveMany = (rule: PaceRule, n: number, now: number, weight = 1) => {
  let state: WindowState = { log: [] };
  const slots: number[] = [];
  for (let i = 0; i < n; i++) {
    const at = earliestSlot(state, rule, weight, now);
    state = reserveAt(state, rule, weight, at);
    slots.push(at);
  }
  return slots;
};
/** The most slots (of weight 1) inside any window of the rule's length. */
const busiestWindow = (slots: number[], windowMs: number) => Math.max(...slots.map((t) => slots.filter((s) => s > t - windowMs && s <= t).length));

describe('pacing by reservation', () => {
  it('a backlog of 200 robot messages gets its slots first in, first out, never more than 20 in any window', () => {
    const slots = reserveMany(ROBOT, 200, 0);
    // FIFO by construction: the k-th reservation never goes after the (k+1)-th.
    for (let i = 1; i < slots.length; i++) expect(slots[i]!).toBeGreaterThanOrEqual(slots[i - 1]!);
    expect(busiestWindow(slots, ROBOT.windowMs)).toBe(20);
    // An idle robot takes a burst of 20 at once; then 20 every 62 s: #40 goes at 62 s, #200 at 9 × 62 s.
    expect(slots.slice(0, 20)).toEqual(Array(20).fill(0));
    expect(slots[39]).toBe(62_001);
    expect(slots[199]).toBe(9 * 62_001);
  });

  it('reservations made over time keep their order and the window', () => {
    let state: WindowState = { log: [] };
    const slots: number[] = [];
    for (let i = 0; i < 100; i++) {
      const now = i * 700; // a message every 0.7 s: faster than 20 a minute
      const at = earliestSlot(state, ROBOT, 1, now);
      expect(at).toBeGreaterThanOrEqual(now);
      state = reserveAt(state, ROBOT, 1, at);
      slots.push(at);
    }
    for (let i = 1; i < slots.length; i++) expect(slots[i]!).toBeGreaterThanOrEqual(slots[i - 1]!);
    expect(busiestWindow(slots, ROBOT.windowMs)).toBeLessThanOrEqual(20);
  });

  it('weighted: recipients per minute count each call by its recipients; a call over the limit takes the whole window', () => {
    const rule: PaceRule = { limit: 5000, windowMs: 60_000, granularityMs: 1000, lateMs: 0 };
    const slots = reserveMany(rule, 51, 0, 100);
    expect(slots.slice(0, 50)).toEqual(Array(50).fill(0));
    expect(slots[50]).toBe(60_001);
    let state = reserveAt({ log: [] }, rule, 100, 0);
    const whole = earliestSlot(state, rule, 999_999, 10);
    state = reserveAt(state, rule, 999_999, whole);
    expect(whole).toBe(60_001);
    expect(earliestSlot(state, rule, 1, whole)).toBe(whole + 60_001);
    // Merged entries never count less: one entry for the second, at its latest time.
    expect(reserveAt(reserveAt({ log: [] }, rule, 3, 100), rule, 4, 900).log).toEqual([[900, 7]]);
  });

  describe('persisted in the store', () => {
    let store: Store;
    beforeAll(async () => {
      store = await openStore({ sqlite: join(mkdtempSync(join(tmpdir(), 'dingpush-pacer-')), 'db.sqlite') });
    });
    afterAll(() => store.close());
    const call = { key: 'robot:r1', rule: ROBOT, weight: 1 };

    it('a restarted pacer (a new process on the same store) continues the window instead of starting empty', async () => {
      const first = new Pacer(store);
      for (let i = 0; i < 20; i++) expect(await first.acquire([call], 1_000)).toBe(1_000);
      const restarted = new Pacer(store);
      expect(await restarted.acquire([call], 2_000)).toBe(63_001);
    });

    it('a held slot is used as it is while good, and reserved again when late or blocked', async () => {
      const pacer = new Pacer(store);
      const c = { key: 'robot:r2', rule: ROBOT, weight: 1 };
      const held = await pacer.acquire([c], 10_000);
      expect(await pacer.acquire([c], held + 100, held)).toBe(held);
      const late = await pacer.acquire([c], held + ROBOT.lateMs + 1, held);
      expect(late).toBeGreaterThan(held);
      await pacer.block(c, 700_000, 20_000);
      expect(await pacer.acquire([c], 20_000, 20_000)).toBeGreaterThanOrEqual(700_000);
    });

    it('a held slot still ahead is used as it is (its job is claimed a little before it), unless a block covers it', async () => {
      const pacer = new Pacer(store);
      // One call a second: a second reservation could not share the held slot's moment.
      const c = { key: 'app:k:one', rule: { limit: 1, windowMs: 1_000, lateMs: 100 }, weight: 1 };
      const held = await pacer.acquire([c], 900_000);
      // Claimed 100 ms before its slot: the same slot, nothing reserved again (the next one is still a window later).
      expect(await pacer.acquire([c], held - 100, held)).toBe(held);
      expect(await pacer.peek([c], held)).toBe(held + 1_001);
      // A block that ends after the slot voids it.
      await pacer.block(c, held + 5_000, held - 50);
      expect(await pacer.acquire([c], held - 40, held)).toBeGreaterThanOrEqual(held + 5_000);
    });

    it('a block voids the slots held before it even after another call has reserved its slot behind the block', async () => {
      const pacer = new Pacer(store);
      const c = { key: 'robot:r-block', rule: ROBOT, weight: 1 };
      // A backlog: 20 slots at once, the job holding the 21st waits a window for it.
      for (let i = 0; i < 20; i++) await pacer.acquire([c], 1_000_000);
      const held = await pacer.acquire([c], 1_000_000);
      expect(held).toBe(1_062_001);
      // 130101 at 1 010 s: ten minutes of nothing; the job that got it reserves its retry behind the block (reserveAt
      // keeps blockedUntil only while it is after the new slot: this one is at the block's end, so it is dropped).
      await pacer.block(c, 1_610_000, 1_010_000);
      expect(await pacer.acquire([c], 1_010_001)).toBe(1_610_000);
      // The job holding 1 062 001 is claimed 100 ms before it: its slot lies inside the block and must be void.
      expect(await pacer.acquire([c], held - 100, held)).toBeGreaterThanOrEqual(1_610_000);
    });

    it('several windows at once: one moment that fits all of them', async () => {
      const pacer = new Pacer(store);
      const app = { key: 'app:k:send', rule: { limit: 2, windowMs: 1000, lateMs: 0 }, weight: 1 };
      const recipients = { key: 'recipients:k', rule: { limit: 100, windowMs: 60_000, lateMs: 0 }, weight: 60 };
      expect(await pacer.acquire([app, recipients], 0)).toBe(0);
      // The app allows a second call now, but the recipients do not fit until the minute has passed.
      expect(await pacer.acquire([app, recipients], 0)).toBe(60_001);
    });
  });
});
