import { randomBytes } from 'node:crypto';
import { normalizeMobile } from '../domain/mobile.js';
import type { AppHandle, Runtime } from '../dispatch/runtime.js';
import { describe } from '../dispatch/describe.js';

/** How long a sync's claim holds without renewal: a sync whose process died blocks the next one at most this long. */
export const SYNC_CLAIM_MS = 60_000;

export interface SyncResult {
  app: string;
  users: number;
  departments: number;
  /** DingTalk calls the walk made (department listings and user pages). */
  calls: number;
  ms: number;
}

/** A sync of this app runs already (on this instance or another sharing the store). */
export class SyncRunning extends Error {
  override name = 'SyncRunning';
  constructor(readonly app: string) {
    super(`a directory sync of app "${app}" is running already`);
  }
}

/** The claim ran out while the sync ran (its renewals stalled) and another sync took it: this one wrote nothing. */
export class SyncSuperseded extends Error {
  override name = 'SyncSuperseded';
  constructor(readonly app: string) {
    super(`the directory sync of app "${app}" lost its claim to another sync; nothing was written`);
  }
}

/**
 * Reads the app's whole org from DingTalk (walkOrg: its calls paced like every other call of the app) and replaces
 * the app's directory with it in one transaction. The directory is kept under the app's AppKey, not its name: it
 * lists one org's people, and a name pointed at another app (a test org's key replaced by production's) starts with
 * an empty directory instead of resolving mobiles to the other org's userids. One sync of an app at a time, across instances: the store's claim,
 * renewed while the walk runs. A failure leaves the previous directory as it was and records why.
 */
export async function syncDirectory(rt: Runtime, app: AppHandle): Promise<SyncResult> {
  const owner = `sync-${process.pid}-${randomBytes(4).toString('hex')}`;
  const started = performance.now();
  if (!(await rt.store.claimDirectorySync(app.appKey, owner, rt.now(), rt.now() + SYNC_CLAIM_MS))) throw new SyncRunning(app.name);
  const renewal = setInterval(() => {
    rt.store.renewDirectorySync(app.appKey, owner, rt.now() + SYNC_CLAIM_MS).catch(() => {});
  }, SYNC_CLAIM_MS / 4);
  renewal.unref();
  try {
    const walk = await app.client.walkOrg();
    const users = walk.users.map((u) => ({ ...u, mobile: u.mobile === null ? null : normalizeMobile(u.mobile) }));
    if (!(await rt.store.replaceDirectory(app.appKey, owner, users, walk.departments.length, rt.now()))) throw new SyncSuperseded(app.name);
    const result = { app: app.name, users: users.length, departments: walk.departments.length, calls: walk.calls, ms: Math.round(performance.now() - started) };
    rt.log.info(result, 'directory synced');
    return result;
  } catch (err) {
    if (!(err instanceof SyncSuperseded)) await rt.store.failDirectorySync(app.appKey, owner, describe(err)).catch(() => {});
    throw err;
  } finally {
    clearInterval(renewal);
  }
}
