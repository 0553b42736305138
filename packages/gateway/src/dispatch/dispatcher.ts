import { randomBytes } from 'node:crypto';
import { DingTalkError } from '@dingpush/dingtalk';
import { assertNever, type DueJob, type Fence, fenceOf, type GatedDestination, type JobOf, type JobRow } from '../domain/jobs.js';
import { type ClaimScope, LeaseLost } from '../store/types.js';
import { retryDelay } from './backoff.js';
import { runCallback } from './callbacks.js';
import { runPublish } from './publish.js';
import { CHANNEL_DESCRIPTORS } from './channels/index.js';
import { describe } from './describe.js';
import { promoteParked } from './destination-queue.js';
import { dueForSlot, inJob, LeaseTooShort, PaceDeferral, WAIT_IN_HANDLER_MS } from './pacing-context.js';
import { runRecall } from './recall.js';
import { runResolve } from './resolve.js';
import type { JobContext, Runtime } from './runtime.js';
import { runSend } from './send.js';
import { runTrack } from './track.js';
import { settleGivenUp } from './job-writes.js';
import { work } from './unit-of-work.js';

/** How often destinations with parked jobs are checked for a head that went away without unparking the next. */
const PARKED_SWEEP_MS = 10_000;

interface InFlight {
  fences: Fence[];
  controller: AbortController;
  /** performance.now() when the request that last set the lease (the claim, then each renewal) was sent. */
  leaseFrom: number;
}

/**
 * Claims due jobs under a lease and works on them, at most `concurrency` handlers at a time.
 *
 * Leases hold while their handler runs: every `leaseMs / 3` the dispatcher renews the leases of the jobs it is
 * working on, and a lease it could not renew (another worker claimed the job after it expired) aborts its handler,
 * which may then send nothing more. Every write a handler makes names its jobs' fencing tokens (store.transact), so
 * a handler that lost its lease cannot write either. A job is never claimed again by the worker still running it.
 */
export class Dispatcher {
  readonly owner = `w-${process.pid}-${randomBytes(3).toString('hex')}`;
  private readonly inFlight = new Map<Promise<void>, InFlight>();
  private running = false;
  private timer: NodeJS.Timeout | undefined;
  private renewTimer: NodeJS.Timeout | undefined;
  private loop: Promise<void> | undefined;
  private woken = false;
  private wakeUp: (() => void) | undefined;

  /** Every destination a send job may have: each configured app and robot on each channel that takes it. */
  private readonly sendLanes: GatedDestination[];

  constructor(private readonly rt: Runtime) {
    const names = [...rt.apps.keys(), ...rt.robots.keys()];
    this.sendLanes = Object.values(CHANNEL_DESCRIPTORS).flatMap((d) => names.filter((name) => d.configured(rt, name)).map((destination) => ({ channel: d.channel, destination })));
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    const { leaseMs } = this.rt.config.delivery;
    this.renewTimer = setInterval(() => void this.renew(), Math.max(20, Math.floor(leaseMs / 3)));
    this.loop = this.run();
  }

  /**
   * New work was stored: look now instead of at the next poll; not when each of its jobs is a send to a gated
   * destination (the look would claim none of them, and with accepts streaming in, each look is a write).
   */
  wake(due?: readonly DueJob[]): void {
    const now = this.rt.now();
    if (due && due.length > 0 && due.every((j) => j.kind === 'send' && this.rt.gates.isClosed(j.channel, j.destination, now))) return;
    this.woken = true;
    this.wakeUp?.();
  }

  private pausedFor: string | null = null;

  /** Logs the start and the end of a pause (not each poll in it). */
  private paused(reason: string | null): void {
    if (reason === this.pausedFor) return;
    if (reason) this.rt.log.warn({ reason }, 'dispatcher paused: nothing is claimed until this is resolved');
    else this.rt.log.info({ after: this.pausedFor }, 'dispatcher resumed');
    this.pausedFor = reason;
  }

  /** How many jobs this worker runs under a lease now (metrics). */
  held(): number {
    return this.runningIds().length;
  }

  /** Job ids this worker is running now (never claimed again by it while they run). */
  private runningIds(): string[] {
    return [...this.inFlight.values()].flatMap((f) => f.fences.map((x) => x.id));
  }

