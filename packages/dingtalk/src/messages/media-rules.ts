import { LIMITS } from './limits.js';

/**
 * media/upload's rules (shared/dingtalk-api.md §5, the current doc's column): which formats each type takes and how
 * large a file may be. The one table the client checks an upload against and the gateway refuses a message by.
 */
const MB = 1024 * 1024;

export type MediaKind = 'image' | 'voice' | 'video' | 'file';

export const MEDIA_RULES: Readonly<Record<MediaKind, { maxBytes: number; formats: readonly string[] }>> = {
  image: { maxBytes: 20 * MB, formats: ['jpg', 'jpeg', 'gif', 'png', 'bmp'] },
  voice: { maxBytes: 2 * MB, formats: ['amr', 'mp3', 'wav'] },
  video: { maxBytes: 20 * MB, formats: ['mp4'] },
  file: { maxBytes: 20 * MB, formats: ['doc', 'docx', 'xls', 'xlsx', 'ppt', 'pptx', 'zip', 'pdf', 'rar'] },
};

/**
 * The largest file a message may carry, by its type: what media/upload takes, except a file message, whose file is
 * at most 10 MB (§4: "referenced file ≤10 MB"; an upload of up to 20 MB still succeeds, the message would not).
 */
export const mediaMessageMaxBytes = (type: MediaKind): number => (type === 'file' ? 10 * MB : MEDIA_RULES[type].maxBytes);

/** The largest file any type takes: what a store of media must hold at most. */
export const MEDIA_MAX_BYTES = Math.max(...Object.values(MEDIA_RULES).map((r) => r.maxBytes));

/** A voice message's length in seconds (§4: a positive integer under 60). */
export const VOICE_MAX_SECONDS = LIMITS.voiceMaxSeconds;

export const MEDIA_MIME: Readonly<Record<string, string>> = {
  jpg: 'image/jpeg',
  jpeg: 'image/jpeg',
  gif: 'image/gif',
  png: 'image/png',
  bmp: 'image/bmp',
  amr: 'audio/amr',
  mp3: 'audio/mpeg',
  wav: 'audio/wav',
  mp4: 'video/mp4',
  doc: 'application/msword',
  docx: 'application/vnd.openxmlformats-officedocument.wordprocessingml.document',
  xls: 'application/vnd.ms-excel',
  xlsx: 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet',
  ppt: 'application/vnd.ms-powerpoint',
  pptx: 'application/vnd.openxmlformats-officedocument.presentationml.presentation',
  zip: 'application/zip',
  pdf: 'application/pdf',
  rar: 'application/vnd.rar',
};

/** A file name's extension, lower case ('' without one). */
export const extensionOf = (filename: string): string => {
  const dot = filename.lastIndexOf('.');
  return dot <= 0 || dot === filename.length - 1 ? '' : filename.slice(dot + 1).toLowerCase();
};

/**
 * The format the bytes themselves say they are (their magic number); undefined when they match none. Some formats
 * share one signature: zip, docx, xlsx and pptx answer 'zip'; doc, xls and ppt (OLE files) answer 'doc'.
 */
export function sniffFormat(bytes: Uint8Array): string | undefined {
  const at = (offset: number, ...sig: number[]) => sig.every((b, i) => bytes[offset + i] === b);
  const ascii = (offset: number, text: string) => at(offset, ...[...text].map((c) => c.charCodeAt(0)));
  if (at(0, 0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a)) return 'png';
  if (at(0, 0xff, 0xd8, 0xff)) return 'jpg';
  if (ascii(0, 'GIF87a') || ascii(0, 'GIF89a')) return 'gif';
  if (ascii(0, 'BM') && bytes.length > 14) return 'bmp';
  if (ascii(0, '%PDF-')) return 'pdf';
  if (ascii(0, '#!AMR')) return 'amr';
  if (ascii(0, 'RIFF') && ascii(8, 'WAVE')) return 'wav';
  if (ascii(0, 'ID3') || (bytes[0] === 0xff && ((bytes[1] ?? 0) & 0xe0) === 0xe0)) return 'mp3';
  if (ascii(4, 'ftyp')) return 'mp4';
  if (ascii(0, 'Rar!')) return 'rar';
  if (at(0, 0x50, 0x4b, 0x03, 0x04)) return 'zip';
  if (at(0, 0xd0, 0xcf, 0x11, 0xe0, 0xa1, 0xb1, 0x1a, 0xe1)) return 'doc';
  return undefined;
}

/** The type a format is uploaded as (image, voice, video, file), or undefined when DingTalk takes it as none. */
export function mediaKindOf(format: string): MediaKind | undefined {
  return (Object.keys(MEDIA_RULES) as MediaKind[]).find((k) => MEDIA_RULES[k].formats.includes(format));
}

/** Why DingTalk would refuse this upload (its rule, in words), or undefined. */
export function mediaRuleProblem(type: MediaKind, format: string, size: number): string | undefined {
  const rule = MEDIA_RULES[type];
  if (size === 0) return `${type} must not be empty`;
  if (!rule.formats.includes(format)) return `${type} must be one of ${rule.formats.join(', ')}${format ? `; this one is ${format}` : '; this one has no recognisable format'}`;
  if (size > rule.maxBytes) return `${type} must be at most ${rule.maxBytes / MB} MB; this one is ${(size / MB).toFixed(1)} MB`;
  return undefined;
}
