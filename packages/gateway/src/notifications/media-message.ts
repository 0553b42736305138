import { actionCardMessage, feedCardMessage, linkMessage, markdownMessage, oaMessage, textMessage, VOICE_MAX_SECONDS } from '@dingpush/dingtalk';
import { z } from 'zod';

/**
 * Image, file and voice messages as senders give them to the gateway: by DingTalk's own media_id (`mediaId`, as the
 * client takes them), by a media id from POST /v1/media (`media`), inline (`base64`, with a `filename`), or by a URL
 * the gateway fetches once (`url`). Exactly one of the four. What the gateway makes of each per surface is in
 * media/surface.ts.
 */

const SOURCES = ['mediaId', 'media', 'base64', 'url'] as const;

const source = {
  mediaId: z.string().min(1).optional().meta({ description: "DingTalk's media_id from an upload of your own (sent as given)" }),
  media: z.string().min(1).max(64).optional().meta({ description: 'A media id from POST /v1/media' }),
  base64: z
    .string()
    .min(1)
    .regex(/^[A-Za-z0-9+/\r\n]+={0,2}\s*$/, 'must be base64 (standard alphabet)')
    .optional()
    .meta({ description: 'The file itself, base64-encoded (the request body limit, server.bodyLimitBytes, applies)' }),
  url: z
    .url({ protocol: /^https?$/, error: 'must be an http or https URL' })
    .optional()
    .meta({ description: 'Fetched once when the notification is accepted (size limit, timeout, the callbacks address policy)' }),
  filename: z
    .string()
    .min(1)
    .max(200)
    .regex(/^[^/\\\u0000-\u001f]+$/, 'must be a file name without a directory')
    .optional()
    .meta({ description: 'The file name (its extension tells the format when the bytes do not)' }),
};

/** Exactly one source; `filename` only beside bytes the gateway holds. */
const oneSource = (m: Partial<Record<(typeof SOURCES)[number], unknown>>, ctx: z.RefinementCtx) => {
  const given = SOURCES.filter((k) => m[k] !== undefined);
  if (given.length !== 1)
    ctx.addIssue({
      code: 'custom',
      path: given.length ? [given[1]!] : [],
      message: given.length ? `give one of mediaId, media, base64 or url, not ${given.join(' and ')}` : 'give one of mediaId, media, base64 or url',
    });
};

export const gatewayImageMessage = z
  .object({ type: z.literal('image'), ...source })
  .strict()
  .superRefine(oneSource);

export const gatewayFileMessage = z
  .object({ type: z.literal('file'), ...source, fileName: z.string().optional(), fileType: z.string().optional() })
  .strict()
  .superRefine(oneSource);

export const gatewayVoiceMessage = z
  .object({
    type: z.literal('voice'),
    ...source,
    /** Seconds; `durationSeconds` is the client's name for it (either is taken). */
    duration: z.number().int().min(1).max(VOICE_MAX_SECONDS).optional(),
    durationSeconds: z.number().int().min(1).max(VOICE_MAX_SECONDS).optional(),
  })
  .strict()
  .superRefine((m, ctx) => {
    oneSource(m, ctx);
    if (m.duration === undefined && m.durationSeconds === undefined)
      ctx.addIssue({ code: 'custom', path: ['duration'], message: `a voice message needs its duration in seconds (1 to ${VOICE_MAX_SECONDS})` });
  });

const isMediaType = (t: string) => t === 'image' || t === 'file' || t === 'voice';

/** The client's message schema with its image, file and voice messages taking the gateway's sources. */
export const gatewayMessageSchema = z.discriminatedUnion('type', [
  textMessage,
  markdownMessage,
  linkMessage,
  actionCardMessage,
  oaMessage,
  gatewayImageMessage,
  gatewayFileMessage,
  gatewayVoiceMessage,
  feedCardMessage,
]);

export type GatewayMessage = z.infer<typeof gatewayMessageSchema>;
export type MediaMessage = Extract<GatewayMessage, { type: 'image' | 'file' | 'voice' }>;

export const isMediaMessage = (m: GatewayMessage): m is MediaMessage => isMediaType(m.type);
