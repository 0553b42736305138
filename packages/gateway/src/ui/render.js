// A message drawn as DingTalk draws it: markdown (through marked, with raw HTML shown as text and only http(s) and
// dingtalk: links), action cards with their buttons, links, OA cards. Nothing the sender wrote runs as HTML.
import htm from '/ui/vendor/htm.mjs';
import { Marked } from '/ui/vendor/marked.mjs';
import { h } from 'preact';

const html = htm.bind(h);
const esc = (s) => String(s).replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]);
const safeUrl = (u) => /^(https?:|dingtalk:)/i.test(String(u ?? '').trim());

const marked = new Marked({
  gfm: true,
  breaks: true,
  renderer: {
    html: (t) => esc(t.text),
    link(t) {
      const text = this.parser.parseInline(t.tokens);
      return safeUrl(t.href) ? `<a href="${esc(t.href)}" target="_blank" rel="noopener noreferrer">${text}</a>` : text;
    },
    image: (t) => (safeUrl(t.href) ? `<img src="${esc(t.href)}" alt="${esc(t.text)}">` : esc(t.text)),
  },
});

export const Markdown = ({ text }) => html`<div class="md" dangerouslySetInnerHTML=${{ __html: marked.parse(String(text ?? '')) }}></div>`;
const A = ({ href, children }) => (safeUrl(href) ? html`<a href=${href} target="_blank" rel="noopener noreferrer">${children}</a>` : html`<span>${children}</span>`);

/** The message of a notification request (gateway types, or { raw }), as one bubble. */
export function MessageView({ message }) {
  const m = message ?? {};
  if (m.raw) return html`<div class="bubble"><pre>${JSON.stringify(m.raw, null, 2)}</pre></div>`;
  switch (m.type) {
    case 'text':
      return html`<div class="bubble"><pre>${m.content}</pre></div>`;
    case 'markdown':
      return html`<div class="bubble"><div class="card-title">${m.title}</div><${Markdown} text=${m.text} /></div>`;
    case 'link':
      return html`<div class="bubble"><div class="card-title"><${A} href=${m.messageUrl}>${m.title}</${A}></div><div>${m.text}</div>${m.picUrl && safeUrl(m.picUrl) ? html`<img src=${m.picUrl} style="max-width:100%" />` : null}</div>`;
    case 'action_card': {
      const buttons = m.buttons ?? (m.singleTitle ? [{ title: m.singleTitle, url: m.singleUrl }] : []);
      return html`<div class="bubble" data-kind="action_card"><div class="card-title">${m.title}</div><${Markdown} text=${m.markdown} />
        <div class=${`btns ${m.buttonOrientation === 'horizontal' ? 'horizontal' : ''}`}>${buttons.map((b) => html`<${A} href=${b.url}>${b.title}</${A}>`)}</div></div>`;
    }
    case 'oa': {
      const color = /^[0-9A-Fa-f]{8}$/.test(m.head?.bgcolor ?? '') ? `#${m.head.bgcolor.slice(2)}` : 'var(--blue)';
      return html`<div class="bubble oa"><div class="head" style=${`background:${color}`}>${m.head?.text}</div><div class="card-title">${m.body?.title}</div>
        ${(m.body?.form ?? []).map((f) => html`<div><span class="muted">${f.key}</span> ${f.value}</div>`)}<div>${m.body?.content}</div></div>`;
    }
    case 'feed_card':
      return html`<div class="bubble">${(m.links ?? []).map((l) => html`<div><${A} href=${l.messageUrl}>${l.title}</${A}></div>`)}</div>`;
    default:
      return html`<div class="bubble"><span class="muted">${m.type ?? '?'}</span> ${m.filename ?? m.media ?? ''}</div>`;
  }
}
