import { BATCH_LIMIT } from '../../domain/channel-limits.js';
import { DingTalkError, LIMITS, type SendResult } from '@dingpush/dingtalk';
import { isGroup, memberId, type NewMember } from '../../domain/members.js';
import type { TrackPayload } from '../../domain/jobs.js';
import type { DeliveryRow } from '../../domain/records.js';
import { DAY_MS, nextShanghaiMidnight, shanghaiDay } from '../day.js';
import { describe } from '../describe.js';
import { work } from '../unit-of-work.js';
import type { Runtime } from '../runtime.js';
import type { ChannelDescriptor, TrackResult } from './descriptor.js';

const SEND_API = '/topapi/message/corpconversation/asyncsend_v2';
const capKey = (appKey: string, userid: string, day: number) => `cap|${appKey}|${userid}|${day}`;

/** What DingTalk's silent filters mean for a recipient (getsendresult forbidden_list codes, §11.2). */
const FILTER_REASONS: Record<string, string> = {
  '143103': 'DingTalk per-minute recipient limit (143103)',
  '143104': 'DingTalk per-minute recipient limit for the organisation (143104)',
  '143105': 'DingTalk daily cap of messages per user (143105)',
  '143106': 'DingTalk filtered identical content already sent to this user today (143106)',
  '1430002': 'DingTalk found prohibited content (1430002)',
  '1430004': 'DingTalk executive protection (1430004)',
};

/** How many people a send to a department (or to all users) reached last time. */
const reachKey = (appKey: string, group: string) => `reach|${appKey}|${group}`;

/** The people a batch names itself (member rows are outcomes of a department send, never sent on their own). */
const people = (rows: DeliveryRow[]) => rows.filter((d) => d.userid !== null && (d.recipientKind === 'userid' || d.recipientKind === 'mobile'));

