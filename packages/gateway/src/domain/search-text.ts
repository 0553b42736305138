/**
 * The words of a notification that a dashboard search (`q=`) looks in: its title and content, whichever message type
 * carries them, and a template's name and data values. Lower-cased, so one case-insensitive LIKE works on SQLite and
 * PostgreSQL alike (SQLite's LIKE folds ASCII only). Never the recipients' JSON keys or the message's field names.
 */
export function searchTextOf(request: unknown): string {
  const words: string[] = [];
  const walk = (v: unknown, depth: number): void => {
    if (depth > 6 || words.length > 200) return;
    if (typeof v === 'string') {
      // Base64 media and URLs are not what anyone searches for.
      if (v.length < 4096 && !/^https?:\/\//.test(v)) words.push(v);
    } else if (typeof v === 'number') words.push(String(v));
    else if (Array.isArray(v)) for (const x of v) walk(x, depth + 1);
    else if (v && typeof v === 'object') {
      for (const [k, x] of Object.entries(v)) if (!SKIP.has(k)) walk(x, depth + 1);
    }
  };
  const r = (request ?? {}) as Record<string, unknown>;
  walk(r.message, 0);
  if (typeof r.template === 'string') words.push(r.template);
  walk(r.data, 0);
  return words.join('\n').toLowerCase().slice(0, 8192);
}

/** Message fields that are not words someone reads: types, ids, flags, media. */
const SKIP = new Set(['type', 'msgtype', 'msgKey', 'base64', 'media', 'media_id', 'mediaId', 'url', 'picUrl', 'messageUrl', 'message_url', 'btnOrientation', 'btn_orientation', 'bgcolor', 'filename']);

/** A text a notification list shows for a notification: its title, else the start of its content, else its template. */
export function titleOf(request: unknown): string {
  const r = (request ?? {}) as Record<string, unknown>;
  const m = (r.message ?? {}) as Record<string, unknown>;
  const raw = (m.raw ?? {}) as Record<string, unknown>;
  const body = (raw.msgtype && typeof raw.msgtype === 'string' ? raw[raw.msgtype] : undefined) as Record<string, unknown> | undefined;
  for (const c of [m.title, m.content, m.text, body?.title, body?.content, body?.text, r.template]) {
    if (typeof c === 'string' && c.trim() !== '') {
      const line = c.trim().split('\n')[0]!.replace(/^#+\s*/, '');
      return line.length > 120 ? `${line.slice(0, 119)}…` : line;
    }
  }
  return typeof m.type === 'string' ? `(${m.type})` : '';
}
