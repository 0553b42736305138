import type { FastifyInstance } from 'fastify';
import { invalid, RequestError } from '../notifications/errors.js';
import { firstIssue, templateDataSchema } from '../notifications/request.js';
import { renderTemplate } from '../notifications/templated.js';
import type { Templates } from '../templates/engine.js';
import type { ApiKeys } from './auth.js';
import { schemas } from './openapi.js';

/**
 * `POST /v1/templates/<name>/render` — a preview: the body is the template's data, the answer what a notification with
 * `"template": "<name>", "data": <body>` would send (title, text, and the message itself). Nothing is stored. Needs an
 * API key as the rest of /v1 does (none in sandbox mode); 404 for an unknown template, 400 for a template error (naming
 * the template and line) or data that is not a bounded JSON object.
 */
export async function templatePreviewRoute(app: FastifyInstance, keys: ApiKeys, templates: Templates): Promise<void> {
  app.post(
    '/v1/templates/:name/render',
    {
      onRequest: async (req) => {
        // A preview stores and sends nothing: a read key may use it (the dashboard's compose page).
        keys.authenticate(req.headers.authorization, 'read');
      },
      schema: {
        summary: 'Preview a template: render the body (its data) as the markdown message it makes',
        params: { type: 'object', properties: { name: { type: 'string' } }, required: ['name'] },
        body: schemas.templateData,
        response: { 200: schemas.rendered, 400: schemas.error, 401: schemas.error, 404: schemas.error },
      },
    },
    async (req) => {
      const { name } = req.params as { name: string };
      if (!templates.has(name)) throw new RequestError(404, 'not_found', 'template', `no template named "${name}"`);
      const parsed = templateDataSchema.safeParse(req.body ?? {});
      if (!parsed.success) {
        const { path, message } = firstIssue(parsed.error, req.body);
        throw invalid(path, message);
      }
      const message = await renderTemplate(templates, name, parsed.data);
      return { title: message.title, text: message.text, message };
    },
  );
}
