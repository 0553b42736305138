/**
 * README.md and its Chinese twin README.zh-CN.md must not drift apart. "The same" means:
 * - the heading outline (the level of every ATX heading outside fenced code, in order) is identical;
 * - the fenced code blocks are the same in number and order, with the same info string, each under the heading of the
 *   same rank, and line for line equal once a trailing comment is removed from shell and YAML lines (so their comments
 *   may be translated, nothing else) and trailing whitespace is trimmed;
 * - the tables are the same in number and order, each under the heading of the same rank, with the same number of
 *   rows and the same number of cells in each row;
 * - each links to the other in its first 5 lines.
 * Every failure names the block, table or heading, the heading it is under in both files and both lines, so that
 * whoever edits one README knows what to change in the other. The second `describe` tests the checker itself.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

const ROOT = new URL('../../../', import.meta.url);
const EN = 'README.md';
const ZH = 'README.zh-CN.md';
/** How far from the top each README must link to the other. */
const LINK_LINES = 5;

interface Heading {
  /** 1 for `#`, 2 for `##` … */
  level: number;
  text: string;
  /** 1-based line number. */
  line: number;
  /** Rank among the file's headings, from 0. */
  rank: number;
}

interface CodeBlock {
  /** The info string after the opening fence, e.g. `sh` or `yaml`. */
  info: string;
  /** 1-based line number of the opening fence; its first content line is `line + 1`. */
  line: number;
  /** The content lines, fences excluded. */
  lines: string[];
  /** The heading it is under (undefined before the first heading). */
  section: Heading | undefined;
}

interface Table {
  /** 1-based line number of its first row. */
  line: number;
  /** Every row as written, the header and the delimiter row included. */
  rows: string[];
  section: Heading | undefined;
}

interface Readme {
  file: string;
  lines: string[];
  headings: Heading[];
  blocks: CodeBlock[];
  tables: Table[];
}

type CommentSyntax = 'shell' | 'yaml';
type Quote = '"' | "'" | undefined;

/** Info strings whose blocks may carry `#` comments, which the Chinese README may translate. */
const COMMENT_SYNTAX: Record<string, CommentSyntax> = { sh: 'shell', bash: 'shell', shell: 'shell', console: 'shell', zsh: 'shell', yaml: 'yaml', yml: 'yaml' };

// ---------------------------------------------------------------------------------------------------------------
// Parsing (the subset of CommonMark/GFM the READMEs use: ATX headings, ``` or ~~~ fences, tables with leading pipes)
// ---------------------------------------------------------------------------------------------------------------

