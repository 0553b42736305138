import { randomBytes } from 'node:crypto';
import { LIMITS } from '@dingpush/dingtalk';
import type { JobRow } from '../store/types.js';
import { deliverCallback } from './callbacks.js';
import { sendChat } from './chat.js';
import { sendRobot } from './robot.js';
import { sendRobotOto } from './robot-oto.js';
import type { Runtime } from './runtime.js';
import { track } from './tracker.js';
import { sendWorkNotices } from './work-notice.js';

/**
 * Claims due jobs under a lease and works on them, at most `concurrency` at a time. A job whose worker died is
 * claimed again when its lease runs out. Handlers never wait for a quota: they reschedule, so every destination
 * moves at its own pace.
 */
export class Dispatcher {
  readonly owner = `w-${process.pid}-${randomBytes(3).toString('hex')}`;
  private readonly inFlight = new Set<Promise<void>>();
  private running = false;
  private timer: NodeJS.Timeout | undefined;
  private loop: Promise<void> | undefined;
  private woken = false;
  private wakeUp: (() => void) | undefined;

  constructor(private readonly rt: Runtime) {}

  start(): void {
    if (this.running) return;
    this.running = true;
    this.loop = this.run();
  }

  /** New work was stored: look now instead of at the next poll. */
  wake(): void {
    this.woken = true;
    this.wakeUp?.();
  }

  private async run(): Promise<void> {
    const { concurrency, leaseMs, pollMs } = this.rt.config.delivery;
    while (this.running) {
      this.woken = false;
      const free = concurrency - this.inFlight.size;
      let claimed: JobRow[] = [];
      if (free > 0) {
        try {
          claimed = await this.rt.store.claimJobs(this.owner, this.rt.now(), free, leaseMs);
        } catch (err) {
          this.rt.log.error({ err }, 'claiming jobs failed');
        }
      }
      // A claim that got fewer jobs than it asked for took every due job: nothing similar is left to look for.
      for (const group of await this.group(claimed, claimed.length >= free)) this.spawn(group);
      if (!this.running) break;
      if (claimed.length === 0 || free <= claimed.length) await this.idle(claimed.length === 0 ? pollMs : 5);
    }
  }

  /** Send jobs for the same work notification from the same app travel together, with more like them if any are due. */
  private async group(jobs: JobRow[], lookForMore: boolean): Promise<JobRow[][]> {
    const groups = new Map<string, JobRow[]>();
    const out: JobRow[][] = [];
    for (const job of jobs) {
      const mergeable = job.kind === 'send' && (job.channel === 'work_notice' || job.channel === 'robot_oto') && job.contentHash;
      if (!mergeable) {
        out.push([job]);
        continue;
      }
      const key = `${job.channel}|${job.destination}|${job.contentHash}`;
      const g = groups.get(key);
      if (g) g.push(job);
      else groups.set(key, [job]);
    }
    for (const g of groups.values()) {
      if (!lookForMore) {
        out.push(g);
        continue;
      }
      try {
        const limit = g[0]!.channel === 'work_notice' ? LIMITS.workNoticeUserIds : LIMITS.otoUserIds;
        g.push(...(await this.rt.store.claimSimilar(g[0]!, this.owner, this.rt.now(), limit - g.length, this.rt.config.delivery.leaseMs)));
      } catch (err) {
        this.rt.log.error({ err }, 'claiming similar jobs failed');
      }
      out.push(g);
    }
    return out;
  }

  private spawn(jobs: JobRow[]): void {
    const p = this.handle(jobs)
      .catch(async (err) => {
        this.rt.log.error({ err, jobs: jobs.map((j) => j.id) }, 'job failed unexpectedly; retrying later');
        await this.rt.store.rescheduleJobs(jobs.map((j) => j.id), this.rt.now() + 5_000, String(err)).catch(() => {});
      })
      .finally(() => {
        this.inFlight.delete(p);
        this.wakeUp?.();
      });
    this.inFlight.add(p);
  }

  private handle(jobs: JobRow[]): Promise<void> {
    const job = jobs[0]!;
    if (job.kind === 'track') return track(this.rt, job);
    if (job.kind === 'callback') return deliverCallback(this.rt, job);
    switch (job.channel) {
      case 'work_notice':
        return sendWorkNotices(this.rt, jobs);
      case 'robot_oto':
        return sendRobotOto(this.rt, jobs);
      case 'robot':
        return sendRobot(this.rt, job);
      default:
        return sendChat(this.rt, job);
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

  /** Stops claiming and waits for the jobs in flight (graceful shutdown). */
  async stop(): Promise<void> {
    this.running = false;
    this.wakeUp?.();
    await this.loop;
    await Promise.allSettled([...this.inFlight]);
  }
}
