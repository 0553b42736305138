import type { ApiKeyConfig } from '../config/schema.js';
import type { Templates } from '../templates/engine.js';
import { refuseDropInKey } from './app-choice.js';
import { invalid } from './errors.js';
import { firstIssue, type NotificationRequest, notificationRequestSchema } from './request.js';
import { expandTemplate } from './template-request.js';

/**
 * The body of POST /v1/notifications as the request it stands for, whichever way it came (HTTP, a queue message):
 * the sender's key may use this endpoint, a template is rendered into its message, and the schema judges the rest.
 * Bad input throws a RequestError naming the field and the rule; nothing has been stored.
 */
export async function notificationRequestOf(templates: Templates, body: unknown, sender: { limits?: ApiKeyConfig | undefined }): Promise<NotificationRequest> {
  refuseDropInKey(sender.limits);
  // A template and its data become the message they render, before anything else looks at the request.
  const expanded = await expandTemplate(templates, body);
  const parsed = notificationRequestSchema.safeParse(expanded);
  if (!parsed.success) {
    const { path, message } = firstIssue(parsed.error, expanded);
    throw invalid(path, message);
  }
  return parsed.data;
}