/** Work notifications (工作通知): asyncsend_v2, ≤100 userids and ≤20 departments a call, tracked by getsendresult. */
export const workNotice: ChannelDescriptor = {
  channel: 'work_notice',
  batchLimit: BATCH_LIMIT.work_notice,
  resolvesMobiles: true,
  lostAnswer: 'resend-and-prove',
  inOrder: false,
  waiting: 'slot',
  configured: (rt, app) => rt.apps.has(app),

  selectBatch(waiting) {
    const toAll = waiting.find((d) => d.recipientKind === 'all');
    if (toAll) return [toAll];
    const userids = new Set<string>();
    const depts = new Set<string>();
    return waiting.filter((d) => {
      if (d.recipientKind === 'dept') {
        if (depts.size >= LIMITS.workNoticeDeptIds && !depts.has(d.recipient)) return false;
        depts.add(d.recipient);
        return true;
      }
      if (d.userid === null || d.recipientKind === 'member') return false;
      if (userids.size >= LIMITS.workNoticeUserIds && !userids.has(d.userid)) return false;
      userids.add(d.userid);
      return true;
    });
  },

  /**
   * Recipients a minute count people; a department or all-users send counts the people it reached the last time
   * (learnt from DingTalk's result), or the whole minute's allowance when that is not known yet.
   */
  async pacing(rt, app, batch) {
    const { appKey } = rt.apps.get(app)!;
    const groups = batch.filter((d) => d.recipientKind === 'dept' || d.recipientKind === 'all').map((d) => reachKey(appKey, d.recipient));
    let weight: number | 'unknown' = new Set(people(batch).map((d) => d.userid)).size;
    if (groups.length) {
      const known = await work(rt, null, (tx) => tx.counters(groups));
      weight = groups.every((k) => known.has(k)) ? weight + groups.reduce((sum, k) => sum + known.get(k)!, 0) : 'unknown';
    }
    return [rt.quotas.appCall(appKey, SEND_API), rt.quotas.recipientsOf(appKey, weight)];
  },

  /** The 500-a-day cap per user: whoever reached it waits for tomorrow instead of being silently dropped by DingTalk. */
  async admit(tx, rt, app, batch) {
    const { appKey } = rt.apps.get(app)!;
    const day = shanghaiDay(tx.now);
    const users = [...new Set(people(batch).map((d) => d.userid!))];
    if (users.length === 0) return null;
    const counts = await tx.counters(users.map((u) => capKey(appKey, u, day)));
    const cap = rt.config.delivery.perUserPerDay;
    const full = new Set(users.filter((u) => (counts.get(capKey(appKey, u, day)) ?? 0) >= cap));
    const admitted = users.filter((u) => !full.has(u));
    await tx.addToCounters(new Map(admitted.map((u) => [capKey(appKey, u, day), 1])), nextShanghaiMidnight(tx.now) + DAY_MS);
    const held = people(batch).filter((d) => full.has(d.userid!));
    if (held.length === 0) return null;
    return {
      rows: held,
      until: nextShanghaiMidnight(tx.now) + Math.floor(Math.random() * 60_000),
      reason: `DingTalk allows ${cap} messages a day per user; waits until tomorrow`,
    };
  },

  async release(tx, rt, app, batch) {
    const { appKey } = rt.apps.get(app)!;
    const day = shanghaiDay(tx.now);
    const users = [...new Set(people(batch).map((d) => d.userid!))];
    await tx.addToCounters(new Map(users.map((u) => [capKey(appKey, u, day), -1])), nextShanghaiMidnight(tx.now) + DAY_MS);
  },

  async send(rt, app, body, batch) {
    const toAll = batch.some((d) => d.recipientKind === 'all');
    const userIds = [...new Set(people(batch).map((d) => d.userid!))];
    const deptIds = [...new Set(batch.filter((d) => d.recipientKind === 'dept').map((d) => Number(d.recipient)))];
    const taskId = await rt.apps.get(app)!.client.sendWorkNoticeOnce({ userIds, deptIds, toAllUsers: toAll }, body as never);
    return { taskId: String(taskId) };
  },

  tracking: {
    api: '/topapi/message/corpconversation/getsendresult',
    async look(rt, p, deliveries): Promise<TrackResult> {
      const app = rt.apps.get(p.app)!.client;
      const out: TrackResult = { moves: [], heldBack: [], unfinished: [] };
      const now = rt.now();
      // With only people, one getsendresult says everything (a recipient in no list is not done yet); a department or
      // all-users send not looked at yet needs the progress first, since who it reaches is not known here.
      if (deliveries.some((d) => isGroup(d) && d.status === 'sent')) {
        const progress = await app.getSendProgress(p.taskId!);
        if (progress.status !== 2) return { ...out, unfinished: deliveries };
      }
      let result: SendResult;
      try {
        result = await app.getSendResult(p.taskId!);
      } catch (err) {
        if (err instanceof DingTalkError && err.code === 41052) {
          out.moves.push({ rows: deliveries.filter((d) => d.status === 'sent'), move: 'unread', reason: 'delivered; DingTalk reports no per-recipient result for tasks of more than 100 recipients' });
          return out;
        }
        throw err;
      }
      const groups = new Map<string, TrackResult['moves'][number]>();
      const add = (key: string, entry: Omit<TrackResult['moves'][number], 'rows'>, d: DeliveryRow) => {
        if (entry.move !== null && entry.move === 'unread' && d.status === 'unread') return;
        const g = groups.get(key) ?? { ...entry, rows: [] };
        g.rows.push(d);
        groups.set(key, g);
      };
      const groupRows = deliveries.filter(isGroup);
      if (groupRows.length === 1 && groupRows.length === deliveries.length) {
        const reached = result.readUserIds.length + result.unreadUserIds.length + result.forbiddenUserIds.length + result.failedUserIds.length;
        out.learnt = new Map([[reachKey(rt.apps.get(p.app)!.appKey, groupRows[0]!.recipient), reached]]);
      }
      const forbidden = new Map(result.forbidden.map((f) => [f.userid, f.code]));
      const read = new Set(result.readUserIds);
      const unread = new Set(result.unreadUserIds);
      for (const d of deliveries) {
        if (d.recipientKind === 'member') continue; // below, with the people DingTalk named
        if (isGroup(d)) {
          if (d.recipientKind === 'dept' && result.invalidDeptIds.includes(Number(d.recipient))) add('invalid-dept', { move: 'invalidAtDingTalk', reason: 'no such department' }, d);
          else {
            const allRead = result.unreadUserIds.length === 0 && result.readUserIds.length > 0;
            const summary = `delivered: ${result.readUserIds.length} read, ${result.unreadUserIds.length} unread, ${result.forbiddenUserIds.length} filtered, ${result.invalidUserIds.length} invalid`;
            // Looked at again for its people's reads: the summary is brought up to date even while some are unread.
            if (!allRead && d.status === 'unread') add(`summary-${summary}`, { move: null, reason: summary }, d);
            else add(`summary-${allRead}`, { move: allRead ? 'read' : 'unread', reason: summary }, d);
          }
          continue;
        }
        const u = d.userid!;
        if (read.has(u)) add('read', { move: 'read', reason: null }, d);
        else if (unread.has(u)) add('unread', { move: 'unread', reason: null }, d);
        else if (d.status === 'unread') continue;
        else if (result.invalidUserIds.includes(u)) add('invalid', { move: 'invalidAtDingTalk', reason: 'not an active user of this organisation' }, d);
        else if (result.failedUserIds.includes(u)) add('failed', { move: 'undeliverable', reason: 'DingTalk could not deliver it (failed_user_id_list)' }, d);
        else if (forbidden.has(u) || result.forbiddenUserIds.includes(u)) {
          const code = forbidden.get(u) ?? '';
          if (code === '143106' && d.ambiguous)
            // Proven delivered, by the earlier attempt whose answer (and task id) was lost: nothing more to learn.
            add('lost-answer', { move: null, clearTask: true, reason: 'delivered by an earlier attempt whose answer was lost (DingTalk\'s duplicate filter proves it); its read status cannot be known without that attempt\'s task id' }, d);
          else if (code === '143105') out.heldBack.push({ rows: [d], at: nextShanghaiMidnight(now) + Math.floor(Math.random() * 60_000), reason: `${FILTER_REASONS[code]}; waits until tomorrow` });
          else if (code === '143103' || code === '143104') out.heldBack.push({ rows: [d], at: now + 60_000, reason: `${FILTER_REASONS[code]}; sending again in a minute` });
          else add(`throttled-${code}`, { move: 'filtered', reason: FILTER_REASONS[code] ?? `DingTalk filtered it (${code || 'no code'})` }, d);
        } else out.unfinished.push(d);
      }
      const members = await membersOf(rt, p, deliveries, result);
      out.members = members.fresh;
      for (const m of members.rows) {
        const u = m.userid!;
        const code = forbidden.get(u);
        if (read.has(u)) add('read', { move: 'read', reason: null }, m);
        else if (unread.has(u)) add('unread', { move: 'unread', reason: null }, m);
        else if (m.status === 'unread') continue;
        else if (result.invalidUserIds.includes(u)) add('invalid', { move: 'invalidAtDingTalk', reason: 'not an active user of this organisation' }, m);
        else if (result.failedUserIds.includes(u)) add('failed', { move: 'undeliverable', reason: 'DingTalk could not deliver it (failed_user_id_list)' }, m);
        else if (code === '143106' && m.ambiguous)
          add('member-lost-answer', { move: 'unread', reason: 'delivered by an earlier attempt whose answer was lost (DingTalk\'s duplicate filter proves it); its read status cannot be known' }, m);
        // A department's send is not repeated for one person: whoever DingTalk held back stays throttled, with its code.
        else add(`member-throttled-${code}`, { move: 'filtered', reason: `${FILTER_REASONS[code ?? ''] ?? `DingTalk filtered it (${code || 'no code'})`}; a department or all-users send is not repeated for one person` }, m);
      }
      out.moves.push(...groups.values());
      if (out.unfinished.length && now - p.sentAt > DAY_MS) {
        out.moves.push({ rows: out.unfinished, move: 'unread', reason: 'delivered; DingTalk reported no outcome within 24 h' });
        out.unfinished = [];
      }
      return out;
    },
  },

  recall: {
    api: '/topapi/message/corpconversation/recall',
    plan(app, delivered) {
      const byTask = new Map<string, string[]>();
      for (const d of delivered) if (d.taskId) byTask.set(d.taskId, [...(byTask.get(d.taskId) ?? []), d.id]);
      return [...byTask].map(([taskId, deliveryIds]) => ({ step: 'message' as const, channel: 'work_notice' as const, app, taskId: Number(taskId), deliveryIds }));
    },
    async execute(rt, p) {
      try {
        await rt.apps.get(p.app)!.client.recallWorkNotice(p.taskId!);
        return { recalled: p.deliveryIds, failed: new Map() };
      } catch (err) {
        if (err instanceof DingTalkError && !err.retryable) return { recalled: [], failed: new Map(p.deliveryIds.map((id) => [id, describe(err)])) };
        throw err;
      }
    },
  },
};

