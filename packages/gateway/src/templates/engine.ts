import { Liquid } from 'liquidjs';
import { BUILTIN_TEMPLATES } from './builtin.js';

/** A template that cannot be rendered: its name, the line, and why. */
export class TemplateError extends Error {
  override name = 'TemplateError';
}

/** A template of the configuration (`templates:`), its text already read. */
export interface UserTemplate {
  name: string;
  text: string;
}

/** What LiquidJS says went wrong: where (the template it was in, the line) and why, without its own position suffix. */
function describeLiquidError(err: unknown): { file?: string; line?: number; why: string } {
  const e = err as { message?: string; token?: { file?: string; getPosition?: () => [number, number] } };
  const why = (e.message ?? String(err))
    .split('\n')[0]!
    .replace(/,( file:[^,]*,)? line:\d+, col:\d+$/, '')
    .replace(/^ENOENT: Failed to lookup ("[^"]*") in "[^"]*"$/, 'no template named $1');
  const line = e.token?.getPosition?.()[0];
  return { ...(e.token?.file ? { file: e.token.file } : {}), ...(line ? { line } : {}), why };
}

/**
 * Templates: LiquidJS, sandboxed. Only a value's own properties are reachable (no prototypes, no constructors), and
 * templates come from memory only (no file system: `include` and `render` see the named templates and nothing
 * else). Parse size, render time and memory are bounded, so a template cannot stall or exhaust the gateway.
 * The configuration's templates sit beside the built-in ones under their own names (the configuration refuses a
 * name that is a built-in one, so `alertmanager` always means the built-in template).
 */
export class Templates {
  private readonly liquid: Liquid;
  private readonly names: ReadonlySet<string>;

  constructor(user: readonly UserTemplate[] = []) {
    const all: Record<string, string> = { ...BUILTIN_TEMPLATES };
    for (const t of user) all[t.name] = t.text;
    this.names = new Set(Object.keys(all));
    this.liquid = new Liquid({
      ownPropertyOnly: true,
      templates: all,
      // The texts never change while the process runs: each is parsed once.
      cache: true,
      strictFilters: true,
      parseLimit: 100_000,
      renderLimit: 1_000,
      memoryLimit: 10_000_000,
      greedy: false,
    });
    // A link target from the payload (generatorURL, externalURL): http(s) only, and safe inside markdown's (…).
    // Anything else renders as nothing, so a strange URL drops its link rather than the whole alert.
    this.liquid.registerFilter('http_url', (v: unknown) =>
      typeof v === 'string' && /^https?:\/\/[^\s]+$/i.test(v) ? v.replace(/\(/g, '%28').replace(/\)/g, '%29') : '',
    );
  }

  /** Whether a template of this name exists (built-in or configured). */
  has(name: string): boolean {
    return this.names.has(name);
  }

  /** Why a template text does not parse (`line 3: undefined filter: nosuchfilter`), or undefined when it does. */
  parseProblem(text: string): string | undefined {
    try {
      this.liquid.parse(text);
      return undefined;
    } catch (err) {
      const { line, why } = describeLiquidError(err);
      return `${line ? `line ${line}: ` : ''}${why}`;
    }
  }

  /** Renders the named template with `data`; a TemplateError names the template (the included one too) and its line. */
  async render(name: string, data: object): Promise<string> {
    try {
      return (await this.liquid.renderFile(name, data)) as string;
    } catch (err) {
      const { file, line, why } = describeLiquidError(err);
      const where = file && file !== name ? `template "${name}" (in "${file}")` : `template "${name}"`;
      throw new TemplateError(`${where}${line ? ` line ${line}` : ''}: ${why}`);
    }
  }
}
