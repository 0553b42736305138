import { readFileSync } from 'node:fs';
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { switchesSchema } from '../org.js';
import type { EmulatorState, InboxMessage } from '../state.js';

const faultSchema = z
  .object({
    path: z.string().min(1),
    kind: z.enum(['latency', 'busy', 'http5xx', 'drop', 'dropAfter', 'revokeToken', 'errcode']),
    count: z.number().int().positive().optional(),
    rate: z.number().min(0).max(1).optional(),
    latencyMs: z.number().int().min(0).max(120_000).optional(),
    status: z.number().int().min(500).max(599).optional(),
    errcode: z.number().int().optional(),
    errmsg: z.string().max(200).optional(),
  })
  .refine((f) => f.count !== undefined || f.rate !== undefined, { message: 'give count or rate' })
  .refine((f) => f.kind !== 'errcode' || f.errcode !== undefined, { message: 'an errcode fault needs errcode' });

const clockSchema = z.object({ advanceMs: z.number().int().min(0) });

const pageHtml = () => readFileSync(new URL('../ui/inbox.html', import.meta.url), 'utf8');

/** The inspector (design.md contract): call log, inboxes, clock, faults, reset, org, and the inbox page. */
export function registerInspector(app: FastifyInstance, state: EmulatorState): void {
  const view = (m: InboxMessage, now: number) => ({
    id: m.id,
    channel: m.channel,
    from: m.from,
    msgtype: m.msgtype,
    message: m.message,
    sentAt: m.sentAt,
    deliveredAt: m.deliveredAt,
    status: m.recalled ? 'recalled' : m.readAt !== null && m.readAt <= now ? 'read' : 'unread',
    ...(m.taskId !== undefined ? { taskId: m.taskId } : {}),
    ...(m.processQueryKey !== undefined ? { processQueryKey: m.processQueryKey } : {}),
    ...(m.messageId !== undefined ? { messageId: m.messageId } : {}),
    ...(m.mentions ? { mentions: m.mentions } : {}),
  });
  const box = (list: InboxMessage[] | undefined) => {
    const now = state.now();
    return (list ?? []).filter((m) => m.deliveredAt <= now).map((m) => view(m, now));
  };
  const invalid = (reply: { code: (n: number) => { send: (b: unknown) => unknown } }, error: z.ZodError) => {
    const issue = error.issues[0]!;
    return reply.code(400).send({ error: { code: 'invalid_request', message: issue.message, path: issue.path.join('.') } });
  };

  app.get('/_emulator/api/calls', async (req) => {
    const { path, limit } = req.query as { path?: string; limit?: string };
    let calls = state.calls;
    if (path) calls = calls.filter((c) => c.path === path);
    if (limit) calls = calls.slice(-Number(limit));
    return { calls };
  });

  app.get('/_emulator/api/inbox/users/:userid', async (req) => {
    const { userid } = req.params as { userid: string };
    return { userid, messages: box(state.inboxUsers.get(userid)) };
  });
  app.get('/_emulator/api/inbox/robots/:name', async (req) => {
    const { name } = req.params as { name: string };
    return { robot: name, messages: box(state.inboxRobots.get(name)) };
  });
  app.get('/_emulator/api/inbox/chats/:chatid', async (req) => {
    const { chatid } = req.params as { chatid: string };
    return { chatid, messages: box(state.inboxChats.get(chatid)) };
  });
  /** Everything at once, for the inbox page. */
  app.get('/_emulator/api/inbox', async () => ({
    now: state.now(),
    users: state.org.users.map((u) => ({ userid: u.userid, name: u.name, messages: box(state.inboxUsers.get(u.userid)) })),
    robots: state.org.robots.map((r) => ({ name: r.name, messages: box(state.inboxRobots.get(r.name)) })),
    chats: state.org.chats.map((c) => ({ chatid: c.chatid, name: c.name, messages: box(state.inboxChats.get(c.chatid)) })),
  }));

  app.get('/_emulator/api/clock', async () => ({ now: state.now() }));
  app.post('/_emulator/api/clock', async (req, reply) => {
    const parsed = clockSchema.safeParse(req.body);
    if (!parsed.success) return invalid(reply, parsed.error);
    return { now: state.clock.advance(parsed.data.advanceMs) };
  });

  /** Flip a §0.4 choice at run time (reset restores the org file's). */
  app.get('/_emulator/api/switches', async () => state.org.switches);
  app.post('/_emulator/api/switches', async (req, reply) => {
    const parsed = switchesSchema.partial().strict().safeParse(req.body);
    if (!parsed.success) return invalid(reply, parsed.error);
    // zod 4 fills defaults even in a partial schema: keep only the keys the caller sent.
    const given = Object.entries(parsed.data).filter(([k]) => Object.hasOwn(req.body as object, k));
    Object.assign(state.org.switches, Object.fromEntries(given));
    return state.org.switches;
  });

  app.get('/_emulator/api/faults', async () => ({ faults: state.faults }));
  app.post('/_emulator/api/faults', async (req, reply) => {
    const parsed = faultSchema.safeParse(req.body);
    if (!parsed.success) return invalid(reply, parsed.error);
    const { count, ...rest } = parsed.data;
    return reply.code(201).send(state.addFault({ ...rest, ...(count !== undefined ? { remaining: count } : {}) }));
  });
  app.delete('/_emulator/api/faults', async () => {
    state.faults = [];
    return { faults: [] };
  });

  app.post('/_emulator/api/reset', async () => {
    state.reset();
    return { ok: true };
  });

  /** The org as loaded; robot and app secrets are included because this is a local test double. */
  app.get('/_emulator/api/org', async () => state.org);

  app.get('/_emulator', async (_req, reply) => reply.redirect('/_emulator/'));
  app.get('/_emulator/', async (_req, reply) => reply.type('text/html; charset=utf-8').send(pageHtml()));
}