const DELIVERED = new Set(['sent', 'unread', 'read']);

/**
 * The people of a department or all-users send that DingTalk named in its result (every list: read, unread,
 * invalid, filtered, failed), as member rows of the notification: those still waiting for an outcome (`sent`, or
 * `unread` for a later read), and those to insert. Someone the notification names itself (a userid or mobile row)
 * is tracked by that row and gets none. When one message carried several notifications (merged sends: another
 * notification's department, or its people, whom DingTalk's lists name alongside the department's), the lists cannot
 * tell whose person is whose: the departments keep only their summary. That is judged on every row the message
 * carried, not on the rows this poll looks at (a read re-check sees only the unread ones).
 */
async function membersOf(rt: Runtime, p: TrackPayload, deliveries: DeliveryRow[], result: SendResult): Promise<{ rows: DeliveryRow[]; fresh: NewMember[] }> {
  const none = { rows: [], fresh: [] };
  if (!deliveries.some((d) => isGroup(d) || d.recipientKind === 'member')) return none;
  const task = String(p.taskId);
  const carried = (await rt.store.deliveries({ task: { destination: p.app, taskId: task } })).filter((d) => d.channel === p.channel);
  const owners = new Set(carried.map((d) => d.notificationId));
  if (owners.size !== 1) return none;
  const rows = (await rt.store.deliveries({ notificationId: [...owners][0]! })).filter((d) => d.channel === p.channel && d.destination === p.app);
  const aggregate = rows.find((d) => isGroup(d) && d.taskId === task && DELIVERED.has(d.status));
  const base = aggregate ?? rows.find((d) => d.recipientKind === 'member' && d.taskId === task);
  if (!base) return none;
  const explicit = new Set(rows.filter((d) => (d.recipientKind === 'userid' || d.recipientKind === 'mobile') && d.userid !== null && (d.part ?? 0) === (base.part ?? 0)).map((d) => d.userid!));
  const existing = new Map(rows.filter((d) => d.recipientKind === 'member').map((d) => [d.id, d]));
  const forbidden = new Map(result.forbidden.map((f) => [f.userid, f.code]));
  const named = new Set([...result.readUserIds, ...result.unreadUserIds, ...result.invalidUserIds, ...result.failedUserIds, ...result.forbiddenUserIds, ...forbidden.keys()]);
  const out: { rows: DeliveryRow[]; fresh: NewMember[] } = { rows: [], fresh: [] };
  for (const userid of named) {
    if (explicit.has(userid)) continue;
    const id = memberId(base, userid);
    const row = existing.get(id);
    if (row) {
      // Another task of the notification (more than 20 departments) reached this person first: that row is theirs.
      if (row.taskId === task && (row.status === 'sent' || row.status === 'unread')) out.rows.push(row);
      continue;
    }
    if (!aggregate) continue;
    const ambiguous = aggregate.ambiguous && forbidden.get(userid) === '143106';
    out.fresh.push({ id, userid, of: aggregate, ambiguous });
    out.rows.push({ ...aggregate, id, recipient: userid, recipientKind: 'member', userid, status: 'sent', reason: null, ambiguous, lostAnswerAt: null, recallError: null });
  }
  return out;
}
