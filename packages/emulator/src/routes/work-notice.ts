import { createHash } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { DAY_MS, shanghaiDay } from '../clock.js';
import { commaList, jsonField, needNumber, oapiAuth, optBool, topBody } from '../http.js';
import { canonicalJson, validateWorkMessage } from '../messages/work-message.js';
import { oapiError, ok } from '../oapi.js';
import type { OrgApp } from '../org.js';
import type { EmulatorState, WorkTask } from '../state.js';

const MAX_RECIPIENTS = 5000;
const RESULT_MAX_RECIPIENTS = 100;

/** Work notifications (§3): asynchronous sends, silent per-user filtering, progress, result, recall, status bar. */
export function registerWorkNotice(app: FastifyInstance, state: EmulatorState): void {
  const base = '/topapi/message/corpconversation';

  app.post(`${base}/asyncsend_v2`, async (req) => {
    const orgApp = oapiAuth(state, req, { top: true });
    const body = topBody(req);
    checkAgent(orgApp, needNumber(body, 'agent_id', 41011));
    const msg = jsonField(body, 'msg');
    if (msg === undefined) throw oapiError(40035, 'msg 缺失');
    const { msgtype, body: inner } = validateWorkMessage(msg, state.media);
    const sw = state.org.switches;
    if (sw.strictMsgBytes && Buffer.byteLength(JSON.stringify(msg)) > 2048) throw oapiError(34016, 'msg 超过2048字节');

    const userids = commaList(body, 'userid_list');
    const deptIds = commaList(body, 'dept_id_list').map((d) => {
      const n = Number(d);
      if (!Number.isInteger(n) || n <= 0) throw oapiError(40035, `dept_id_list 含非法部门id ${d}`);
      return n;
    });
    const toAll = optBool(body, 'to_all_user');
    if (!toAll && userids.length === 0 && deptIds.length === 0)
      throw oapiError(40035, 'userid_list、dept_id_list、to_all_user 不能同时为空');
    if (userids.length > sw.workNoticeMaxUsers) throw oapiError(40035, `userid_list 最多${sw.workNoticeMaxUsers}个`);
    if (deptIds.length > sw.workNoticeMaxDepts) throw oapiError(40035, `dept_id_list 最多${sw.workNoticeMaxDepts}个`);
    if (msgtype === 'oa' && inner.status_bar !== undefined) {
      if (toAll || deptIds.length > 0) throw oapiError(40035, '带status_bar的OA消息只能发送给userid_list');
      if (userids.length > 5) throw oapiError(40035, '带status_bar的OA消息最多发送给5人');
    }

    const now = state.now();
    if (toAll) {
      if (state.toAllDaily.count(orgApp.appKey, now) >= sw.toAllPerDay) throw oapiError(41045);
    }

    const recipients = new Set<string>();
    const invalidUsers: string[] = [];
    const invalidDepts: number[] = [];
    for (const id of userids) {
      if (state.user(id)) recipients.add(id);
      else if (!invalidUsers.includes(id)) invalidUsers.push(id);
    }
    // A department (with its sub-departments) or the whole org reaches its active people; someone still listed but
    // not active (left, or never activated) is reported in invalid_user_id_list ("don't exist / not visible", §3.3).
    const reach = (members: { userid: string; active: boolean }[]) => {
      for (const u of members) {
        if (u.active) recipients.add(u.userid);
        else if (!invalidUsers.includes(u.userid)) invalidUsers.push(u.userid);
      }
    };
    for (const id of deptIds) {
      if (!state.department(id)) invalidDepts.push(id);
      else reach(state.peopleInDepartments(state.departmentTree(id)));
    }
    if (toAll) reach(state.org.users);
    if (recipients.size > MAX_RECIPIENTS) throw oapiError(41029);
    if (toAll) state.toAllDaily.add(orgApp.appKey, now);

    const task: WorkTask = {
      taskId: state.nextTaskId++,
      app: orgApp.appKey,
      createdAt: now,
      doneAt: now + sw.deliveryMs,
      msg: msg as Record<string, unknown>,
      delivered: new Map(),
      invalidUsers,
      invalidDepts,
      forbidden: [],
      failed: [],
      recipientCount: recipients.size + invalidUsers.length,
      recalled: false,
    };
    const contentHash = createHash('sha1').update(canonicalJson(msg)).digest('hex');
    for (const userid of recipients) {
      const reason = filterReason(state, orgApp, userid, contentHash, now);
      if (reason) {
        task.forbidden.push({ userid, ...reason });
        continue;
      }
      if (state.user(userid)?.deliveryFails) {
        task.failed.push(userid);
        continue;
      }
      state.userDaily.add(`${orgApp.appKey}|${userid}`, now);
      state.contentSeen.set(`${orgApp.appKey}|${userid}|${contentHash}`, now);
      state.recipientsWindow.add(orgApp.appKey, now);
      const entry = state.newMessage({
        channel: 'work_notice',
        from: orgApp.name,
        msgtype,
        message: task.msg,
        sentAt: now,
        deliveredAt: task.doneAt,
        readAt: state.readTime(`${task.taskId}|${userid}`, task.doneAt),
        taskId: task.taskId,
      });
      task.delivered.set(userid, entry);
      state.deliver(state.inboxUsers, userid, entry);
    }
    state.tasks.set(task.taskId, task);
    return ok({ task_id: task.taskId });
  });

  app.post(`${base}/getsendprogress`, async (req) => {
    const task = findTask(state, req, 'task_id', DAY_MS);
    const elapsed = state.now() - task.createdAt;
    const total = task.doneAt - task.createdAt;
    let progress = { progress_in_percent: 100, status: 2 };
    if (elapsed < total) {
      progress =
        elapsed < total * 0.2
          ? { progress_in_percent: 0, status: 0 }
          : { progress_in_percent: Math.floor((elapsed / total) * 100), status: 1 };
    }
    return ok({ progress });
  });

  app.post(`${base}/getsendresult`, async (req) => {
    const task = findTask(state, req, 'task_id', DAY_MS);
    if (task.recipientCount > RESULT_MAX_RECIPIENTS) throw oapiError(41052);
    const now = state.now();
    const done = now >= task.doneAt;
    const read: string[] = [];
    const unread: string[] = [];
    if (done) {
      for (const [userid, entry] of task.delivered) {
        if (entry.readAt !== null && entry.readAt <= now && !entry.recalled) read.push(userid);
        else unread.push(userid);
      }
    }
    return ok({
      send_result: {
        invalid_user_id_list: task.invalidUsers,
        forbidden_user_id_list: task.forbidden.map((f) => f.userid),
        failed_user_id_list: task.failed,
        read_user_id_list: read,
        unread_user_id_list: unread,
        invalid_dept_id_list: task.invalidDepts,
        forbidden_list: task.forbidden,
      },
    });
  });

  app.post(`${base}/recall`, async (req) => {
    const task = findTask(state, req, 'msg_task_id', DAY_MS, 400002);
    task.recalled = true;
    for (const entry of task.delivered.values()) entry.recalled = true;
    state.version++;
    return ok();
  });

  app.post(`${base}/status_bar/update`, async (req) => {
    const task = findTask(state, req, 'task_id', 7 * DAY_MS);
    const body = topBody(req);
    const value = body.status_value;
    if (typeof value !== 'string' || value === '') throw oapiError(40035, 'status_value 缺失');
    if (task.msg.msgtype !== 'oa') throw oapiError(40035, 'task_id 对应的消息不是OA消息');
    const oa = task.msg.oa as Record<string, unknown>;
    const bar: Record<string, unknown> = { ...((oa.status_bar as object) ?? {}), status_value: value };
    if (typeof body.status_bg === 'string') bar.status_bg = body.status_bg;
    oa.status_bar = bar;
    state.version++;
    return ok();
  });
}

