import type { DingTalkApp } from '@dingpush/dingtalk';
import { newId } from '../ids.js';
import type { DeliveryRow, JobRow } from '../store/types.js';
import { sendFailed, setOutcome } from './outcomes.js';
import type { Runtime } from './runtime.js';
import type { TrackPayload } from './track-payload.js';

/**
 * Resolves the mobiles among `live` to userids (the client caches hits and misses; lookups are paced like any call).
 * Answers the deliveries left to send, or null when the jobs were rescheduled or failed and the caller must stop.
 */
export async function resolveMobiles(rt: Runtime, app: DingTalkApp, appName: string, jobs: JobRow[], live: DeliveryRow[], dueAt: number): Promise<DeliveryRow[] | null> {
  const now = rt.now();
  const invalid: DeliveryRow[] = [];
  const markInvalid = () => setOutcome(rt, invalid, { status: 'invalid', reason: 'no active DingTalk user has this mobile' });
  for (const d of live) {
    if (d.recipientKind !== 'mobile' || d.userid) continue;
    if ((await app.directoryCache.get(d.recipient)) === undefined) {
      const wait = rt.pacer.appCall(appName, 'getbymobile', now);
      if (wait > 0) {
        await markInvalid();
        await rt.store.rescheduleJobs(
          jobs.map((j) => j.id),
          now + wait,
          null,
        );
        return null;
      }
    }
    try {
      const userid = await app.getUserIdByMobile(d.recipient);
      if (userid === null) invalid.push(d);
      else {
        d.userid = userid;
        await rt.store.updateDeliveries([d.id], { userid }, now);
      }
    } catch (err) {
      await markInvalid();
      await sendFailed(rt, jobs, live.filter((x) => !invalid.includes(x)), err, dueAt);
      return null;
    }
  }
  await markInvalid();
  return live.filter((d) => !invalid.includes(d));
}

/** Schedules the first look at a sent work notification or app-robot message. */
export async function scheduleTracking(rt: Runtime, job: JobRow, sent: DeliveryRow[], target: Pick<TrackPayload, 'channel' | 'taskId' | 'processQueryKey' | 'body'>): Promise<void> {
  const now = rt.now();
  const payload: TrackPayload = {
    ...target,
    app: job.destination!,
    deliveryIds: sent.map((d) => d.id),
    contentHash: job.contentHash,
    sentAt: now,
    polls: 0,
    readChecks: 0,
  };
  await rt.store.addJobs(
    [{ id: newId('job'), kind: 'track', notificationId: sent[0]!.notificationId, channel: target.channel, destination: job.destination, contentHash: null, runAt: now + rt.config.tracking.firstCheckMs, payload }],
    now,
  );
}
