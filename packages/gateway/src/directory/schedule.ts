import type { AppHandle, Runtime } from '../dispatch/runtime.js';
import { describe } from '../dispatch/describe.js';
import { SyncRunning, syncDirectory } from './sync.js';

/** How often the schedule looks whether a sync is due (at most; sooner when syncEveryMs is shorter). */
const LOOK_EVERY_MS = 30_000;

/**
 * Scheduled directory syncs (config `directory.syncEveryMs`): each app's sync is due once its latest one started that
 * long ago, as the store records it, so with several instances on one PostgreSQL the sync runs on one of them (the
 * claim) and the others find it done. A failed sync is tried again at the next due time.
 */
export class DirectorySchedule {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private stopped = false;

  constructor(
    private readonly rt: Runtime,
    private readonly apps: AppHandle[],
    private readonly everyMs: number,
  ) {}

  start(): void {
    const look = () => {
      if (this.stopped) return;
      this.running ??= this.syncDue().finally(() => {
        this.running = undefined;
      });
    };
    this.timer = setInterval(look, Math.min(LOOK_EVERY_MS, this.everyMs));
    this.timer.unref();
    look();
  }

  private async syncDue(): Promise<void> {
    for (const app of this.apps) {
      if (this.stopped) return;
      try {
        const state = await this.rt.store.directorySync(app.appKey, this.rt.now());
        if (state?.running || (state?.startedAt != null && state.startedAt + this.everyMs > this.rt.now())) continue;
        await syncDirectory(this.rt, app);
      } catch (err) {
        if (err instanceof SyncRunning) continue;
        this.rt.log.warn({ app: app.name, err: describe(err) }, 'scheduled directory sync failed');
      }
    }
  }

  /** No new syncs; one in progress is waited for (a bounded time: its claim runs out if it is cut off). */
  async stop(maxWaitMs = 2_000): Promise<void> {
    this.stopped = true;
    clearInterval(this.timer);
    if (this.running) await Promise.race([this.running, new Promise((r) => setTimeout(r, maxWaitMs).unref())]);
  }
}
