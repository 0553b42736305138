/**
 * Splits long markdown (or plain text) into parts that each measure at most `max`, breaking at the safest boundary
 * available: a blank line, else a line end, else a space, else between characters — never inside a link or image
 * (`[…](…)`), a code span (`…`), a table row (a line starting with `|`) or a character (a code point).
 *
 * Nothing is lost or added: `parts.join('') === text`. The whitespace at a break stays at the end of the part before
 * it (where markdown ignores it) as far as it fits, so the parts read as the text did and join back to it exactly.
 *
 * `size` measures a piece of text and must be additive (the size of a + b is size(a) + size(b)): UTF-8 bytes by
 * default; characters for DingTalk's field limits; JSON-escaped bytes for a whole body's byte cap.
 */
export function splitMarkdown(text: string, max: number, size: (s: string) => number = utf8Bytes): string[] {
  if (max < 8) throw new RangeError('max must be at least 8');
  if (size(text) <= max) return [text];
  const parts: string[] = [];
  let current: string[] = [];
  let currentSize = 0;

  const flush = (upTo: number) => {
    let head = current.slice(0, upTo).join('');
    let headSize = size(head);
    let rest = current.slice(upTo);
    // Whitespace after the break goes with the part before it while it fits: the next part starts with content.
    while (rest.length && /^\s+$/.test(rest[0]!) && headSize + size(rest[0]!) <= max) {
      head += rest[0];
      headSize += size(rest[0]!);
      rest = rest.slice(1);
    }
    if (head) parts.push(head);
    current = rest;
    currentSize = current.reduce((n, a) => n + size(a), 0);
  };

  for (const atom of atomize(text)) {
    const atomSize = size(atom);
    if (atomSize > max) {
      // An atom bigger than the budget (a huge link, code span or table row) is cut by characters: nothing safer is left.
      flush(current.length);
      for (const ch of atom) {
        const chSize = size(ch);
        if (currentSize + chSize > max) flush(current.length);
        current.push(ch);
        currentSize += chSize;
      }
      continue;
    }
    if (currentSize + atomSize > max) flush(bestBreak(current));
    if (currentSize + atomSize > max) flush(current.length);
    current.push(atom);
    currentSize += atomSize;
  }
  flush(current.length);
  return parts;
}

/** UTF-8 bytes. */
export const utf8Bytes = (s: string): number => Buffer.byteLength(s);
/** Characters as DingTalk counts its field limits: code points. */
export const codePoints = (s: string): number => {
  let n = 0;
  for (const _ of s) n++;
  return n;
};
/** Bytes a string adds to a JSON body (its escaped form, without the quotes). */
export const jsonBytes = (s: string): number => Buffer.byteLength(JSON.stringify(s)) - 2;

/** Index to cut `atoms` at: after the last blank line, else the last line end, else the last space, else the end. */
function bestBreak(atoms: string[]): number {
  let blank = -1;
  let line = -1;
  let space = -1;
  for (let i = 0; i + 1 < atoms.length; i++) {
    const a = atoms[i]!;
    if (a === '\n') {
      line = i + 1;
      if (i > 0 && atoms[i - 1] === '\n') blank = i + 1;
    } else if (a === ' ') space = i + 1;
  }
  for (const at of [blank, line, space]) if (at > 0) return at;
  return atoms.length;
}

/** Links, images, code spans and table rows are indivisible; everything else is single code points. */
function atomize(text: string): string[] {
  const atoms: string[] = [];
  const pattern = /!?\[[^\]\n]*\]\([^)\s]*\)|`[^`\n]+`|^[ \t]*\|[^\n]*/gm;
  let last = 0;
  for (const m of text.matchAll(pattern)) {
    for (const ch of text.slice(last, m.index)) atoms.push(ch);
    atoms.push(m[0]);
    last = m.index + m[0].length;
  }
  for (const ch of text.slice(last)) atoms.push(ch);
  return atoms;
}
