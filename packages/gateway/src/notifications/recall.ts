import { DingTalkError } from '@dingpush/dingtalk';
import { describe, setOutcome } from '../dispatch/outcomes.js';
import type { Runtime } from '../dispatch/runtime.js';
import type { DeliveryRow, NotificationRow } from '../store/types.js';

export interface RecallResult {
  recalled: number;
  notRecalled: { recipient: string; channel: string; reason: string }[];
}

/**
 * Recalls what can be recalled: deliveries not sent yet are cancelled, work notifications and app-robot messages
 * are recalled at DingTalk (within its 24 h window); custom-robot and chat messages cannot be.
 */
export async function recallNotification(rt: Runtime, n: NotificationRow): Promise<RecallResult> {
  const deliveries = await rt.store.deliveriesOf(n.id);
  const result: RecallResult = { recalled: 0, notRecalled: [] };
  const skip = (d: DeliveryRow, reason: string) => result.notRecalled.push({ recipient: d.recipient, channel: d.channel, reason });
  const recalled = async (rows: DeliveryRow[], reason: string) => {
    await setOutcome(rt, rows, { status: 'recalled', reason });
    result.recalled += rows.length;
  };

  await recalled(deliveries.filter((d) => d.status === 'queued'), 'recalled before it was sent');
  const delivered = deliveries.filter((d) => ['sent', 'read', 'unread'].includes(d.status));
  for (const d of deliveries.filter((x) => x.status === 'sending')) skip(d, 'being sent right now; recall again in a moment');

  const byTask = new Map<string, DeliveryRow[]>();
  const byKey = new Map<string, DeliveryRow[]>();
  for (const d of delivered) {
    if (d.channel === 'work_notice' && d.taskId) byTask.set(`${d.destination}|${d.taskId}`, [...(byTask.get(`${d.destination}|${d.taskId}`) ?? []), d]);
    else if (d.channel === 'robot_oto' && d.processQueryKey) byKey.set(d.destination, [...(byKey.get(d.destination) ?? []), d]);
    else skip(d, d.channel === 'robot' ? 'DingTalk cannot recall custom-robot messages' : 'DingTalk cannot recall chat/send messages');
  }
  for (const [key, rows] of byTask) {
    const [appName, taskId] = key.split('|') as [string, string];
    const app = rt.apps.get(appName);
    try {
      if (!app) throw new Error(`app "${appName}" is no longer configured`);
      await app.recallWorkNotice(Number(taskId));
      await recalled(rows, 'recalled');
    } catch (err) {
      for (const d of rows) skip(d, err instanceof DingTalkError ? describe(err) : String((err as Error).message));
    }
  }
  for (const [appName, rows] of byKey) {
    const app = rt.apps.get(appName);
    if (!app) {
      for (const d of rows) skip(d, `app "${appName}" is no longer configured`);
      continue;
    }
    try {
      const keys = [...new Set(rows.map((d) => d.processQueryKey!))];
      const { recalled: ok, failed } = await app.recallOto(keys);
      await recalled(rows.filter((d) => ok.includes(d.processQueryKey!)), 'recalled');
      for (const d of rows.filter((x) => !ok.includes(x.processQueryKey!))) skip(d, `DingTalk: ${failed[d.processQueryKey!] ?? 'not recalled'}`);
    } catch (err) {
      for (const d of rows) skip(d, describe(err));
    }
  }
  await rt.store.markRecalled(n.id, rt.now());
  return result;
}