  private async run(): Promise<void> {
    const { concurrency, leaseMs, pollMs } = this.rt.config.delivery;
    while (this.running) {
      this.woken = false;
      const free = concurrency - this.inFlight.size;
      let claimed: JobRow[] = [];
      const claimedFrom = performance.now();
      // A shared service the cluster's quotas and tokens live in is away: claim nothing (the jobs keep their place
      // and their deadlines run on) rather than call DingTalk on guesses; look again at the next poll.
      const degraded = this.rt.degraded();
      if (degraded) {
        this.paused(degraded);
        await this.idle(pollMs);
        continue;
      }
      this.paused(null);
      if (free > 0) {
        try {
          claimed = await this.rt.store.claim(this.owner, this.rt.now(), free, leaseMs, this.runningIds(), this.claimScope());
        } catch (err) {
          this.rt.log.error({ err }, 'claiming jobs failed');
        }
      }
      for (const group of await this.group(claimed, claimed.length >= free)) this.spawn(group, claimedFrom);
      if (!this.running) break;
      await this.sweep();
      // Every slot busy: a handler that finishes wakes the loop. Nothing claimable: until the next job is due.
      if (free <= 0) await this.idle(pollMs);
      else if (claimed.length === 0) await this.idle(await this.untilNextDue(pollMs));
      else if (free <= claimed.length) await this.idle(5);
    }
  }

  private openLanes(now: number): GatedDestination[] {
    return this.sendLanes.filter((l) => !this.rt.gates.isClosed(l.channel, l.destination, now));
  }

  private lastWideClaim = 0;

  /**
   * Claims read the configured destinations' lanes, open ones only (bounded index ranges whatever the backlog); now and
   * then one claim reads every due row instead, so that jobs of a destination no longer configured are found (and
   * failed) too.
   */
  private claimScope(): ClaimScope {
    const now = this.rt.now();
    if (performance.now() - this.lastWideClaim < PARKED_SWEEP_MS) return { lanes: this.openLanes(now) };
    this.lastWideClaim = performance.now();
    return { gated: this.rt.gates.closed(now) };
  }

  /**
   * With delivery.mergeAcrossNotifications, send jobs carrying the same message to the same destination travel
   * together (more of them are claimed when the claim was full); otherwise each job runs on its own.
   */
  private async group(jobs: JobRow[], lookForMore: boolean): Promise<JobRow[][]> {
    if (!this.rt.config.delivery.mergeAcrossNotifications) return jobs.map((j) => [j]);
    const groups = new Map<string, JobRow[]>();
    const out: JobRow[][] = [];
    for (const job of jobs) {
      const mergeable = job.kind === 'send' && job.mergeKey && job.sendStartedAt === null && CHANNEL_DESCRIPTORS[job.channel!].batchLimit > 1;
      if (!mergeable) {
        out.push([job]);
        continue;
      }
      const key = `${job.channel}|${job.destination}|${job.mergeKey}`;
      groups.set(key, [...(groups.get(key) ?? []), job]);
    }
    for (const g of groups.values()) {
      if (lookForMore) {
        try {
          const limit = CHANNEL_DESCRIPTORS[g[0]!.channel!].batchLimit - g.length;
          g.push(...(await this.rt.store.claimMergeable(g[0]!, this.owner, this.rt.now(), limit, this.rt.config.delivery.leaseMs)));
        } catch (err) {
          this.rt.log.error({ err }, 'claiming mergeable jobs failed');
        }
      }
      out.push(g);
    }
    return out;
  }

