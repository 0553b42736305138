import { chooseApp } from './app-choice.js';
import { createHash } from 'node:crypto';
import {
  DingTalkValidationError,
  LIMITS,
  type Message,
  type RobotBody,
  robotBodyBytes,
  robotKeywordProblem,
  toAppRobotMessage,
  toRobotBody,
  toWorkMsg,
} from '@dingpush/dingtalk';
import type { ApiKeyConfig, AppConfig, Config, RobotConfig } from '../config/schema.js';
import { BATCH_LIMIT } from '../domain/channel-limits.js';
import type { Channel } from '../domain/delivery-states.js';
import { newId } from '../domain/ids.js';
import { AFTER_PREVIOUS_PART, type NewJob } from '../domain/jobs.js';
import type { NewDelivery } from '../domain/records.js';
import { type AcceptedMedia, messageFor, type Surface } from '../media/surface.js';
import { AllowList, refusedHost } from '../net/address-policy.js';
import type { AcceptInput } from '../store/types.js';
import { invalid, RequestError } from './errors.js';
import type { GatewayMessage } from './media-message.js';
import { fitToSurface } from './overflow.js';
import type { NotificationRequest } from './request.js';
import { type DigestHints, type DigestItem, digestItemOf, foldable, isUrgent } from '../domain/digest.js';


