import { timingSafeEqual } from 'node:crypto';
import multipart from '@fastify/multipart';
import { MEDIA_MAX_BYTES, type MediaKind } from '@dingpush/dingtalk';
import type { FastifyInstance } from 'fastify';
import type { Runtime } from '../dispatch/runtime.js';
import { intake } from '../media/intake.js';
import { invalid, RequestError } from '../notifications/errors.js';
import type { MediaInfo } from '../store/types.js';
import { type ApiKeys, apiKeyHooks } from './auth.js';
import { guardStore } from './guard-store.js';
import { schemas } from './openapi.js';

const TYPES: readonly MediaKind[] = ['image', 'voice', 'video', 'file'];

const view = (m: MediaInfo) => ({ id: m.id, type: m.type, filename: m.filename, format: m.format, size: m.size, sha256: m.sha256, createdAt: new Date(m.createdAt).toISOString() });

/**
 * Media in the gateway: POST /v1/media stores a file (multipart, part `file`) for messages to reference by id;
 * GET /v1/media/:id describes it; GET /media/:id/:token serves it without an API key, for the robots that show an
 * image by its URL (server.publicUrl): the token is random per stored file and only ever given out inside such a URL.
 */
export async function mediaRoutes(app: FastifyInstance, rt: Runtime, keys: ApiKeys): Promise<void> {
  // Only this route's files count against DingTalk's largest file; other bodies keep server.bodyLimitBytes.
  await app.register(multipart, { limits: { fileSize: MEDIA_MAX_BYTES, files: 1, fields: 4, parts: 6 } });
  // A read-only key may look, never change; a key limited to drop-in targets may do neither here.
  const { sending: authenticate, reading } = apiKeyHooks(keys);

  app.post(
    '/v1/media',
    {
      onRequest: authenticate,
      schema: {
        summary: 'Store a media file (image, voice, video or file) for messages to reference',
        description: 'multipart/form-data with the file in part `file` and, optionally, `type`. The same bytes are stored once and answer the same id. Checked against DingTalk\'s formats and sizes.',
        consumes: ['multipart/form-data'],
        body: schemas.mediaUpload,
        response: { 201: schemas.media, 400: schemas.error, 401: schemas.error, 403: schemas.error },
      },
    },
    async (req, reply) => {
      if (!req.isMultipart()) throw invalid('file', 'send multipart/form-data with the file in part "file"');
      let file: { filename: string; bytes: Buffer } | undefined;
      let type: string | undefined;
      try {
        for await (const part of req.parts()) {
          if (part.type === 'file') {
            if (part.fieldname !== 'file') throw invalid(part.fieldname, 'unknown part: the file goes in part "file"');
            file = { filename: part.filename, bytes: await part.toBuffer() };
          } else if (part.fieldname === 'type') type = String(part.value);
          else throw invalid(part.fieldname, 'unknown field: give "file" and, optionally, "type"');
        }
      } catch (err) {
        if ((err as { code?: string }).code === 'FST_REQ_FILE_TOO_LARGE') throw invalid('file', `must be at most ${MEDIA_MAX_BYTES / 1024 / 1024} MB (DingTalk's largest file)`);
        if ((err as { code?: string }).code?.startsWith('FST_')) throw invalid('file', (err as Error).message);
        throw err;
      }
      if (type !== undefined && !TYPES.includes(type as MediaKind)) throw invalid('type', `must be one of ${TYPES.join(', ')}`);
      if (!file) throw invalid('file', 'required: the file goes in part "file"');
      const taken = intake(file.bytes, { filename: file.filename || undefined, type: type as MediaKind | undefined }, rt.now());
      if ('problem' in taken) throw invalid('file', taken.problem);
      const stored = await guardStore(() => rt.store.putMedia(taken.media));
      return reply.code(201).send(view(stored));
    },
  );

  app.get('/v1/media/:id', { onRequest: reading, schema: { summary: 'A stored media file, described', response: { 200: schemas.media, 403: schemas.error, 404: schemas.error } } }, async (req) => {
    const { id } = req.params as { id: string };
    const [info] = await guardStore(() => rt.store.mediaInfo([id]));
    if (!info) throw new RequestError(404, 'not_found', 'id', `no media ${id}`);
    return view(info);
  });

  app.get('/media/:id/:token', { schema: { hide: true } }, async (req, reply) => {
    const { id, token } = req.params as { id: string; token: string };
    const file = id.startsWith('med_') ? await guardStore(() => rt.store.mediaBytes(id)) : undefined;
    if (!file || !sameToken(file.info.token, token)) throw new RequestError(404, 'not_found', undefined, 'no such file');
    return reply
      .type(file.info.mime)
      .header('cache-control', 'public, max-age=31536000, immutable')
      .header('x-content-type-options', 'nosniff')
      .send(file.bytes);
  });
}

const sameToken = (a: string, b: string) => a.length === b.length && timingSafeEqual(Buffer.from(a), Buffer.from(b));