function parseReadme(file: string, text: string): Readme {
  const lines = text.split(/\r?\n/);
  const headings: Heading[] = [];
  const blocks: CodeBlock[] = [];
  const tables: Table[] = [];
  let fence: { char: string; length: number; block: CodeBlock } | undefined;
  let table: Table | undefined;
  lines.forEach((line, i) => {
    const lineNo = i + 1;
    if (fence) {
      const close = /^ {0,3}(`{3,}|~{3,})[ \t]*$/.exec(line);
      if (close?.[1] && close[1][0] === fence.char && close[1].length >= fence.length) fence = undefined;
      else fence.block.lines.push(line);
      return;
    }
    const section = headings.at(-1);
    const open = /^ {0,3}(`{3,}|~{3,})(.*)$/.exec(line);
    if (open?.[1] && !(open[1][0] === '`' && open[2]?.includes('`'))) {
      table = undefined;
      const block: CodeBlock = { info: (open[2] ?? '').trim(), line: lineNo, lines: [], section };
      blocks.push(block);
      fence = { char: open[1][0]!, length: open[1].length, block };
      return;
    }
    const heading = /^ {0,3}(#{1,6})(?:[ \t]+(.*?))?(?:[ \t]+#+)?[ \t]*$/.exec(line);
    if (heading?.[1]) {
      table = undefined;
      headings.push({ level: heading[1].length, text: heading[2] ?? '', line: lineNo, rank: headings.length });
      return;
    }
    if (/^ {0,3}\|/.test(line)) {
      if (!table) {
        table = { line: lineNo, rows: [], section };
        tables.push(table);
      }
      table.rows.push(line);
      return;
    }
    table = undefined;
  });
  return { file, lines, headings, blocks, tables };
}

/** A table row's cells: split on pipes not escaped with a backslash, without the outer pipes. */
function cells(row: string): string[] {
  const inner = row.trim().replace(/^\|/, '').replace(/(?<!\\)\|$/, '');
  return inner.split(/(?<!\\)\|/).map((cell) => cell.trim());
}

/**
 * Cuts a trailing comment off one shell or YAML line: from the first `#` that starts the line or follows whitespace
 * and is outside quotes (so `https://host/page#part`, `'a # b'` and `"a # b"` are not comments). `quote` is the quote
 * still open from the previous line (a shell string may span lines); the answer says which is open at the end.
 */
function stripComment(line: string, syntax: CommentSyntax, quote: Quote = undefined): { code: string; quote: Quote } {
  let open = quote;
  for (let i = 0; i < line.length; i++) {
    const c = line[i];
    if (open === "'") {
      if (c === "'") {
        if (syntax === 'yaml' && line[i + 1] === "'") i++; // YAML's '' inside a single-quoted scalar
        else open = undefined;
      }
      continue;
    }
    if (open === '"') {
      if (c === '\\') i++;
      else if (c === '"') open = undefined;
      continue;
    }
    if (c === '\\' && syntax === 'shell') {
      i++;
      continue;
    }
    const before = i === 0 ? ' ' : line[i - 1]!;
    if (c === '"' || c === "'") {
      // A shell quote opens anywhere; a YAML one only where a scalar starts (`it's` in a plain scalar is no quote).
      if (syntax === 'shell' || /[\s[{,:]/.test(before)) open = c;
      continue;
    }
    if (c === '#' && /\s/.test(before)) return { code: line.slice(0, i), quote: syntax === 'shell' ? open : undefined };
  }
  return { code: line, quote: syntax === 'shell' ? open : undefined };
}

/** A code block's lines as compared: trailing comments cut (shell and YAML blocks only), trailing whitespace trimmed. */
function comparableLines(block: CodeBlock): string[] {
  const syntax = COMMENT_SYNTAX[block.info.split(/\s/)[0]!.toLowerCase()];
  if (!syntax) return block.lines.map((line) => line.trimEnd());
  let quote: Quote;
  return block.lines.map((line) => {
    const stripped = stripComment(line, syntax, quote);
    quote = stripped.quote;
    return stripped.code.trimEnd();
  });
}

// ---------------------------------------------------------------------------------------------------------------
// Comparisons: each answers a list of problems, empty when the two READMEs agree
// ---------------------------------------------------------------------------------------------------------------

const headingText = (h: Heading | undefined) => (h ? `${'#'.repeat(h.level)} ${h.text}` : '(before the first heading)');
const under = (h: Heading | undefined) => `under "${headingText(h)}"`;
const clip = (s: string, n = 100) => (s.length > n ? `${s.slice(0, n - 1)}…` : s);
const width = (s: string) => [...s].length;
const pad = (s: string, n: number) => s + ' '.repeat(Math.max(0, n - width(s)));
const rankOf = (h: Heading | undefined) => (h ? h.rank + 1 : 0);

type Step = { kind: 'same' | 'changed'; a: number; b: number } | { kind: 'onlyA'; a: number } | { kind: 'onlyB'; b: number };

/**
 * Lines two sequences up on their longest common subsequence of equal keys, so that one insertion is reported as one
 * insertion rather than as a shift of everything after it. What lies between two matches is paired in order
 * (`changed`); the rest is only in one of them.
 */
function align(xs: readonly string[], ys: readonly string[]): Step[] {
  const m = ys.length;
  const lcs = new Array<number>((xs.length + 1) * (m + 1)).fill(0);
  const at = (i: number, j: number) => lcs[i * (m + 1) + j] ?? 0;
  for (let i = xs.length - 1; i >= 0; i--) {
    for (let j = m - 1; j >= 0; j--) lcs[i * (m + 1) + j] = xs[i] === ys[j] ? at(i + 1, j + 1) + 1 : Math.max(at(i + 1, j), at(i, j + 1));
  }
  const steps: Step[] = [];
  let gapA: number[] = [];
  let gapB: number[] = [];
  const flush = () => {
    for (let k = 0; k < Math.max(gapA.length, gapB.length); k++) {
      const a = gapA[k];
      const b = gapB[k];
      if (a !== undefined && b !== undefined) steps.push({ kind: 'changed', a, b });
      else if (a !== undefined) steps.push({ kind: 'onlyA', a });
      else if (b !== undefined) steps.push({ kind: 'onlyB', b });
    }
    gapA = [];
    gapB = [];
  };
  let i = 0;
  let j = 0;
  while (i < xs.length && j < m) {
    if (xs[i] === ys[j] && at(i, j) === at(i + 1, j + 1) + 1) {
      flush();
      steps.push({ kind: 'same', a: i++, b: j++ });
    } else if (at(i + 1, j) >= at(i, j + 1)) gapA.push(i++);
    else gapB.push(j++);
  }
  while (i < xs.length) gapA.push(i++);
  while (j < m) gapB.push(j++);
  flush();
  return steps;
}

/** Where the next item would go in the README of side `b`, from the steps before it. */
function slotIn(steps: Step[], upTo: number, side: 'a' | 'b', lineOf: (index: number) => number, file: string): string {
  for (let s = upTo - 1; s >= 0; s--) {
    const step = steps[s]!;
    const index = side === 'a' ? ('a' in step ? step.a : undefined) : 'b' in step ? step.b : undefined;
    if (index !== undefined) return `after the one at ${file}:${lineOf(index)}`;
  }
  return `before the first in ${file}`;
}

/** Same number of headings, and the same level at every rank. */
function compareHeadings(a: Readme, b: Readme): string[] {
  const n = Math.max(a.headings.length, b.headings.length);
  const first = [...Array(n).keys()].find((i) => a.headings[i]?.level !== b.headings[i]?.level);
  if (first === undefined) return [];
  // What each section holds, to tell the sections apart although their titles are in different languages.
  const holds = (r: Readme, h: Heading) => {
    const blocks = r.blocks.filter((x) => x.section === h).length;
    const tables = r.tables.filter((t) => t.section === h).length;
    const parts = [blocks ? `${blocks} code` : '', tables ? `${tables} table${tables > 1 ? 's' : ''}` : ''].filter(Boolean);
    return parts.length ? ` [${parts.join(', ')}]` : '';
  };
  const side = (r: Readme, i: number) => {
    const h = r.headings[i];
    return h ? `${r.file}:${h.line} ${headingText(h)}${holds(r, h)}` : '—';
  };
  const column = Math.max(...a.headings.map((_, i) => width(side(a, i)))) + 2;
  const outline = [...Array(n).keys()].map((i) => {
    const mark = a.headings[i]?.level !== b.headings[i]?.level ? '≠' : ' ';
    return `  ${mark} ${String(i + 1).padStart(2)}  ${pad(side(a, i), column)}${side(b, i)}`;
  });
  const lines = [
    `The heading outlines differ (${a.file}: ${a.headings.length} headings, ${b.file}: ${b.headings.length}); their levels first differ at heading ${first + 1}, ` +
      `after "${headingText(a.headings[first - 1])}" / "${headingText(b.headings[first - 1])}" (an added or removed heading may be earlier: ` +
      'compare the two columns). Headings must match one to one, level for level:',
    ...outline,
  ];
  return [lines.join('\n')];
}

/** Same blocks in the same order and sections, line for line up to translated `#` comments. */
function compareCodeBlocks(a: Readme, b: Readme): string[] {
  const problems: string[] = [];
  if (a.blocks.length !== b.blocks.length) problems.push(`${a.file} has ${a.blocks.length} code blocks, ${b.file} has ${b.blocks.length}`);
  const key = (x: CodeBlock) => [x.info, ...comparableLines(x)].join('\n');
  const steps = align(a.blocks.map(key), b.blocks.map(key));
  const sameOutline = a.headings.length === b.headings.length;
  const at = (r: Readme, x: CodeBlock) => `${r.file}:${x.line} ${under(x.section)}`;
  const lineWidth = Math.max(a.file.length, b.file.length) + 6;
  const show = (r: Readme, x: CodeBlock, i: number) => pad(`${r.file}:${x.line + 1 + i}`, lineWidth) + x.lines[i]!.trimEnd();
  steps.forEach((step, s) => {
    if (step.kind === 'onlyA' || step.kind === 'onlyB') {
      const [r, other, x, blockLine] =
        step.kind === 'onlyA'
          ? ([a, b, a.blocks[step.a]!, (i: number) => b.blocks[i]!.line] as const)
          : ([b, a, b.blocks[step.b]!, (i: number) => a.blocks[i]!.line] as const);
      const index = r.blocks.indexOf(x);
      const slot = slotIn(steps, s, step.kind === 'onlyA' ? 'b' : 'a', blockLine, other.file);
      problems.push(`code block ${index + 1} of ${r.file} (${at(r, x)}) has no twin in ${other.file}; it would come ${slot}. It starts:\n  ${show(r, x, 0)}`);
      return;
    }
    const x = a.blocks[step.a]!;
    const y = b.blocks[step.b]!;
    const where = `code block ${step.a + 1} (${at(a, x)}; ${at(b, y)})`;
    if (sameOutline && x.section?.rank !== y.section?.rank) problems.push(`${where}: under heading ${rankOf(x.section)} in ${a.file} but heading ${rankOf(y.section)} in ${b.file}`);
    if (step.kind === 'same') return;
    if (x.info !== y.info) problems.push(`${where}: info string "${x.info}" ≠ "${y.info}"`);
    const lines = align(comparableLines(x), comparableLines(y)).filter((l) => l.kind !== 'same');
    for (const l of lines.slice(0, 10)) {
      if (l.kind === 'changed') problems.push(`${where}, a line differs (compared without trailing # comments):\n  ${show(a, x, l.a)}\n  ${show(b, y, l.b)}`);
      else if (l.kind === 'onlyA') problems.push(`${where}, a line only in ${a.file}:\n  ${show(a, x, l.a)}`);
      else if (l.kind === 'onlyB') problems.push(`${where}, a line only in ${b.file}:\n  ${show(b, y, l.b)}`);
    }
    if (lines.length > 10) problems.push(`${where}: ${lines.length - 10} more differing lines`);
  });
  return problems;
}

/** Same tables in the same order and sections, with the same number of rows and of cells in each row. */
function compareTables(a: Readme, b: Readme): string[] {
  const problems: string[] = [];
  if (a.tables.length !== b.tables.length) problems.push(`${a.file} has ${a.tables.length} tables, ${b.file} has ${b.tables.length}`);
  const shape = (t: Table) => t.rows.map((row) => cells(row).length).join(',');
  const steps = align(a.tables.map(shape), b.tables.map(shape));
  const sameOutline = a.headings.length === b.headings.length;
  const at = (r: Readme, t: Table) => `${r.file}:${t.line} ${under(t.section)}, ${t.rows.length} rows`;
  // The first column of both, where the rows' names usually are, so a missing row is easy to spot.
  const firstCells = (x: Table | undefined, y: Table | undefined) => {
    const xs = x ? x.rows.map((row) => clip(cells(row)[0] ?? '', 60)) : [];
    const ys = y ? y.rows.map((row) => clip(cells(row)[0] ?? '', 60)) : [];
    const column = Math.max(12, ...xs.map(width)) + 2;
    const rows = [...Array(Math.max(xs.length, ys.length)).keys()].map((i) => `  ${String(i + 1).padStart(2)}  ${pad(xs[i] ?? '—', column)}${ys[i] ?? '—'}`);
    return `first cells, ${a.file} | ${b.file}:\n${rows.join('\n')}`;
  };
  steps.forEach((step, s) => {
    if (step.kind === 'onlyA' || step.kind === 'onlyB') {
      const [r, other, t, tableLine] =
        step.kind === 'onlyA'
          ? ([a, b, a.tables[step.a]!, (i: number) => b.tables[i]!.line] as const)
          : ([b, a, b.tables[step.b]!, (i: number) => a.tables[i]!.line] as const);
      const slot = slotIn(steps, s, step.kind === 'onlyA' ? 'b' : 'a', tableLine, other.file);
      const [x, y] = step.kind === 'onlyA' ? [t, undefined] : [undefined, t];
      problems.push(`table ${r.tables.indexOf(t) + 1} of ${r.file} (${at(r, t)}) has no twin in ${other.file}; it would come ${slot}; ${firstCells(x, y)}`);
      return;
    }
    const x = a.tables[step.a]!;
    const y = b.tables[step.b]!;
    const where = `table ${step.a + 1} (${at(a, x)}; ${at(b, y)})`;
    if (sameOutline && x.section?.rank !== y.section?.rank) problems.push(`${where}: under heading ${rankOf(x.section)} in ${a.file} but heading ${rankOf(y.section)} in ${b.file}`);
    if (step.kind === 'same') return;
    if (x.rows.length !== y.rows.length) {
      problems.push(`${where}: the row counts differ; ${firstCells(x, y)}`);
      return;
    }
    x.rows.forEach((row, i) => {
      const other = y.rows[i]!;
      if (cells(row).length !== cells(other).length) {
        problems.push(
          `${where}, row ${i + 1} has ${cells(row).length} cells in ${a.file} but ${cells(other).length} in ${b.file}:\n` +
            `  ${a.file}:${x.line + i}  ${clip(row)}\n  ${b.file}:${y.line + i}  ${clip(other)}`,
        );
      }
    });
  });
  return problems;
}

/** Does one of the first `LINK_LINES` lines hold a Markdown link to `target`? */
function linksTo(r: Readme, target: string): boolean {
  const link = new RegExp(`\\]\\((?:\\./)?${target.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}(?:#[^)]*)?\\)`);
  return r.lines.slice(0, LINK_LINES).some((line) => link.test(line));
}

function compareLinks(a: Readme, b: Readme): string[] {
  const problems: string[] = [];
  if (!linksTo(a, b.file)) problems.push(`${a.file} does not link to ${b.file} in its first ${LINK_LINES} lines (e.g. "[中文说明](${b.file})")`);
  if (!linksTo(b, a.file)) problems.push(`${b.file} does not link to ${a.file} in its first ${LINK_LINES} lines (e.g. "[English](${a.file})")`);
  return problems;
}

const readReadme = (file: string) => parseReadme(file, readFileSync(new URL(file, ROOT), 'utf8'));

function expectNoDrift(problems: string[]): void {
  expect(problems.join('\n\n'), `${EN} and ${ZH} have drifted apart: change ${ZH} (or ${EN}) so they match again`).toBe('');
}

describe('README.md and README.zh-CN.md stay twins', () => {
  const en = readReadme(EN);
  const zh = readReadme(ZH);

  it('link to each other in their first lines', () => {
    expectNoDrift(compareLinks(en, zh));
  });

  it('have the same heading outline', () => {
    expect(en.headings.length).toBeGreaterThan(1);
    expectNoDrift(compareHeadings(en, zh));
  });

  it('have the same code blocks: the same command lines, only # comments translated', () => {
    expect(en.blocks.length).toBeGreaterThan(0);
    expectNoDrift(compareCodeBlocks(en, zh));
  });

  it('have the same tables, row for row', () => {
    expect(en.tables.length).toBeGreaterThan(0);
    expectNoDrift(compareTables(en, zh));
  });
});

describe('the parity checker', () => {
  const enText = readFileSync(new URL(EN, ROOT), 'utf8');
  const en = parseReadme(EN, enText);
  /** README.md with some of its lines changed: `edit` gets the lines (0-based) and changes them in place. */
  const edited = (edit: (lines: string[]) => void) => {
    const lines = enText.split('\n');
    edit(lines);
    const text = lines.join('\n');
    expect(text).not.toBe(enText);
    return parseReadme(ZH, text);
  };
  const all = (a: Readme, b: Readme) => [...compareHeadings(a, b), ...compareCodeBlocks(a, b), ...compareTables(a, b)];

  it('finds no difference between a README and itself', () => {
    expect(all(en, parseReadme(ZH, enText))).toEqual([]);
  });

  it('cuts only real comments off shell and YAML lines', () => {
    const sh = (line: string) => stripComment(line, 'shell').code.trimEnd();
    const yaml = (line: string) => stripComment(line, 'yaml').code.trimEnd();
    expect(sh('npx dingpush serve        # run the gateway')).toBe('npx dingpush serve');
    expect(sh('npx dingpush serve  #运行网关')).toBe('npx dingpush serve');
    expect(sh('# a whole-line comment')).toBe('');
    expect(sh("curl 'http://127.0.0.1:8720/docs#send'")).toBe("curl 'http://127.0.0.1:8720/docs#send'");
    expect(sh('curl http://127.0.0.1:8720/docs#send')).toBe('curl http://127.0.0.1:8720/docs#send');
    expect(sh('echo "a # b" \'c # d\' # e')).toBe('echo "a # b" \'c # d\'');
    expect(sh('echo \\# not a comment')).toBe('echo \\# not a comment');
    expect(sh('echo ${#name} # length')).toBe('echo ${#name}');
    expect(yaml('url: "http://h/x#frag"   # the hook')).toBe('url: "http://h/x#frag"');
    expect(yaml("text: 'it''s # not a comment'  # but this is")).toBe("text: 'it''s # not a comment'");
    expect(yaml("name: it's # a comment")).toBe("name: it's");
    expect(yaml('color: "#ff0000"')).toBe('color: "#ff0000"');
    // A shell string spanning lines: what is inside it is never a comment, what follows it may be.
    const block: CodeBlock = { info: 'sh', line: 1, lines: ["curl -d '{", '  "a": 1, # inside the body', "}'  # after it"], section: undefined };
    expect(comparableLines(block)).toEqual(["curl -d '{", '  "a": 1, # inside the body', "}'"]);
    // Other languages keep their # as written.
    expect(comparableLines({ ...block, info: 'json' })).toEqual(block.lines);
  });

  it('accepts translated comments and reports a changed command line, naming its section and both lines', () => {
    const text = ['# T', '', '## Quick start', '', '```sh', 'npx dingpush serve   # run it', "curl 'http://h/#a'", '```', ''].join('\n');
    const a = parseReadme(EN, text);
    expect(compareCodeBlocks(a, parseReadme(ZH, text.replace('# run it', '# 运行').replace('## Quick start', '## 快速开始')))).toEqual([]);
    const [problem, ...more] = compareCodeBlocks(a, parseReadme(ZH, text.replace('## Quick start', '## 快速开始').replace('#a', '#b')));
    expect(more).toEqual([]);
    expect(problem).toContain('code block 1');
    expect(problem).toContain('under "## Quick start"');
    expect(problem).toContain('under "## 快速开始"');
    expect(problem).toContain(`${EN}:7`);
    expect(problem).toContain("curl 'http://h/#a'");
    expect(problem).toContain("curl 'http://h/#b'");
  });

  it('reports a changed line in a block of the real README', () => {
    const block = en.blocks[0]!;
    const changed = edited((lines) => {
      lines[block.line] = `changed ${lines[block.line]}`; // in front: appended text could land in a comment
    });
    const problems = compareCodeBlocks(en, changed);
    expect(problems).toHaveLength(1);
    expect(problems[0]).toContain(under(block.section));
    expect(problems[0]).toContain(`${block.lines[0]!.trimEnd()}`);
    expect(problems[0]).toContain(`changed ${block.lines[0]!.trimEnd()}`);
  });

  it('reports a line added to a block as one line, not as a shift of the lines after it', () => {
    const block = en.blocks.find((x) => x.lines.length > 2)!;
    const changed = edited((lines) => {
      lines.splice(block.line + 1, 0, 'npx dingpush doctor');
    });
    const problems = compareCodeBlocks(changed, en);
    expect(problems).toEqual([expect.stringContaining(`a line only in ${ZH}:\n  ${ZH}:${block.line + 2}`)]);
    expect(problems[0]).toContain('npx dingpush doctor');
  });

  it('reports a section added to one README only: its heading, its code block and its table', () => {
    const extra = ['## Setup', '', '```sh', 'npx dingpush init', '```', '', '| command | what it does |', '|---|---|', '| `init` | writes a configuration |', ''];
    const changed = edited((lines) => {
      lines.splice(en.headings.at(-1)!.line - 1, 0, ...extra);
    });
    const headings = compareHeadings(changed, en);
    expect(headings).toHaveLength(1);
    expect(headings[0]).toContain(`${ZH}: ${en.headings.length + 1} headings`);
    expect(headings[0]).toContain('## Setup');
    const blocks = compareCodeBlocks(changed, en);
    expect(blocks.join('\n')).toContain(`has ${en.blocks.length + 1} code blocks`);
    expect(blocks.join('\n')).toContain('npx dingpush init');
    expect(blocks.join('\n')).toContain('under "## Setup") has no twin in README.md');
    expect(blocks).toHaveLength(2); // the count, and the new block: the blocks after it still pair up
    const tables = compareTables(changed, en);
    expect(tables.join('\n')).toContain(`has ${en.tables.length + 1} tables`);
    expect(tables.join('\n')).toContain('under "## Setup", 3 rows) has no twin in README.md');
    expect(tables).toHaveLength(2);
  });

  it('reports a heading whose level changed', () => {
    const h = en.headings[1]!;
    const problems = compareHeadings(
      en,
      edited((lines) => {
        lines[h.line - 1] = `#${lines[h.line - 1]}`;
      }),
    );
    expect(problems).toHaveLength(1);
    expect(problems[0]).toContain('first differ at heading 2');
    expect(problems[0]).toContain(`#${headingText(h)}`);
  });

  it('reports a table that lost a row or a cell', () => {
    const t = en.tables[0]!;
    const shorter = compareTables(
      en,
      edited((lines) => {
        lines.splice(t.line - 1 + t.rows.length - 1, 1);
      }),
    );
    expect(shorter).toHaveLength(1);
    expect(shorter[0]).toContain(`${t.rows.length} rows`);
    expect(shorter[0]).toContain(`${t.rows.length - 1} rows`);
    expect(shorter[0]).toContain(under(t.section));
    const narrower = compareTables(
      en,
      edited((lines) => {
        lines[t.line + 1] = lines[t.line + 1]!.replace(/\|[^|]*\|\s*$/, '|');
      }),
    );
    expect(narrower).toHaveLength(1);
    expect(narrower[0]).toContain('row 3 has');
  });

  it('reports a README that does not link to its twin near the top', () => {
    const bare = parseReadme(ZH, '# dingpush\n\n没有链接\n');
    expect(compareLinks(en, bare)).toEqual([`${ZH} does not link to ${EN} in its first ${LINK_LINES} lines (e.g. "[English](${EN})")`]);
    expect(compareLinks(parseReadme(EN, '# dingpush\n'), parseReadme(ZH, '# dingpush\n\n[English](README.md)\n'))[0]).toContain(`${EN} does not link to ${ZH}`);
  });
});
