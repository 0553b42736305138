import { LIMITS, markdownProblem, markdownTargets, urlProblem } from '@dingpush/dingtalk';
import { TemplateError, type Templates } from '../templates/engine.js';
import { invalid } from './errors.js';

/** What every template renders into: one DingTalk markdown message. */
export interface MarkdownMessage {
  type: 'markdown';
  title: string;
  text: string;
}

/** "@13800000001 @zhangsan": DingTalk notifies only the people a robot message's text names. */
export function mentionText(mentions: { mobiles?: readonly string[]; userIds?: readonly string[] } | undefined): string {
  return [...(mentions?.mobiles ?? []), ...(mentions?.userIds ?? [])].map((m) => `@${m}`).join(' ');
}

/**
 * Links from the payload that break the message URL rule (a relative runbook link, `javascript:`) keep their text
 * and lose their target: one odd link in the data must not get the whole message refused (Alertmanager drops a 4xx).
 */
function withoutBadLinks(text: string): string {
  const bad = new Set(markdownTargets(text).filter((t) => urlProblem(t) !== undefined));
  let out = text.replace(/(!?)\[([^\]]*)\]\(\s*<?([^)\s>]*)>?(?:\s+"[^"]*")?\s*\)/g, (all, _bang: string, label: string, target: string) => (bad.has(target) ? label : all));
  out = out.replace(/<([a-z][a-z0-9+.-]*:[^>\s]*)>/gi, (all, target: string) => (urlProblem(target) !== undefined ? target : all));
  // Whatever the patterns above missed (a reference definition, an unusual spelling): defused by breaking the syntax.
  return markdownProblem(out) === undefined ? out : out.replace(/\]\(/g, '] (').replace(/\]:/g, '] :');
}

/** Cut at a line under DingTalk's markdown limit with a note (and the mentions after it, so they still notify). */
function cutToLimit(text: string, mentions: string): string {
  if (text.length <= LIMITS.markdownText) return text;
  const note = `\n\n…(cut at ${LIMITS.markdownText} characters)${mentions ? `\n${mentions}` : ''}`;
  const room = LIMITS.markdownText - note.length;
  const cut = text.lastIndexOf('\n', room);
  return `${text.slice(0, cut > 0 ? cut : room)}${note}`;
}

/**
 * The one convention of every template, wherever it is rendered (alerts, push, the API, the preview, PrometheusAlert):
 * the first rendered line is the title (a leading markdown heading mark dropped, cut to DingTalk's title limit), the
 * rest is the markdown text. The data gets `mentionText` (the mentions as "@…", for the template to place); a mention
 * the text does not name is added at its end. Links that break the URL rule lose their target, and a text over
 * DingTalk's limit is cut with a note rather than refused. A missing template, a template error (naming the template
 * and line) and an empty rendering are 400s at `template`.
 */
export async function renderTemplate(templates: Templates, name: string, data: object, mentions = ''): Promise<MarkdownMessage> {
  if (!templates.has(name)) throw invalid('template', `no template named "${name}"`);
  let rendered: string;
  try {
    rendered = await templates.render(name, { ...data, mentionText: mentions });
  } catch (err) {
    throw err instanceof TemplateError ? invalid('template', err.message) : err;
  }
  const [first, ...rest] = rendered.trim().split('\n');
  const title = [...(first ?? '').replace(/^#+\s*/, '').trim()].slice(0, LIMITS.title).join('');
  if (title === '') throw invalid('template', `template "${name}" rendered nothing (its first line is the title)`);
  let text = withoutBadLinks(rest.join('\n').trim()) || title;
  const unnamed = mentions.split(' ').filter((m) => m !== '' && !text.includes(m));
  if (unnamed.length > 0) text = `${text}\n\n${unnamed.join(' ')}`;
  return { type: 'markdown', title, text: cutToLimit(text, mentions) };
}