  private spawn(jobs: JobRow[], leaseFrom: number): void {
    const controller = new AbortController();
    const entry: InFlight = { fences: jobs.map(fenceOf), controller, leaseFrom };
    const ctx: JobContext = { rt: this.rt, signal: controller.signal };
    // The store sets a lease's end after the request that asks for it was sent, so it lasts at least leaseMs from
    // then. A call to DingTalk starts only while a tenth of that is left (at most a second: a margin for the call to
    // leave): a worker whose renewals stalled does not call while another may already have taken the job over.
    const { leaseMs } = this.rt.config.delivery;
    const lease = { leftMs: () => entry.leaseFrom + leaseMs - performance.now(), minLeftMs: Math.min(leaseMs / 10, 1_000) };
    // A call inside the handler whose slot is far off defers the job, which keeps that slot (see pacing-context.ts).
    const first = jobs[0]!;
    const held = first.slotKey && first.slotAt !== null ? { key: first.slotKey, at: first.slotAt } : null;
    // A send to an in-order destination waits for the one claimed before it to finish.
    const lane = first.kind === 'send' && CHANNEL_DESCRIPTORS[first.channel!].inOrder ? `${first.channel}|${first.destination}` : null;
    const before = lane ? this.lanes.get(lane) : undefined;
    const run = () => inJob(held, WAIT_IN_HANDLER_MS, lease, () => this.handle(ctx, jobs));
    const p = (before ? before.then(run) : run())
      .catch((err) => (err instanceof PaceDeferral || err instanceof LeaseTooShort ? this.deferred(jobs, err) : this.failed(jobs, err)))
      .finally(() => {
        this.inFlight.delete(p);
        if (lane && this.lanes.get(lane) === p) this.lanes.delete(lane);
        // The job may have been its destination's head: the next one waiting behind it takes its place.
        if (first.kind === 'send' && CHANNEL_DESCRIPTORS[first.channel!].waiting === 'queue') void this.promote(first.channel!, first.destination!);
        this.wakeUp?.();
      });
    this.inFlight.set(p, entry);
    if (lane) this.lanes.set(lane, p);
  }

  /** Every kind of job, exhaustively. */
  private handle(ctx: JobContext, jobs: JobRow[]): Promise<void> {
    const job = jobs[0]!;
    switch (job.kind) {
      case 'send':
        return runSend(ctx, jobs as JobOf<'send'>[]);
      case 'resolve':
        return runResolve(ctx, job);
      case 'track':
        return runTrack(ctx, job);
      case 'recall':
        return runRecall(ctx, job);
      case 'callback':
        return runCallback(ctx, job);
      case 'publish':
        return runPublish(ctx, job);
      default:
        return assertNever(job);
    }
  }

  /** Back to the queue without counting a failure, holding the slot its call had (at once when the lease ran short). */
  private async deferred(jobs: JobRow[], d: PaceDeferral | LeaseTooShort): Promise<void> {
    const ids = jobs.map((j) => j.id);
    try {
      await work(this.rt, jobs.map(fenceOf), (tx) =>
        d instanceof PaceDeferral
          ? tx.reschedule(ids, dueForSlot(d.at), { slotAt: d.at, slotKey: d.key })
          : tx.reschedule(ids, tx.now, { lastError: d.message, ...(d.key ? { slotAt: d.at, slotKey: d.key } : {}) }),
      );
    } catch (err) {
      this.rt.log.warn({ err }, 'deferring a job failed; its lease runs out and it is claimed again');
    }
  }

  /** An unexpected error: retried with backoff, and after delivery.maxFailures kept as a dead letter. */
  private async failed(jobs: JobRow[], err: unknown): Promise<void> {
    if (err instanceof LeaseLost) {
      this.rt.log.warn({ jobs: err.jobIds }, 'lease lost while working; the new holder carries on');
      return;
    }
    const reason = describe(err);
    const { maxFailures } = this.rt.config.delivery;
    // DingTalk being unavailable is waited out as long as a send would wait for it (delivery.giveUpAfterMs); other
    // errors give up after delivery.maxFailures tries.
    const dingTalkDown = err instanceof DingTalkError && err.retryable;
    const now = this.rt.now();
    const dead = jobs.filter((j) => j.failures + 1 >= maxFailures && (!dingTalkDown || now >= j.createdAt + this.rt.config.delivery.giveUpAfterMs));
    const again = jobs.filter((j) => !dead.includes(j));
    this.rt.log.error({ err, jobs: jobs.map((j) => j.id), dead: dead.length > 0 }, dead.length ? 'job failed; kept as a dead letter' : 'job failed unexpectedly; retrying later');
    try {
      await work(this.rt, jobs.map(fenceOf), async (tx) => {
        if (dead.length) {
          const why = `gave up after ${maxFailures} failures; last: ${reason}`;
          await tx.kill(dead.map((j) => j.id), why);
          await settleGivenUp(tx, dead, why);
        }
        const delay = retryDelay(this.rt.config.delivery, Math.max(0, ...again.map((j) => j.failures + 1)));
        if (again.length) await tx.reschedule(again.map((j) => j.id), tx.now + delay, { countFailure: true, lastError: reason, slotAt: null });
      });
    } catch (e) {
      // The lease was lost or the store is failing: the lease runs out and the job is claimed again.
      this.rt.log.error({ err: e }, 'recording a failed job failed');
    }
  }

