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
    // Whitespace after the break goes with the part before it while it fits: the next part starts with content. The
    // indentation of the next part's first line stays with it (in markdown it means something: an indented code block).
    let run = 0;
    while (run < rest.length && /^\s+$/.test(rest[run]!)) run++;
    let lastLineEnd = -1;
    for (let i = 0; i < run; i++) if (rest[i]!.includes('\n')) lastLineEnd = i;
    const movable = lastLineEnd + 1;
    for (let moved = 0; moved < movable && headSize + size(rest[0]!) <= max; moved++) {
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
  // A table's header row goes with its separator row (apart, neither part would show a table).
  const pattern = /!?\[[^\]\n]*\]\([^)\s]*\)|`[^`\n]+`|^[ \t]*\|[^\n]*\n[ \t]*\|?[ \t]*:?-{3,}:?[ \t]*(?:\|[ \t]*:?-{3,}:?[ \t]*)*\|?[ \t\r]*$|^[ \t]*\|[^\n]*/gm;
  let last = 0;
  for (const m of text.matchAll(pattern)) {
    for (const ch of text.slice(last, m.index)) atoms.push(ch);
    atoms.push(m[0]);
    last = m.index + m[0].length;
  }
  for (const ch of text.slice(last)) atoms.push(ch);
  return atoms;
}

// CommonMark: at most three spaces before a fence, and no backtick in a backtick fence's info string (```a``` is a
// code span on one line, not a fence).
const FENCE = /^ {0,3}(`{3,}(?=[^`]*$)|~{3,})(.*)$/;
const TABLE_ROW = /^[ \t]*\|/;
const TABLE_SEPARATOR = /^[ \t]*\|?[ \t]*:?-{3,}:?[ \t]*(\|[ \t]*:?-{3,}:?[ \t]*)*\|?[ \t\r]*$/;

interface Fence {
  marker: string;
  opener: string;
}

/** A line of the text: where it starts, the code fence open before it, and, for a table's body row, its table's header. */
interface ScannedLine {
  start: number;
  fence: Fence | null;
  header: string | null;
}

/** Reads the text's lines once for what a cut between them would lose: an open code fence, a table's header rows. */
function scanLines(lines: string[]): ScannedLine[] {
  const out: ScannedLine[] = [];
  let fence: Fence | null = null;
  let header: string | null = null;
  let start = 0;
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    const entry: ScannedLine = { start, fence, header: null };
    const f = FENCE.exec(line);
    if (f) {
      if (fence === null) fence = { marker: f[1]!, opener: line.trim() };
      else if (f[1]!.startsWith(fence.marker) && f[2]!.trim() === '') fence = null;
      header = null;
    } else if (fence === null) {
      if (TABLE_ROW.test(line) && TABLE_SEPARATOR.test(lines[i + 1] ?? '')) header = `${line}\n${lines[i + 1]}`;
      else if (!TABLE_ROW.test(line)) header = null;
      else if (header !== null && !TABLE_SEPARATOR.test(line)) entry.header = header;
    }
    out.push(entry);
    start += line.length + 1;
  }
  return out;
}

/**
 * splitMarkdown for markdown that is shown part by part: a part cut inside a fenced code block closes the fence and the
 * next part opens it again (with its language), and a part that goes on with a table starts with that table's header
 * rows, so each part renders as the text did. Each part still measures at most `max`; the text between the added
 * lines is the text, in order. A table header longer than a quarter of `max` is not repeated (it would crowd out the
 * rows it heads).
 */
export function splitMarkdownBlocks(text: string, max: number, size: (s: string) => number = utf8Bytes): string[] {
  if (size(text) <= max) return [text];
  const lines = text.split('\n');
  const scanned = scanLines(lines);
  // What is repeated at a part's start stays small beside the part: a longer table header is not repeated, a fence
  // with a longer info string is reopened bare.
  const repeatable = (h: string) => size(`${h}\n`) <= max / 4;
  const reopen = (f: Fence) => (repeatable(f.opener) ? f.opener : f.marker);
  // Room every part keeps for what a cut may add: the widest reopened fence or repeated header before it, a closer after.
  const widest = (xs: (string | undefined)[]) => Math.max(0, ...xs.map((x) => (x === undefined ? 0 : size(`${x}\n`))));
  const open = widest(scanned.map((l) => (l.fence ? reopen(l.fence) : undefined)));
  const close = widest(scanned.map((l) => l.fence?.marker));
  const header = widest(scanned.map((l) => (l.header && repeatable(l.header) ? l.header : undefined)));
  const budget = max - Math.max(open, header) - close;
  // Fences so wide that carrying them would leave parts no room (a marker of hundreds of backticks): split as text.
  if (budget < max / 2) return splitMarkdown(text, max, size);
  const parts = splitMarkdown(text, budget, size);
  return carryBlocks(parts, lines, scanned, repeatable, reopen);
}

/** Closes and reopens fences, and repeats table headers, across the boundaries of `parts` (see splitMarkdownBlocks). */
function carryBlocks(parts: string[], lines: string[], scanned: ScannedLine[], repeatable: (header: string) => boolean, reopen: (fence: Fence) => string): string[] {
  const out: string[] = [];
  let carried = '';
  let at = 0;
  let l = 0;
  for (const [k, part] of parts.entries()) {
    let shown = carried + part;
    carried = '';
    at += part.length;
    if (k < parts.length - 1) {
      while (scanned[l + 1] && scanned[l + 1]!.start <= at) l++;
      const line = scanned[l]!;
      // Inside a fence at the boundary (the line the next part starts, or goes on with, is code): close and reopen it.
      const open = line.start === at ? line.fence : FENCE.exec(lines[l]!) ? null : line.fence;
      if (open) {
        shown += `${shown.endsWith('\n') ? '' : '\n'}${open.marker}`;
        carried = `${reopen(open)}\n`;
      } else if (line.start === at && line.header && repeatable(line.header)) {
        carried = `${line.header}\n`;
      }
    }
    out.push(shown);
  }
  return out;
}
