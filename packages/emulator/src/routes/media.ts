import { randomBytes } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { oapiAuth, query } from '../http.js';
import { oapiError, ok } from '../oapi.js';
import type { EmulatorState } from '../state.js';

const MB = 1024 * 1024;

/** media/upload (§5): the current doc's types, formats and sizes. */
export const MEDIA_RULES: Record<string, { maxBytes: number; extensions: string[] }> = {
  image: { maxBytes: 20 * MB, extensions: ['jpg', 'jpeg', 'gif', 'png', 'bmp'] },
  voice: { maxBytes: 2 * MB, extensions: ['amr', 'mp3', 'wav'] },
  video: { maxBytes: 20 * MB, extensions: ['mp4'] },
  file: { maxBytes: 20 * MB, extensions: ['doc', 'docx', 'xls', 'xlsx', 'ppt', 'pptx', 'zip', 'pdf', 'rar'] },
};

export function registerMedia(app: FastifyInstance, state: EmulatorState): void {
  app.post('/media/upload', async (req) => {
    oapiAuth(state, req, { top: false });
    if (!req.isMultipart()) throw oapiError(43008);
    let type = query(req).type;
    let file: { filename: string; data: Buffer } | undefined;
    for await (const part of req.parts()) {
      if (part.type === 'file') {
        const data = await part.toBuffer();
        if (part.fieldname === 'media') file = { filename: part.filename, data };
      } else if (part.fieldname === 'type' && typeof part.value === 'string') {
        type = part.value;
      }
    }
    const rules = type ? MEDIA_RULES[type] : undefined;
    if (!type || !rules) throw oapiError(40004, `type ${type ?? ''}`);
    if (!file) throw oapiError(41005);
    if (file.data.length === 0) throw oapiError(44001);
    const ext = file.filename.split('.').pop()?.toLowerCase() ?? '';
    if (!rules.extensions.includes(ext)) throw oapiError(40005, `${type} 支持 ${rules.extensions.join('/')}`);
    if (file.data.length > rules.maxBytes) throw oapiError(40006, `${type} 最大 ${rules.maxBytes / MB}MB`);
    const now = state.now();
    const mediaId = `@lADO${randomBytes(12).toString('base64url')}`;
    state.media.set(mediaId, { mediaId, type, filename: file.filename, size: file.data.length, createdAt: now, bytes: file.data });
    return ok({ type, media_id: mediaId, created_at: now });
  });

  // The inspector: an uploaded file's bytes, as DingTalk keeps them for the messages that show it.
  app.get('/_emulator/api/media/:id', async (req, reply) => {
    const { id } = req.params as { id: string };
    const media = state.media.get(id);
    if (!media) return reply.code(404).send({ error: { code: 'not_found', message: `no media ${id}` } });
    return reply.type('application/octet-stream').header('x-media-type', media.type).header('x-media-filename', encodeURIComponent(media.filename)).send(media.bytes);
  });

  // DingTalk forgets an uploaded file (its media_id is refused from now on: 40007), as when a test needs a media_id
  // that DingTalk once gave and no longer takes.
  app.delete('/_emulator/api/media/:id', async (req, reply) => {
    const { id } = req.params as { id: string };
    if (!state.media.delete(id)) return reply.code(404).send({ error: { code: 'not_found', message: `no media ${id}` } });
    return { deleted: id };
  });
}
