import type { Templates } from '../templates/engine.js';
import { invalid } from './errors.js';
import { firstIssue, templatedRequestSchema } from './request.js';
import { mentionText, renderTemplate } from './templated.js';

const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * A request that names a template (`template` and `data` in place of `message`) as the ordinary request it stands for:
 * the template renders the data into the markdown message, so that validating, planning and accepting see a message
 * as always. The request's mentions are the data's `mentionText` when it goes to robots. Any other body is returned as
 * it is, for the request schema to judge; one with neither message nor template is refused here, naming both.
 */
export async function expandTemplate(templates: Templates, body: unknown): Promise<unknown> {
  if (!isObj(body)) return body;
  const templated = 'template' in body || 'data' in body;
  if (templated && 'message' in body) throw invalid('template', 'give either message or template (with data), not both');
  if (!templated) {
    if (!('message' in body)) throw invalid('message', 'give a message, or a template with its data');
    return body;
  }
  const parsed = templatedRequestSchema.safeParse(body);
  if (!parsed.success) {
    const { path, message } = firstIssue(parsed.error, body);
    throw invalid(path, message);
  }
  const { template: _template, data: _data, ...request } = body;
  const { template, data, to, mentions } = parsed.data;
  const message = await renderTemplate(templates, template, data, to.robots.length ? mentionText(mentions) : '');
  return { ...request, message };
}
