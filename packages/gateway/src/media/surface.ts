import type { Message } from '@dingpush/dingtalk';
import type { GatewayMessage, MediaMessage } from '../notifications/media-message.js';
import { isMediaMessage } from '../notifications/media-message.js';
import { invalid } from '../notifications/errors.js';
import type { MediaInfo } from '../store/types.js';

/**
 * What an image, file or voice message becomes on each surface. Bodies are planned (and stored) before any upload: a
 * media file appears in them as a reference, replaced when the message is sent (media/materialize.ts) by the media_id
 * DingTalk gave the sending app (uploaded the first time that app needs it) or by the file's public URL.
 */

/** Replaced by the media_id of the file, as uploaded by the app that sends the message. */
export const MEDIA_ID_REF = 'dingpush-media:';
/** Replaced by the file's public URL (server.publicUrl + /media/<id>/<token>). */
export const MEDIA_URL_REF = 'dingpush-media-url:';
export const MEDIA_REFS = /dingpush-media(-url)?:(med_[0-9a-f]{32})/g;

export type Surface = 'work_notice' | 'chat' | 'robot' | 'app_robot';

/** A media message's file as accepted: its stored row, and the URL the sender gave it by (if any). */
export interface AcceptedMedia {
  info: MediaInfo;
  url?: string;
}

/** The client's message for this surface. */
export function messageFor(message: GatewayMessage, surface: Surface, media: AcceptedMedia | undefined, publicUrl: string | undefined): Message {
  if (!isMediaMessage(message)) return message;
  if (message.mediaId !== undefined) return asClientMessage(message, message.mediaId);
  const file = media!;
  if (surface === 'work_notice' || surface === 'chat') return asClientMessage(message, `${MEDIA_ID_REF}${file.info.id}`, file.info);
  if (message.type === 'image') {
    const url = file.url ?? (publicUrl ? `${MEDIA_URL_REF}${file.info.id}` : undefined);
    if (!url)
      throw invalid(
        'message',
        `${surface === 'robot' ? 'a custom robot' : 'an app robot'} shows an image by its URL: give the image as "url", or set server.publicUrl so that the gateway can serve it`,
      );
    // A custom robot takes no image message (§6.3): a markdown message showing it is what the group can display.
    if (surface === 'robot') return { type: 'markdown', title: file.info.filename, text: `![${file.info.filename}](${url})` };
    return { type: 'image', mediaId: url };
  }
  if (surface === 'robot')
    throw invalid('message.type', `a custom robot cannot show a ${message.type}: send a link or markdown message pointing to it, or send it to people or a chat through an app`);
  return asClientMessage(message, `${MEDIA_ID_REF}${file.info.id}`, file.info);
}

function asClientMessage(message: MediaMessage, mediaId: string, info?: MediaInfo): Message {
  if (message.type === 'image') return { type: 'image', mediaId };
  if (message.type === 'file') {
    const fileName = message.fileName ?? info?.filename;
    const fileType = message.fileType ?? info?.format;
    return { type: 'file', mediaId, ...(fileName ? { fileName } : {}), ...(fileType ? { fileType } : {}) };
  }
  return { type: 'voice', mediaId, durationSeconds: (message.duration ?? message.durationSeconds)! };
}
