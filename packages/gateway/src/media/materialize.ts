import { DingTalkError, DingTalkValidationError } from '@dingpush/dingtalk';
import type { Runtime } from '../dispatch/runtime.js';
import { MEDIA_REFS } from './surface.js';

/** An upload's media_id as the store remembers it for an app and a content. */
interface CachedUpload {
  appKey: string;
  sha256: string;
  type: string;
  mediaId: string;
}

/**
 * Sends a body with its media references replaced (see materialize). DingTalk may refuse a media_id it gave
 * earlier (40007: it no longer knows it): were the cached one kept, every later send of that file would fail the same
 * way. So a refusal of a send that used cached media_ids drops them and sends once more, with fresh uploads. Safe for
 * exactly-once: a refused send did not arrive. A second refusal is the send's answer.
 */
export async function sendWithMedia<T>(rt: Runtime, destination: string, body: Record<string, unknown>, send: (ready: Record<string, unknown>) => Promise<T>): Promise<T> {
  const first = await materialize(rt, destination, body);
  try {
    return await send(first.body);
  } catch (err) {
    if (!(err instanceof DingTalkError && err.refusedMediaId && !err.mayHaveSucceeded) || first.cached.length === 0) throw err;
    for (const c of first.cached) await rt.store.forgetUploadedMedia(c.appKey, c.sha256, c.type, c.mediaId);
    rt.log.info({ app: destination, mediaIds: first.cached.map((c) => c.mediaId), code: err.code }, 'DingTalk refused a cached media_id: uploading the file again');
    return send((await materialize(rt, destination, body)).body);
  }
}

/**
 * A body about to be sent, with its media references replaced (see media/surface.ts): an app's reference by the
 * media_id DingTalk gave that app for the content, uploading it the first time the app needs it (remembered in the
 * store, so neither a second message nor a restart uploads it again); a URL reference by the file's public URL.
 * With it, the cached uploads it used (those a refusal drops).
 */
async function materialize(rt: Runtime, destination: string, body: Record<string, unknown>): Promise<{ body: Record<string, unknown>; cached: CachedUpload[] }> {
  const json = JSON.stringify(body);
  const refs = new Map<string, { url: boolean; id: string }>();
  for (const m of json.matchAll(MEDIA_REFS)) refs.set(m[0], { url: m[1] !== undefined, id: m[2]! });
  if (refs.size === 0) return { body, cached: [] };
  const values = new Map<string, string>();
  const cached: CachedUpload[] = [];
  for (const [ref, { url, id }] of refs) {
    if (url) {
      values.set(ref, await publicUrlOf(rt, id));
      continue;
    }
    const upload = await mediaIdFor(rt, destination, id);
    values.set(ref, upload.mediaId);
    if (upload.cached) cached.push(upload);
  }
  // The values go inside JSON strings (and a msgParam is JSON inside a JSON string): they must need no escaping.
  for (const v of values.values()) if (/["\\\u0000-\u001f]/.test(v)) throw new DingTalkValidationError('media', `unexpected characters in ${v}`);
  return { body: JSON.parse(json.replace(MEDIA_REFS, (ref) => values.get(ref)!)), cached };
}

async function publicUrlOf(rt: Runtime, id: string): Promise<string> {
  const base = rt.config.server.publicUrl;
  if (!base) throw new DingTalkValidationError('server.publicUrl', 'is no longer set: the image cannot be shown by URL; set it again, or send the image by URL');
  const [info] = await rt.store.mediaInfo([id]);
  if (!info) throw new DingTalkValidationError('media', `media ${id} is no longer stored`);
  return `${base}/media/${info.id}/${info.token}`;
}

async function mediaIdFor(rt: Runtime, app: string, id: string): Promise<CachedUpload & { cached: boolean }> {
  const handle = rt.apps.get(app)!;
  const [info] = await rt.store.mediaInfo([id]);
  if (!info) throw new DingTalkValidationError('media', `media ${id} is no longer stored`);
  const key = { appKey: handle.appKey, sha256: info.sha256, type: info.type };
  const cached = await rt.store.uploadedMedia(key.appKey, key.sha256, key.type);
  if (cached) return { ...key, mediaId: cached, cached: true };
  const file = (await rt.store.mediaBytes(id))!;
  let uploaded: { mediaId: string };
  try {
    uploaded = await handle.client.uploadMedia(info.type, file.bytes, info.filename);
  } catch (err) {
    // An upload whose answer was lost sent no message: the send is simply tried again (a second upload is harmless).
    if (err instanceof DingTalkError && err.mayHaveSucceeded)
      throw new DingTalkError(err.api, err.code, err.dingMessage, err.requestId, { class: 'retry', meaning: 'the media upload got no answer; nothing was sent' }, false, err.httpStatus);
    throw err;
  }
  await rt.store.saveUploadedMedia(key.appKey, key.sha256, key.type, uploaded.mediaId, rt.now());
  return { ...key, mediaId: uploaded.mediaId, cached: false };
}
