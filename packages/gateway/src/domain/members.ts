import { createHash } from 'node:crypto';
import type { DeliveryRow } from './records.js';

/**
 * The people a department or all-users work notification reached (issue 9): one delivery row per person, learnt
 * from DingTalk's getsendresult lists, of recipientKind 'member'. A member row is an outcome, never something to
 * send: it is not a `userid` row, so no send path, daily-cap admission or held-back re-send ever picks it up (DingTalk
 * sent it as part of the department's message; the aggregate dept/all row is what was sent).
 */

/** A department (or everyone) as one recipient: the row that was sent. */
export const isGroup = (d: Pick<DeliveryRow, 'recipientKind'>) => d.recipientKind === 'dept' || d.recipientKind === 'all';

/**
 * One row per (notification, channel, part, person), whatever poll, retry or crash inserts it: the id is derived
 * from those, and an insert of an existing id changes nothing.
 */
export function memberId(d: Pick<DeliveryRow, 'notificationId' | 'channel' | 'part'>, userid: string): string {
  const digest = createHash('sha256').update(`${d.notificationId}\u0000${d.channel}\u0000${d.part ?? 0}\u0000${userid}`).digest('base64url');
  return `mbr_${digest.slice(0, 24)}`;
}

/** A member row to insert (in `sent`: the department's send carried it), with the aggregate row it came from. */
export interface NewMember {
  id: string;
  userid: string;
  of: DeliveryRow;
  /** Its copy may come from an earlier send whose answer was lost (DingTalk's duplicate filter proved it arrived). */
  ambiguous: boolean;
}

/**
 * The rows `counts` tallies: one per recipient. A dept/all row whose people have rows of their own is represented by
 * them and left out, or each person would be counted twice; it still counts when it is an outcome of its own (no
 * such department: `invalid`), and when DingTalk named nobody (a task of more than 100 recipients has no result).
 */
export function countedRows(deliveries: DeliveryRow[]): DeliveryRow[] {
  const withMembers = new Set(deliveries.filter((d) => d.recipientKind === 'member').map((d) => `${d.destination}\u0000${d.taskId}`));
  return deliveries.filter((d) => !(isGroup(d) && d.status !== 'invalid' && withMembers.has(`${d.destination}\u0000${d.taskId}`)));
}
