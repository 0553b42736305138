import type { MediaKind } from '@dingpush/dingtalk';
import { mediaMessageMaxBytes } from '@dingpush/dingtalk';
import type { Config } from '../config/schema.js';
import { invalid } from '../notifications/errors.js';
import { isMediaMessage, type MediaMessage } from '../notifications/media-message.js';
import type { NotificationRequest } from '../notifications/request.js';
import { type OutboundHttp, OutboundRefusal } from '../net/outbound.js';
import type { NewMedia, Store } from '../store/types.js';
import { intake } from './intake.js';
import type { AcceptedMedia } from './surface.js';

export interface PreparedRequest {
  /** The request as stored: inline bytes replaced by the id of the row they become (the same bytes: the same id). */
  request: NotificationRequest;
  /** Rows to store with the notification (in its transaction: a refused notification leaves none). */
  newMedia: NewMedia[];
  media?: AcceptedMedia;
}

/**
 * The media a message carries, made certain before anything is stored: a media id must exist; base64 must decode to a
 * file DingTalk takes; a URL must pass the address policy and answer, in time, with such a file. Each failure is a
 * 400 naming the field and the rule.
 */
export async function prepareMedia(deps: { store: Store; config: Config; outbound: OutboundHttp }, request: NotificationRequest, now: number): Promise<PreparedRequest> {
  const message = request.message;
  if ('raw' in message || !isMediaMessage(message) || message.mediaId !== undefined) return { request, newMedia: [] };
  const type: MediaKind = message.type;
  if (message.media !== undefined) {
    const [info] = await deps.store.mediaInfo([message.media]);
    if (!info) throw invalid('message.media', `no media ${message.media}: upload it with POST /v1/media first`);
    if (info.type !== type) throw invalid('message.media', `media ${message.media} is a ${info.type}, not a ${type}`);
    const tooLarge = sizeProblem(type, info.size);
    if (tooLarge) throw invalid('message.media', tooLarge);
    return { request, newMedia: [], media: { info } };
  }
  let bytes: Buffer;
  let field: string;
  let filename = message.filename;
  if (message.base64 !== undefined) {
    field = 'message.base64';
    bytes = Buffer.from(message.base64, 'base64');
  } else {
    field = 'message.url';
    const url = message.url!;
    try {
      ({ bytes } = await deps.outbound.get(url, { maxBytes: mediaMessageMaxBytes(type), timeoutMs: deps.config.media.fetchTimeoutMs }));
    } catch (err) {
      if (err instanceof OutboundRefusal) throw invalid(field, `${url} ${err.message}`);
      throw err;
    }
    filename ??= decodeURIComponent(new URL(url).pathname.split('/').pop() ?? '') || undefined;
  }
  const taken = intake(bytes, { filename, type }, now);
  if ('problem' in taken) throw invalid(field, taken.problem);
  const tooLarge = sizeProblem(type, bytes.length);
  if (tooLarge) throw invalid(field, tooLarge);
  return {
    request: withStoredMedia(request, taken.media.id),
    newMedia: [taken.media],
    media: { info: taken.media, ...(message.url ? { url: message.url } : {}) },
  };
}

/** Whether preparing this request fetches its file from a URL (a replay of a stored request must not). */
export function fetchesUrl(request: NotificationRequest): boolean {
  const message = request.message;
  return !('raw' in message) && isMediaMessage(message) && message.mediaId === undefined && message.media === undefined && message.url !== undefined;
}

/**
 * The request as stored once its file is the media row `mediaId`: inline bytes give way to the id, a URL stays as
 * the sender gave it. Its hash (the idempotency check's) is built from exactly this shape.
 */
export function withStoredMedia(request: NotificationRequest, mediaId: string): NotificationRequest {
  const { base64: _inline, ...rest } = request.message as MediaMessage;
  return { ...request, message: { ...rest, media: mediaId } as typeof request.message };
}

/** A file a message of this type may not carry (a file message's file: 10 MB, though an upload takes 20 MB). */
function sizeProblem(type: MediaKind, size: number): string | undefined {
  const max = mediaMessageMaxBytes(type);
  return size > max ? `a ${type} message's file must be at most ${max / 1024 / 1024} MB; this one is ${(size / 1024 / 1024).toFixed(1)} MB` : undefined;
}
