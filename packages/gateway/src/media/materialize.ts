import { DingTalkError, DingTalkValidationError } from '@dingpush/dingtalk';
import type { Runtime } from '../dispatch/runtime.js';
import { MEDIA_REFS } from './surface.js';

/**
 * A body about to be sent, with its media references replaced (see media/surface.ts): an app's reference by the
 * media_id DingTalk gave that app for the content, uploading it the first time the app needs it (remembered in the
 * store, so neither a second message nor a restart uploads it again); a URL reference by the file's public URL.
 */
export async function materializeMedia(rt: Runtime, destination: string, body: Record<string, unknown>): Promise<Record<string, unknown>> {
  const json = JSON.stringify(body);
  const refs = new Map<string, { url: boolean; id: string }>();
  for (const m of json.matchAll(MEDIA_REFS)) refs.set(m[0], { url: m[1] !== undefined, id: m[2]! });
  if (refs.size === 0) return body;
  const values = new Map<string, string>();
  for (const [ref, { url, id }] of refs) values.set(ref, url ? await publicUrlOf(rt, id) : await mediaIdFor(rt, destination, id));
  // The values go inside JSON strings (and a msgParam is JSON inside a JSON string): they must need no escaping.
  for (const v of values.values()) if (/["\\\u0000-\u001f]/.test(v)) throw new DingTalkValidationError('media', `unexpected characters in ${v}`);
  return JSON.parse(json.replace(MEDIA_REFS, (ref) => values.get(ref)!));
}

async function publicUrlOf(rt: Runtime, id: string): Promise<string> {
  const base = rt.config.server.publicUrl;
  if (!base) throw new DingTalkValidationError('server.publicUrl', 'is no longer set: the image cannot be shown by URL; set it again, or send the image by URL');
  const [info] = await rt.store.mediaInfo([id]);
  if (!info) throw new DingTalkValidationError('media', `media ${id} is no longer stored`);
  return `${base}/media/${info.id}/${info.token}`;
}

async function mediaIdFor(rt: Runtime, app: string, id: string): Promise<string> {
  const handle = rt.apps.get(app)!;
  const [info] = await rt.store.mediaInfo([id]);
  if (!info) throw new DingTalkValidationError('media', `media ${id} is no longer stored`);
  const cached = await rt.store.uploadedMedia(handle.appKey, info.sha256, info.type);
  if (cached) return cached;
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
  await rt.store.saveUploadedMedia(handle.appKey, info.sha256, info.type, uploaded.mediaId, rt.now());
  return uploaded.mediaId;
}
