import { Liquid } from 'liquidjs';
import { BUILTIN_TEMPLATES } from './builtin.js';

/** A template that cannot be rendered: its name, the line, and why. */
export class TemplateError extends Error {
  override name = 'TemplateError';
}

/**
 * Templates: LiquidJS, sandboxed. Only a value's own properties are reachable (no prototypes, no constructors), and
 * templates come from memory only (no file system: `include` and `render` see the named templates and nothing
 * else). Parse size, render time and memory are bounded, so a template cannot stall or exhaust the gateway.
 */
export class Templates {
  private readonly liquid: Liquid;

  constructor() {
    this.liquid = new Liquid({
      ownPropertyOnly: true,
      templates: { ...BUILTIN_TEMPLATES },
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

  /** Renders the named template with `data`; a TemplateError names the template and its line. */
  async render(name: string, data: object): Promise<string> {
    try {
      return (await this.liquid.renderFile(name, data)) as string;
    } catch (err) {
      const e = err as { message?: string; token?: { getPosition?: () => [number, number] } };
      const line = e.token?.getPosition?.()[0];
      throw new TemplateError(`template "${name}"${line ? ` line ${line}` : ''}: ${(e.message ?? String(err)).split('\n')[0]}`);
    }
  }
}