function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  if (value && typeof value === 'object')
    return `{${Object.keys(value)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonical((value as Record<string, unknown>)[k])}`)
      .join(',')}}`;
  return JSON.stringify(value);
}

/**
 * Validated requests and rendered bodies have a fixed key order, so their JSON is already canonical; raw DingTalk
 * bodies come from senders in any key order and are canonicalised first.
 */
export const hashOf = (value: unknown, raw = false) =>
  createHash('sha256')
    .update(raw ? canonical(value) : JSON.stringify(value))
    .digest('hex')
    .slice(0, 32);

/** What tells a retry (the same request under an idempotency key) from a different request reusing the key. */
export const requestHashOf = (req: NotificationRequest) =>
  // The default overflow is left out: a request from before the field existed hashes as it did (idempotency keys).
  hashOf(req.overflow === 'split' ? (({ overflow: _, ...rest }) => rest)(req) : req, isRaw(req.message));

/** Renders for one surface, turning the client's validation error into a 400 naming the field. */
function render<T>(fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    if (err instanceof DingTalkValidationError) throw invalid(err.path, err.rule);
    throw err;
  }
}

const isRaw = (m: NotificationRequest['message']): m is { raw: Record<string, unknown> } => 'raw' in m;

/**
 * Turns a validated request into what is stored: the notification, one delivery per recipient as given, and one
 * send job per (channel, destination). Unknown apps and robots, and messages a surface cannot carry, are refused here,
 * before anything is written.
 */
export function planNotification(
  req: NotificationRequest,
  config: Config,
  apiKey: { name: string; limits?: ApiKeyConfig },
  now: number,
  /** What a drop-in endpoint knows beyond the body: whether it may go in a digest, and how it shows there. */
  hints: DigestHints = {},
  /** The file of an image, file or voice message, as prepareMedia accepted it. */
  media?: AcceptedMedia,
  /** The notification whose failed recipients this one sends again. */
  resendOf?: string,
): AcceptInput {
  // A recipient named twice is one recipient: one delivery, one message.
  const uniq = <T>(list: T[]) => [...new Set(list)];
  const to = {
    ...req.to,
    userIds: uniq(req.to.userIds),
    mobiles: uniq(req.to.mobiles),
    deptIds: uniq(req.to.deptIds),
    robots: uniq(req.to.robots),
    chats: uniq(req.to.chats),
  };
  const id = newId('ntf');
  const sendAt = req.sendAt ? Date.parse(req.sendAt) : now;
  const deliveries: NewDelivery[] = [];
  const jobs: NewJob[] = [];
  const message = req.message;
  // A media message is what each surface can show (an upload's media_id, a markdown image for a custom robot).
  const on = (surface: Surface): Message => messageFor(message as GatewayMessage, surface, media, config.server.publicUrl);

  if (req.callbackUrl) {
    const refused = refusedHost(new URL(req.callbackUrl), AllowList.of(config.callbacks.allowHosts));
    if (refused) throw invalid('callbackUrl', `must not reach this machine or a private network: ${refused}`);
  }
  const needsApp = to.userIds.length + to.mobiles.length + to.deptIds.length + to.chats.length > 0 || to.allUsers;
  let app: AppConfig | undefined;
  if (needsApp) {
    app = chooseApp(config, apiKey, req.app);
  } else if (req.app && !config.apps.some((a) => a.name === req.app)) {
    throw invalid('app', `no app named "${req.app}"`);
  }
  if (req.mentions && to.robots.length === 0) throw invalid('mentions', 'mentions apply to robot messages; add to.robots');

  type Recipient = Omit<NewDelivery, 'id' | 'notificationId' | 'channel' | 'destination' | 'jobId'>;
  /**
   * Send jobs of one DingTalk call's worth each (BATCH_LIMIT); mobiles first go to a resolve job. A message split into
   * parts (`bodies`, in order) has one delivery per recipient and part, and per group of recipients a chain of jobs:
   * each part's job follows the previous part's, so the parts go out in order (see AFTER_PREVIOUS_PART).
   */
  const addJobs = (channel: Channel, destination: string, bodies: Record<string, unknown>[], recipients: Recipient[], queue?: { item?: DigestItem; urgent: boolean }) => {
    const parts = bodies.length;
    // Equal keys share a call: the same message (the same part of the same split message) to the same destination.
    const mergeKey = hashOf({ channel, destination, body: parts === 1 ? bodies[0] : bodies, sender: apiKey.name }, isRaw(message));
    const partKey = (i: number) => (parts === 1 ? mergeKey : `${mergeKey}:${i + 1}`);
    const ofPart = (i: number) => (parts === 1 ? {} : { part: i + 1, parts });
    const direct = recipients.filter((r) => r.recipientKind !== 'mobile');
    const mobiles = recipients.filter((r) => r.recipientKind === 'mobile');
    const toAll = direct.filter((r) => r.recipientKind === 'all');
    const depts = direct.filter((r) => r.recipientKind === 'dept');
    const people = direct.filter((r) => r.recipientKind !== 'all' && r.recipientKind !== 'dept');
    const groups: Recipient[][] = [...chunk(people, BATCH_LIMIT[channel]), ...chunk(depts, LIMITS.workNoticeDeptIds), ...(toAll.length ? [toAll] : [])];
    for (const group of groups) {
      let follows: string | null = null;
      for (const [i, body] of bodies.entries()) {
        const jobId = newId('job');
        // The parts of a split message are never folded into a digest nor sent out of turn: they go in order.
        const queueing = parts === 1 ? { ...(queue?.item ? { item: queue.item } : {}), ...(queue?.urgent ? { urgent: true } : {}) } : {};
        const runAt = follows ? AFTER_PREVIOUS_PART : sendAt;
        jobs.push({ id: jobId, kind: 'send', notificationId: id, channel, destination, mergeKey: partKey(i), runAt, follows, payload: { body, dueAt: sendAt, ...queueing } });
        for (const r of group) deliveries.push({ id: newId('dlv'), notificationId: id, channel, destination, jobId, ...r, ...ofPart(i) });
        follows = jobId;
      }
    }
    if (mobiles.length) {
      const jobId = newId('job');
      const sendChannel = channel as 'work_notice' | 'robot_oto';
      jobs.push({ id: jobId, kind: 'resolve', notificationId: id, channel, destination, mergeKey, runAt: sendAt, payload: { body: bodies[0]!, ...(parts > 1 ? { bodies } : {}), dueAt: sendAt, sendChannel } });
      for (const [i] of bodies.entries()) for (const r of mobiles) deliveries.push({ id: newId('dlv'), notificationId: id, channel, destination, jobId, ...r, ...ofPart(i) });
    }
  };

  const people: Recipient[] = [
    ...to.userIds.map((u) => ({ recipient: u, recipientKind: 'userid' as const, userid: u })),
    ...to.mobiles.map((m) => ({ recipient: m, recipientKind: 'mobile' as const, userid: null })),
  ];
  const viaAppRobot = req.via === 'app_robot';
  if (app && (people.length > 0 || to.deptIds.length > 0 || to.allUsers)) {
    if (viaAppRobot) {
      if (to.deptIds.length > 0 || to.allUsers) throw invalid('via', 'app-robot messages go to userIds, mobiles and chats, not departments or all users');
      const bodies = isRaw(message) ? [message.raw] : render(() => fitToSurface(on('app_robot'), 'app_robot', req.overflow).map(toAppRobotMessage));
      addJobs('robot_oto', app.name, bodies, people);
    } else {
      if (app.agentId === undefined) throw invalid('app', `app "${app.name}" has no agentId; work notifications need one`);
      const bodies = isRaw(message) ? [message.raw] : render(() => fitToSurface(on('work_notice'), 'work_notice', req.overflow).map((m) => toWorkMsg(m)));
      if (!isRaw(message) && message.type === 'oa' && message.statusBar) {
        if (to.deptIds.length > 0 || to.allUsers || people.length > LIMITS.statusBarUserIds)
          throw invalid('message.statusBar', `OA messages with a status bar go to at most ${LIMITS.statusBarUserIds} userIds or mobiles`);
      }
      addJobs('work_notice', app.name, bodies, [
        ...people,
        ...to.deptIds.map((d) => ({ recipient: String(d), recipientKind: 'dept' as const, userid: null })),
        ...(to.allUsers ? [{ recipient: 'all', recipientKind: 'all' as const, userid: null }] : []),
      ]);
    }
  }

  if (app && to.chats.length > 0) {
    // Through the app robot, a chat is an openConversationId (groupMessages: recallable); otherwise a legacy chatid.
    const channel: Channel = viaAppRobot ? 'robot_group' : 'chat';
    const bodies = isRaw(message)
      ? [message.raw]
      : render(() => (viaAppRobot ? fitToSurface(on('app_robot'), 'app_robot', req.overflow).map(toAppRobotMessage) : fitToSurface(on('chat'), 'chat', req.overflow).map((m) => toWorkMsg(m, 'chat'))));
    for (const chat of to.chats) addJobs(channel, app.name, bodies, [{ recipient: chat, recipientKind: 'chat', userid: null }]);
  }

  to.robots.forEach((name, i) => {
    const robot = config.robots.find((r) => r.name === name);
    if (!robot) throw invalid(`to.robots[${i}]`, `no robot named "${name}"`);
    if (apiKey.limits?.robots && !apiKey.limits.robots.includes(name))
      throw new RequestError(403, 'forbidden', `to.robots[${i}]`, `API key "${apiKey.name}" may not use robot "${name}"`);
    // A message split into parts @-mentions its people in the last part only: one ping, once everything is there.
    const bodies: RobotBody[] = isRaw(message)
      ? [message.raw as RobotBody]
      : render(() => fitToSurface(on('robot'), 'robot', req.overflow, req.mentions, robot.keywords).map((m, k, all) => toRobotBody(m, k === all.length - 1 ? req.mentions : undefined)));
    for (const body of bodies) checkRobotBody(robot, body, i);
    // How it waits behind the robot's quota: in a digest when its target allows it and it survives as one line; out of
    // turn, in the slots kept in reserve, when it is urgent (either way).
    const item = hints.digest === false || !foldable(bodies[0]!) ? undefined : digestItemOf(bodies[0]!, hints, now);
    const urgent = isUrgent(hints);
    addJobs('robot', robot.name, bodies as Record<string, unknown>[], [{ recipient: name, recipientKind: 'robot', userid: null }], { ...(item ? { item } : {}), urgent });
  });

  // Parts multiply rows: one per recipient and part, all written in the accept's one transaction.
  if (deliveries.length > MAX_SPLIT_DELIVERIES) {
    const parts = Math.max(...deliveries.map((d) => d.parts ?? 1));
    throw invalid(
      'message',
      `split into ${parts} parts for ${Math.ceil(deliveries.length / parts)} recipients it makes ${deliveries.length} deliveries; at most ${MAX_SPLIT_DELIVERIES} per notification: send it to fewer recipients at a time, or with overflow "truncate"`,
    );
  }

  return {
    notification: {
      id,
      apiKey: apiKey.name,
      idempotencyKey: req.idempotencyKey ?? null,
      requestHash: requestHashOf(req),
      app: app?.name ?? null,
      request: req,
      createdAt: now,
      sendAt,
      callbackUrl: req.callbackUrl ?? null,
      ...(hints.target ? { target: hints.target } : {}),
      ...(resendOf ? { resendOf } : {}),
    },
    deliveries,
    jobs,
  };
}

/** Deliveries one notification may hold once split into parts (more than any unsplit request can name: ~10 600). */
export const MAX_SPLIT_DELIVERIES = 20_000;

function chunk<T>(items: T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

/** What DingTalk would refuse for this robot (310000 keywords, 460101 size) is refused now, with the field named. */
function checkRobotBody(robot: RobotConfig, body: RobotBody, index: number): void {
  if (robotBodyBytes(body) > LIMITS.robotBodyBytes)
    throw invalid('message', `robot messages must be at most ${LIMITS.robotBodyBytes} bytes; this one is ${robotBodyBytes(body)}`);
  if (robotKeywordProblem(body, robot.keywords))
      throw invalid(`to.robots[${index}]`, `robot "${robot.name}" only accepts messages containing one of its keywords: ${robot.keywords.join(', ')}`);
}