  /** Unparks the oldest job parked behind a destination whose head is gone (a no-op while a head remains). */
  private async promote(channel: string, destination: string): Promise<void> {
    try {
      if (await promoteParked(this.rt.store, this.rt.now(), channel, destination)) this.wake();
    } catch (err) {
      this.rt.log.warn({ err, channel, destination }, 'unparking the next job failed; the sweep retries');
    }
  }

  /**
   * Parked jobs whose head is gone without unparking them (its process died between the two writes, or a store
   * error): every destination with parked jobs is looked at now and then; folded jobs whose digest is gone are removed.
   */
  private lastSweep = 0;
  private async sweep(): Promise<void> {
    const now = performance.now();
    if (now - this.lastSweep < PARKED_SWEEP_MS) return;
    this.lastSweep = now;
    try {
      for (const q of await this.rt.store.parkedDestinations()) await this.promote(q.channel, q.destination);
      // Messages folded into a digest that settled another way (every one of them recalled) are done.
      await this.rt.store.collectFolded();
    } catch (err) {
      this.rt.log.warn({ err }, 'looking for parked jobs failed');
    }
  }

  /** The last send started per in-order destination (channel|destination): the next one runs after it. */
  private lanes = new Map<string, Promise<void>>();

  /** Set while a renewal runs: renewals never overlap (overlapping ones piled up and deadlocked on PostgreSQL). */
  private renewing = false;

  private async renew(): Promise<void> {
    if (this.inFlight.size === 0 || this.renewing) return;
    this.renewing = true;
    try {
      await this.renewOnce();
    } finally {
      this.renewing = false;
    }
  }

  private async renewOnce(): Promise<void> {
    const entries = [...this.inFlight.values()];
    const renewedFrom = performance.now();
    let held: Set<string>;
    try {
      held = await this.rt.store.renew(this.owner, entries.flatMap((e) => e.fences), this.rt.config.delivery.leaseMs);
    } catch (err) {
      this.rt.log.warn({ err }, 'renewing leases failed');
      return;
    }
    for (const e of entries) {
      if (e.fences.every((f) => held.has(f.id))) {
        e.leaseFrom = renewedFrom;
        continue;
      }
      // Either the handler finished its job meanwhile (nothing to abort) or the lease went to another worker.
      e.controller.abort();
    }
  }

  /**
   * How long to wait for work: until the next job is due, if that is sooner than a poll. A job holding a pacing slot
   * is due a little before its slot (dueForSlot), and a slot claimed late by more than its window's margin has to be
   * reserved again.
   */
  private async untilNextDue(pollMs: number): Promise<number> {
    try {
      const now = this.rt.now();
      const due = await this.rt.store.nextDue({ lanes: this.openLanes(now) });
      const opens = this.rt.gates.nextOpening(now);
      const next = due === null ? opens : opens === null ? due : Math.min(due, opens);
      const wait = next === null ? pollMs : next - now;
      // Due already, yet not claimed by this worker (it runs it, or another instance holds its row): a regular poll.
      return wait <= 0 ? pollMs : Math.min(pollMs, wait);
    } catch {
      return pollMs;
    }
  }

  private idle(ms: number): Promise<void> {
    if (this.woken) return Promise.resolve();
    return new Promise((resolve) => {
      this.wakeUp = () => {
        this.wakeUp = undefined;
        clearTimeout(this.timer);
        resolve();
      };
      this.timer = setTimeout(() => this.wakeUp?.(), ms);
    });
  }

  /** Stops claiming and waits for the jobs in flight (graceful shutdown), renewing their leases meanwhile. */
  async stop(): Promise<void> {
    this.running = false;
    this.wakeUp?.();
    await this.loop;
    await Promise.allSettled([...this.inFlight.keys()]);
    clearInterval(this.renewTimer);
  }
}
