import formbody from '@fastify/formbody';
import multipart from '@fastify/multipart';
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import { INVALID_JSON } from './http.js';
import { NewApiFailure, newApiRequestId, OapiFailure, fail, requestId } from './oapi.js';
import type { Org } from './org.js';
import { registerAppRobot } from './routes/app-robot.js';
import { registerAuth } from './routes/auth.js';
import { registerChat } from './routes/chat.js';
import { registerDirectory } from './routes/directory.js';
import { registerInspector } from './routes/inspector.js';
import { registerMedia } from './routes/media.js';
import { registerRobotWebhook } from './routes/robot-webhook.js';
import { registerWorkNotice } from './routes/work-notice.js';
import { EmulatorState } from './state.js';

declare module 'fastify' {
  interface FastifyRequest {
    loggedErrcode?: number | string;
    receivedAt?: number;
    /** The call is handled, then its connection is cut before the answer. */
    dropAnswer?: boolean;
  }
}

const isNewApi = (url: string) => url.startsWith('/v1.0/');
const isInspector = (url: string) => url.startsWith('/_emulator');
const pathOf = (url: string) => url.split('?')[0] ?? url;

export function buildEmulator(org: Org, opts: { logger?: boolean } = {}): { app: FastifyInstance; state: EmulatorState } {
  const state = new EmulatorState(org);
  const app = Fastify({ logger: opts.logger ?? false, bodyLimit: 30 * 1024 * 1024, keepAliveTimeout: 65_000 });

  // JSON that does not parse is DingTalk's problem to answer (40035 / 47001), not a framework 400.
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (req, body, done) => {
    const text = String(body);
    req.rawBody = text;
    if (text.trim() === '') return done(null, undefined);
    try {
      done(null, JSON.parse(text));
    } catch {
      done(null, INVALID_JSON);
    }
  });
  app.register(formbody);
  app.register(multipart, { limits: { fileSize: 25 * 1024 * 1024, files: 1 } });
  app.addContentTypeParser('*', { parseAs: 'string' }, (req, body, done) => {
    req.rawBody = String(body);
    done(null, INVALID_JSON);
  });

  app.addHook('onRequest', async (req, reply) => {
    if (isInspector(req.url)) return;
    req.receivedAt = performance.timeOrigin + performance.now();
    const fault = state.takeFault(pathOf(req.url));
    if (!fault) return;
    switch (fault.kind) {
      case 'latency':
        await new Promise((r) => setTimeout(r, fault.latencyMs ?? 1000));
        return;
      case 'revokeToken':
        state.revokeTokens();
        return;
      case 'dropAfter':
        req.dropAnswer = true;
        return;
      case 'drop':
        state.logCall({ time: state.now(), method: req.method, path: pathOf(req.url), status: 0, errcode: 'dropped' });
        req.raw.socket.destroy();
        return reply.hijack();
      case 'http5xx':
        return reply
          .code(fault.status ?? 502)
          .type('text/html')
          .send(`<html><body><h1>${fault.status ?? 502} Bad Gateway</h1></body></html>`);
      case 'busy':
        if (isNewApi(req.url)) return reply.code(429).send({ code: 'system.busy', message: '系统繁忙', requestid: newApiRequestId() });
        return reply.code(200).send(fail(-1));
      case 'errcode':
        return reply.code(200).send({ errcode: fault.errcode, errmsg: fault.errmsg ?? 'refused (injected fault)' });
    }
  });

  app.addHook('onSend', async (req, reply, payload) => {
    // DingTalk's clock as this emulator runs it (org file clockOffsetMs, inspector's clock): what a client reads to
    // tell its own clock's skew.
    reply.header('date', new Date(state.now()).toUTCString());
    if (req.dropAnswer) {
      state.logCall({ time: state.now(), method: req.method, path: pathOf(req.url), status: 0, errcode: 'answer dropped' });
      req.raw.socket.destroy();
      return payload;
    }
    if (typeof payload === 'string' && payload.startsWith('{') && !isInspector(req.url)) {
      const m = /"errcode":(-?\d+)/.exec(payload) ?? /"code":"([^"]+)"/.exec(payload);
      if (m) req.loggedErrcode = /^-?\d+$/.test(m[1]!) ? Number(m[1]) : m[1];
    }
    return payload;
  });

  app.addHook('onResponse', async (req, reply) => {
    if (isInspector(req.url) || req.dropAnswer) return;
    state.logCall({
      time: state.now(),
      ...(req.receivedAt ? { receivedAt: req.receivedAt } : {}),
      method: req.method,
      path: pathOf(req.url),
      ...(req.caller?.app ? { app: req.caller.app } : {}),
      ...(req.caller?.robot ? { robot: req.caller.robot } : {}),
      status: reply.statusCode,
      ...(req.loggedErrcode !== undefined ? { errcode: req.loggedErrcode } : {}),
    });
  });

  app.setErrorHandler((err: unknown, req: FastifyRequest, reply: FastifyReply) => {
    if (err instanceof OapiFailure) return reply.code(200).send(err.body);
    if (err instanceof NewApiFailure) return reply.code(err.status).send(err.body());
    req.log.error(err);
    const status = (err as { statusCode?: number }).statusCode ?? 500;
    if (isNewApi(req.url))
      return reply.code(status >= 500 ? 500 : 400).send({ code: status >= 500 ? 'system.error' : 'invalidParameter.param.invalid', message: (err as Error).message, requestid: newApiRequestId() });
    if (isInspector(req.url))
      return reply.code(status).send({ error: { code: 'invalid_request', message: (err as Error).message } });
    // DingTalk answers oapi failures with HTTP 200 and an errcode, never a stack trace.
    return reply.code(200).send(status >= 500 ? fail(-1) : fail(40035, (err as Error).message));
  });

  app.setNotFoundHandler((req, reply) => {
    const path = pathOf(req.url);
    if (isNewApi(req.url))
      return reply.code(404).send({ code: 'InvalidAction.NotFound', message: `Specified api is not found: ${path}`, requestid: newApiRequestId() });
    if (path.startsWith('/topapi/')) {
      const api = `dingtalk.oapi.${path.slice(1).replace(/^topapi\//, '').replace(/\//g, '.')}`;
      return reply.code(200).send({ errcode: 22, sub_msg: `不合法ApiName，ApiName = ${api}`, errmsg: `Invalid method[submsg=不合法ApiName，ApiName = ${api}]`, request_id: requestId() });
    }
    return reply.code(200).send(fail(404));
  });

  registerAuth(app, state);
  registerDirectory(app, state);
  registerWorkNotice(app, state);
  registerRobotWebhook(app, state);
  registerChat(app, state);
  registerAppRobot(app, state);
  registerMedia(app, state);
  registerInspector(app, state);
  return { app, state };
}
