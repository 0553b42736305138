import { BUILTIN_TEMPLATES } from '../templates/builtin.js';
import { Templates } from '../templates/engine.js';

/** The configuration's `templates:` (each with its text) and the targets naming one, as the checks below need them. */
interface TemplateKeys {
  templates: readonly { name: string; text: string; file?: string | undefined }[];
  targets: readonly { template?: string | undefined }[];
}

/** A problem of the configuration, at its key. */
export interface ConfigIssue {
  path: (string | number)[];
  message: string;
}

let parser: Templates | undefined;

/**
 * What the configuration's templates must be: each parses (an error names its line), names are unique and not a
 * built-in's (no overriding: `alertmanager` always means the built-in; a template of one's own gets its own name and
 * a target names it), and every `targets[].template` exists.
 */
export function templateConfigIssues(c: TemplateKeys): ConfigIssue[] {
  const issues: ConfigIssue[] = [];
  const seen = new Set<string>();
  c.templates.forEach((t, i) => {
    if (Object.hasOwn(BUILTIN_TEMPLATES, t.name))
      issues.push({ path: ['templates', i, 'name'], message: `${t.name} is a built-in template; give yours another name` });
    else if (seen.has(t.name)) issues.push({ path: ['templates', i, 'name'], message: `duplicate name ${t.name}` });
    seen.add(t.name);
    parser ??= new Templates();
    const problem = parser.parseProblem(t.text);
    if (problem) issues.push(t.file !== undefined ? { path: ['templates', i, 'file'], message: `${t.file}: ${problem}` } : { path: ['templates', i, 'text'], message: problem });
  });
  c.targets.forEach((t, i) => {
    if (t.template !== undefined && !seen.has(t.template) && !Object.hasOwn(BUILTIN_TEMPLATES, t.template))
      issues.push({ path: ['targets', i, 'template'], message: `no template named ${t.template}` });
  });
  return issues;
}