function checkAgent(app: OrgApp, agentId: number): void {
  if (agentId !== app.agentId) throw oapiError(40056);
}

function findTask(
  state: EmulatorState,
  req: Parameters<typeof topBody>[0],
  field: string,
  windowMs: number,
  badCode = 40035,
): WorkTask {
  const orgApp = oapiAuth(state, req, { top: true });
  const body = topBody(req);
  checkAgent(orgApp, needNumber(body, 'agent_id', 41011));
  const taskId = needNumber(body, field, badCode);
  const task = state.tasks.get(taskId);
  if (!task || task.app !== orgApp.appKey || state.now() - task.createdAt > windowMs)
    throw oapiError(badCode, `${field} ${taskId}`);
  return task;
}

/** Why a recipient is filtered silently (the send still answers errcode 0), or null to deliver. */
function filterReason(
  state: EmulatorState,
  app: OrgApp,
  userid: string,
  contentHash: string,
  now: number,
): { code: string; count: number } | null {
  const sw = state.org.switches;
  if (state.recipientsWindow.count(app.appKey, now) >= sw.recipientsPerMinute)
    return { code: '143103', count: sw.recipientsPerMinute };
  const seen = state.contentSeen.get(`${app.appKey}|${userid}|${contentHash}`);
  if (seen !== undefined) {
    const sameDay = sw.rollingDay ? now - seen < DAY_MS : shanghaiDay(seen) === shanghaiDay(now);
    if (sameDay) return { code: '143106', count: 1 };
  }
  if (state.userDaily.count(`${app.appKey}|${userid}`, now) >= sw.dailyUserCap)
    return { code: '143105', count: sw.dailyUserCap };
  return null;
}
