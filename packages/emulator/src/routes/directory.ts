import type { FastifyInstance } from 'fastify';
import { needNumber, oapiAuth, optNumber, query, topBody } from '../http.js';
import { oapiError, ok } from '../oapi.js';
import type { OrgUser } from '../org.js';
import type { EmulatorState } from '../state.js';

/** Users and departments from the org file (§2). Directory calls are exempt from the monthly quota. */
export function registerDirectory(app: FastifyInstance, state: EmulatorState): void {
  const checkMobile = (mobile: unknown): string => {
    if (typeof mobile !== 'string' || mobile === '') throw oapiError(400002, 'mobile 缺失');
    if (mobile.length > 15 || !/^\+?[\d-]+$/.test(mobile)) throw oapiError(40104);
    return mobile;
  };

  app.post('/topapi/v2/user/getbymobile', async (req) => {
    oapiAuth(state, req, { top: true, quotaExempt: true });
    const mobile = checkMobile(topBody(req).mobile);
    const user = state.userByMobile(mobile);
    if (!user) throw oapiError(60121);
    return ok({ result: { userid: user.userid } });
  });

  app.get('/user/get_by_mobile', async (req) => {
    oapiAuth(state, req, { top: false, quotaExempt: true });
    const mobile = checkMobile(query(req).mobile);
    const user = state.userByMobile(mobile);
    if (!user) throw oapiError(60121);
    return ok({ userid: user.userid });
  });

  app.post('/topapi/v2/user/get', async (req) => {
    oapiAuth(state, req, { top: true, quotaExempt: true });
    const userid = topBody(req).userid;
    if (typeof userid !== 'string' || userid === '') throw oapiError(400002, 'userid 缺失');
    const user = state.user(userid);
    if (!user) throw oapiError(33012);
    return ok({ result: userDetails(user) });
  });

  app.post('/topapi/v2/department/listsub', async (req) => {
    oapiAuth(state, req, { top: true, quotaExempt: true });
    const id = optNumber(topBody(req), 'dept_id') ?? 1;
    if (!state.department(id)) throw oapiError(60003);
    return ok({
      result: state.subDepartments(id).map((d) => ({
        dept_id: d.id,
        name: d.name,
        parent_id: d.parentId ?? 1,
        create_dept_group: false,
        auto_add_user: false,
      })),
    });
  });

  app.post('/topapi/v2/department/listsubid', async (req) => {
    oapiAuth(state, req, { top: true, quotaExempt: true });
    const id = needNumber(topBody(req), 'dept_id');
    if (!state.department(id)) throw oapiError(60003);
    return ok({ result: { dept_id_list: state.subDepartments(id).map((d) => d.id) } });
  });

  // Department users with details (§2.4): direct members only, paged by an offset cursor, at most 100 a page.
  app.post('/topapi/v2/user/list', async (req) => {
    oapiAuth(state, req, { top: true, quotaExempt: true });
    const body = topBody(req);
    const id = needNumber(body, 'dept_id', 400002);
    const cursor = needNumber(body, 'cursor', 400002);
    const size = needNumber(body, 'size', 400002);
    if (!Number.isInteger(cursor) || cursor < 0) throw oapiError(400002, 'cursor 须为非负整数');
    if (!Number.isInteger(size) || size < 1 || size > 100) throw oapiError(400002, 'size 须在1到100之间');
    if (!state.department(id)) throw oapiError(60003);
    const members = state.directMembers(id);
    const page = members.slice(cursor, cursor + size);
    const hasMore = cursor + size < members.length;
    return ok({
      result: {
        has_more: hasMore,
        ...(hasMore ? { next_cursor: cursor + size } : {}),
        list: page.map(listEntry),
      },
    });
  });

  app.post('/topapi/user/listid', async (req) => {
    oapiAuth(state, req, { top: true, quotaExempt: true });
    const id = needNumber(topBody(req), 'dept_id');
    if (!state.department(id)) throw oapiError(60003);
    return ok({ result: { userid_list: state.usersInDepartments([id]) } });
  });
}

function userDetails(user: OrgUser) {
  return {
    userid: user.userid,
    unionid: `union${user.userid}`,
    name: user.name,
    avatar: '',
    state_code: '86',
    mobile: user.mobile,
    hide_mobile: false,
    title: user.title ?? '',
    email: user.email ?? '',
    dept_id_list: user.deptIds,
    active: user.active,
    admin: false,
    boss: false,
    senior: false,
    real_authed: true,
  };
}

/** One member as /topapi/v2/user/list lists it; `mobile` only when the user has one (the contacts scope is checked per endpoint). */
function listEntry(user: OrgUser) {
  return {
    userid: user.userid,
    unionid: `union${user.userid}`,
    name: user.name,
    ...(user.mobile ? { mobile: user.mobile, state_code: '86' } : {}),
    dept_id_list: user.deptIds,
    title: user.title ?? '',
    job_number: '',
    active: user.active,
    admin: false,
    leader_in_dept: user.deptIds.map((dept_id) => ({ dept_id, leader: false })),
  };
}
