import { DingTalkError } from '@dingpush/dingtalk';
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { SyncRunning, SyncSuperseded, syncDirectory } from '../directory/sync.js';
import { dingtalkReason } from '../domain/dingtalk-reason.js';
import { normalizeMobile } from '../domain/mobile.js';
import type { Runtime } from '../dispatch/runtime.js';
import { chooseApp } from '../notifications/app-choice.js';
import { invalid, RequestError } from '../notifications/errors.js';
import { firstIssue, mobileSchema } from '../notifications/request.js';
import type { DirectorySyncState } from '../store/types.js';
import { type ApiKeys, apiKeyHooks } from './auth.js';
import { guardStore } from './guard-store.js';
import { jsonSchema, schemas } from './openapi.js';

export const syncBodySchema = z.object({ app: z.string().min(1).optional() }).strict();
export const directoryQuerySchema = z
  .object({
    app: z.string().min(1).optional(),
    mobile: mobileSchema.optional(),
    userid: z.string().min(1).max(64).optional(),
    limit: z.coerce.number().int().min(1).max(1000).default(100),
    cursor: z.string().min(1).optional(),
  })
  .strict();

/** DingTalk refused the listing (no contacts permission, bad credentials): 502 with its code and message. */
class DingTalkRefused extends RequestError {
  constructor(private readonly err: DingTalkError) {
    super(502, 'dingtalk_refused', undefined, `DingTalk refused the directory listing: ${dingtalkReason(err)}`);
  }

  override body() {
    const base = super.body();
    return { error: { ...base.error, dingtalk: { code: String(this.err.code), message: this.err.dingMessage } } };
  }
}

const stateView = (s: DirectorySyncState | undefined) =>
  s
    ? {
        startedAt: s.startedAt === null ? null : new Date(s.startedAt).toISOString(),
        finishedAt: s.finishedAt === null ? null : new Date(s.finishedAt).toISOString(),
        error: s.error,
        users: s.users,
        departments: s.departments,
        running: s.running,
      }
    : null;

/** POST /v1/directory/sync and GET /v1/directory/users (shared/design.md "Drop-in endpoints, targets, media and directory"). */
export async function directoryRoutes(app: FastifyInstance, rt: Runtime, keys: ApiKeys): Promise<void> {
  // A read-only key may look, never change; a key limited to drop-in targets may do neither here.
  const { sending: authenticate, reading } = apiKeyHooks(keys);

  app.post(
    '/v1/directory/sync',
    {
      onRequest: authenticate,
      schema: {
        summary: "Sync an app's org directory now",
        description:
          "Lists every department and every member from DingTalk (paced like every call) and replaces the app's directory in one transaction; mobiles then resolve from it without a lookup each. One sync of an app at a time (409), across instances on PostgreSQL.",
        body: jsonSchema(syncBodySchema),
        response: { 200: schemas.directorySync, 400: schemas.error, 403: schemas.error, 409: schemas.error, 502: schemas.dingtalkError, 503: schemas.error },
      },
    },
    async (req) => {
      const body = req.body ?? {};
      const parsed = syncBodySchema.safeParse(body);
      if (!parsed.success) {
        const { path, message } = firstIssue(parsed.error, body);
        throw invalid(path, message);
      }
      const handle = rt.apps.get(chooseApp(rt.config, req.sender!, parsed.data.app).name)!;
      // Anything else (the store failing) is guardStore's 503.
      return guardStore(async () => {
        try {
          return await syncDirectory(rt, handle);
        } catch (err) {
          if (err instanceof SyncRunning || err instanceof SyncSuperseded) throw new RequestError(409, 'sync_running', 'app', err.message);
          if (err instanceof DingTalkError) throw new DingTalkRefused(err);
          throw err;
        }
      });
    },
  );

  app.get(
    '/v1/directory/users',
    {
      onRequest: reading,
      schema: {
        summary: "An app's org directory: filter by mobile or userid, or page through it",
        querystring: jsonSchema(directoryQuerySchema),
        response: { 200: schemas.directoryUsers, 400: schemas.error, 403: schemas.error },
      },
    },
    async (req) => {
      const parsed = directoryQuerySchema.safeParse(req.query);
      if (!parsed.success) {
        const { path, message } = firstIssue(parsed.error, req.query);
        throw invalid(path, message);
      }
      const q = parsed.data;
      const appName = chooseApp(rt.config, req.sender!, q.app).name;
      // The store keeps each directory under the AppKey that listed it (directory/sync.ts).
      const { appKey } = rt.apps.get(appName)!;
      return guardStore(async () => {
        const rows = await rt.store.directoryUsers({
          app: appKey,
          limit: q.limit,
          ...(q.mobile ? { mobile: normalizeMobile(q.mobile) } : {}),
          ...(q.userid ? { userid: q.userid } : {}),
          ...(q.cursor ? { cursor: q.cursor } : {}),
        });
        return {
          app: appName,
          sync: stateView(await rt.store.directorySync(appKey, rt.now())),
          items: rows.map((r) => ({ userid: r.userid, name: r.name, mobile: r.mobile, deptIds: r.deptIds, syncedAt: new Date(r.syncedAt).toISOString() })),
          nextCursor: rows.length === q.limit ? rows[rows.length - 1]!.userid : null,
        };
      });
    },
  );
}
