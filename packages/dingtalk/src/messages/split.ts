/**
 * Splits long markdown into parts that each fit a byte budget (UTF-8), breaking at the safest boundary available:
 * a blank line, else a line end, else a space, else between characters — never inside a link or image
 * (`[…](…)`), a code span (`…`) or a multi-byte character.
 */
export function splitMarkdown(text: string, maxBytes: number): string[] {
  if (maxBytes < 8) throw new RangeError('maxBytes must be at least 8');
  if (Buffer.byteLength(text) <= maxBytes) return [text];
  const atoms = atomize(text);
  const parts: string[] = [];
  let current: string[] = [];
  let currentBytes = 0;

  const flush = (upTo: number) => {
    const head = current.slice(0, upTo).join('').replace(/\s+$/, '');
    if (head) parts.push(head);
    current = current.slice(upTo);
    while (current.length && /^\s+$/.test(current[0]!)) current.shift();
    currentBytes = current.reduce((n, a) => n + Buffer.byteLength(a), 0);
  };

  for (const atom of atoms) {
    const size = Buffer.byteLength(atom);
    if (size > maxBytes) {
      // An atom bigger than the budget (a huge link or code span) is cut by characters: nothing safer is left.
      flush(current.length);
      for (const ch of atom) {
        const chBytes = Buffer.byteLength(ch);
        if (currentBytes + chBytes > maxBytes) flush(current.length);
        current.push(ch);
        currentBytes += chBytes;
      }
      continue;
    }
    if (currentBytes + size > maxBytes) flush(bestBreak(current));
    if (currentBytes + size > maxBytes) flush(current.length);
    current.push(atom);
    currentBytes += size;
  }
  flush(current.length);
  return parts;
}

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

/** Links, images and code spans are indivisible; everything else is single code points. */
function atomize(text: string): string[] {
  const atoms: string[] = [];
  const pattern = /!?\[[^\]\n]*\]\([^)\s]*\)|`[^`\n]+`/g;
  let last = 0;
  for (const m of text.matchAll(pattern)) {
    for (const ch of text.slice(last, m.index)) atoms.push(ch);
    atoms.push(m[0]);
    last = m.index + m[0].length;
  }
  for (const ch of text.slice(last)) atoms.push(ch);
  return atoms;
}
