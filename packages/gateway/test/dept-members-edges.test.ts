import { describe, expect, it } from 'vitest';
import type { NotificationView } from '../src/server.js';
import { text, useGateway } from './helpers.js';

/** Per-person rows of a department send whose DingTalk message also carried another notification (merged send). */

const ORG = {
  departments: [
    { id: 1, name: 'Root' },
    { id: 2, name: 'Ops', parentId: 1 },
    { id: 3, name: 'Rest', parentId: 1 },
  ],
  users: [
    { userid: 'ops0', name: 'Ops 0', deptIds: [2] },
    { userid: 'ops1', name: 'Ops 1', deptIds: [2] },
    { userid: 'u0', name: 'User 0', deptIds: [3] },
    { userid: 'u1', name: 'User 1', deptIds: [3] },
  ],
};

const members = (n: NotificationView) => n.deliveries!.filter((d) => d.recipientKind === 'member');
const settled = (n: NotificationView) => n.status === 'completed';

describe('a department send merged with another notification (delivery.mergeAcrossNotifications)', () => {
  const env = useGateway({ editOrg: (org) => Object.assign(org, ORG), config: { delivery: { mergeAcrossNotifications: true, pollMs: 20 } } });

  // DingTalk's lists name the department's people and the other notification's person alike, and cannot tell whose is
  // whose: the department keeps its summary row alone (no row for ops0, who is not in it).
  it('the other notification\'s named person gets no member row in the department\'s notification', async () => {
    await env.switches({ readPercent: 0 });
    await env.advance(61_000);
    const at = new Date(env.now() + 500).toISOString();
    const [a, b] = await Promise.all([
      env.api.send({ to: { deptIds: [3] }, message: text('merged dept'), sendAt: at }),
      env.api.send({ to: { userIds: ['ops0'] }, message: text('merged dept'), sendAt: at }),
    ]);
    const na = await env.api.waitFor(a!.id, { until: settled, timeoutMs: 20_000 });
    const nb = await env.api.waitFor(b!.id, { until: settled, timeoutMs: 20_000 });
    expect(na.deliveries!.find((d) => d.recipientKind === 'dept')!.taskId).toBe(nb.deliveries![0]!.taskId);
    expect(nb.deliveries![0]!.status).toBe('unread');
    expect(members(na)).toEqual([]);
    expect(na.deliveries!.filter((d) => d.userid === 'ops0' || d.recipient === 'ops0')).toEqual([]);
    expect(na.counts).toEqual({ unread: 1 });
  });
});
