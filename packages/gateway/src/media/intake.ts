import { createHash, randomBytes } from 'node:crypto';
import { extensionOf, MEDIA_MAX_BYTES, MEDIA_MIME, MEDIA_RULES, type MediaKind, mediaKindOf, mediaRuleProblem, sniffFormat } from '@dingpush/dingtalk';
import type { NewMedia } from '../store/types.js';

/**
 * Bytes a sender gave, checked against DingTalk's media rules (the client's one table) before anything is stored:
 * the format (the extension, held to what the bytes say they are), the type it goes as, and the size.
 */

/** Formats that share a signature (see sniffFormat): the extension tells which of them a file is. */
const ZIP_FAMILY = new Set(['zip', 'docx', 'xlsx', 'pptx']);
const OLE_FAMILY = new Set(['doc', 'xls', 'ppt']);
const canonical = (f: string) => (f === 'jpeg' ? 'jpg' : ZIP_FAMILY.has(f) ? 'zip' : OLE_FAMILY.has(f) ? 'doc' : f);
const same = (a: string, b: string) => canonical(a) === canonical(b);

/**
 * One row per content and type: the id is derived from both, so the same bytes sent again (by any route) are the row
 * already stored, and the uploads cached for it apply. Knowing an id means knowing the bytes, so it reveals nothing.
 */
export const mediaIdOf = (type: string, sha256: string) => `med_${createHash('sha256').update(`${type}:${sha256}`).digest('hex').slice(0, 32)}`;

export type Intake = { media: NewMedia } | { problem: string };

export function intake(bytes: Buffer, given: { filename?: string | undefined; type?: MediaKind | undefined }, now: number): Intake {
  if (bytes.length === 0) return { problem: 'the file is empty' };
  if (bytes.length > MEDIA_MAX_BYTES) return { problem: `must be at most ${MEDIA_MAX_BYTES / 1024 / 1024} MB (DingTalk's largest file)` };
  const sniffed = sniffFormat(bytes);
  const extension = given.filename ? extensionOf(given.filename) : '';
  const named = MEDIA_MIME[extension] ? extension : '';
  // Every format DingTalk takes has a signature: bytes that do not show the one their name claims are not that format.
  if (named && !(sniffed && same(named, sniffed))) return { problem: `the file is named .${named} but its bytes are ${sniffed ?? 'not a file of that format'}` };
  const format = named || sniffed || extension;
  const type = given.type ?? mediaKindOf(format);
  if (!type) return { problem: `${format ? `.${format} files are` : 'a file of unknown format is'} not something DingTalk takes (${describeFormats()})` };
  const problem = mediaRuleProblem(type, format, bytes.length);
  if (problem) return { problem };
  // DingTalk reads the format from the uploaded file's name: it keeps (or gains) the extension of the format.
  const base = given.filename ?? type;
  const filename = named ? base : `${base}.${format}`;
  const sha256 = createHash('sha256').update(bytes).digest('hex');
  return {
    media: {
      id: mediaIdOf(type, sha256),
      sha256,
      type,
      filename,
      format,
      mime: MEDIA_MIME[format] ?? 'application/octet-stream',
      size: bytes.length,
      token: randomBytes(18).toString('base64url'),
      createdAt: now,
      bytes,
    },
  };
}

const describeFormats = () => (Object.keys(MEDIA_RULES) as MediaKind[]).map((k) => `${k}: ${MEDIA_RULES[k].formats.join('/')}`).join('; ');
