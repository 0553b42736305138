// The dashboard: one page, talking only to the gateway's public HTTP API. Routes live in the URL's hash.
import htm from '/ui/vendor/htm.mjs';
import uPlot from '/ui/vendor/uplot.mjs';
import { h, render } from 'preact';
import { useCallback, useEffect, useRef, useState } from 'preact/hooks';
import { DICT, initialLang } from './i18n.js';
import { MessageView } from './render.js';

const html = htm.bind(h);
const KEY = 'dingpush.key';
const POLL_MS = 2000;

/** A call to the API with the key the user gave (kept in sessionStorage only); rejects with the API's error. */
async function api(path, init = {}) {
  const key = sessionStorage.getItem(KEY);
  const headers = { ...(init.body ? { 'content-type': 'application/json' } : {}), ...(key ? { authorization: `Bearer ${key}` } : {}) };
  const res = await fetch(path, { ...init, headers });
  const body = await res.json().catch(() => ({}));
  if (!res.ok) throw Object.assign(new Error(body.error?.message ?? `HTTP ${res.status}`), { status: res.status, body });
  return body;
}

/** Runs `load` now and every `ms` while the page shows it; answers its latest result and error. */
function usePoll(load, ms, deps) {
  const [state, setState] = useState({ data: null, error: null });
  useEffect(() => {
    let live = true;
    const run = () =>
      load().then(
        (data) => live && setState({ data, error: null }),
        (error) => live && setState((s) => ({ data: s.data, error })),
      );
    run();
    const timer = setInterval(run, ms);
    return () => {
      live = false;
      clearInterval(timer);
    };
  }, deps);
  return state;
}

const when = (iso) => (iso ? new Date(iso).toLocaleString() : '—');
const age = (ms) => (ms ? `${Math.round(ms / 1000)} s` : '—');
const Status = ({ s, t }) => html`<span class=${`status ${s}`} data-status=${s}>${t[s] ?? s}</span>`;

function Chart({ stats, t }) {
  const box = useRef(null);
  useEffect(() => {
    if (!stats || !box.current) return;
    const xs = stats.buckets.map((b) => Date.parse(b.at) / 1000);
    const fields = ['accepted', 'sent', 'read', 'failed'];
    const colors = ['#0089ff', '#00b96b', '#7b61ff', '#f54a45'];
    const plot = new uPlot(
      { width: box.current.clientWidth || 500, height: 200, series: [{}, ...fields.map((f, i) => ({ label: t[f], stroke: colors[i], width: 2 }))], axes: [{}, {}] },
      [xs, ...fields.map((f) => stats.buckets.map((b) => b[f]))],
      box.current,
    );
    return () => plot.destroy();
  }, [stats, t]);
  return html`<div ref=${box} data-testid="chart"></div>`;
}

function Overview({ t }) {
  const hour = usePoll(() => api('/v1/stats?window=hour'), 10_000, []);
  const day = usePoll(() => api('/v1/stats?window=day'), 30_000, []);
  const dest = usePoll(() => api('/v1/destinations'), POLL_MS, []);
  const rows = dest.data ? [...dest.data.robots.map((r) => ({ ...r, kind: 'robot', depth: r.queue.depth, age: r.queue.oldestAgeMs, use: r.quota })), ...dest.data.apps.map((a) => ({ ...a, kind: 'app', depth: Object.values(a.channels).reduce((s, q) => s + q.depth, 0), age: Math.max(...Object.values(a.channels).map((q) => q.oldestAgeMs)), use: a.quota.recipients }))] : [];
  const errors = rows.filter((r) => r.lastError).sort((a, b) => (a.lastError.at < b.lastError.at ? 1 : -1));
  const lang = t === DICT.zh ? 'zh' : 'en';
  return html`<div>
    <div class="charts">
      <section class="card"><h2>${t.lastHour}</h2><${Chart} stats=${hour.data} t=${t} /><div class="muted">${hour.data ? ['accepted', 'sent', 'read', 'failed'].map((f) => `${t[f]} ${hour.data.totals[f]}`).join(' · ') : ''}</div></section>
      <section class="card"><h2>${t.lastDay}</h2><${Chart} stats=${day.data} t=${t} /><div class="muted">${day.data ? ['accepted', 'sent', 'read', 'failed'].map((f) => `${t[f]} ${day.data.totals[f]}`).join(' · ') : ''}</div></section>
    </div>
    <section class="card"><h2>${t.destinations}</h2>
      ${dest.error ? html`<div class="err">${dest.error.message}</div>` : null}
      <table><thead><tr><th>${t.destination}</th><th>${t.queue}</th><th>${t.oldest}</th><th>${t.quota}</th><th>${t.blockedUntil}</th><th>${t.lastSuccess}</th><th>${t.lastError}</th></tr></thead>
      <tbody>${rows.map((r) => html`<tr data-testid="destination" data-name=${r.name}><td>${r.kind === 'robot' ? '🤖' : '📱'} ${r.name}</td><td>${r.depth}</td><td>${age(r.age)}</td><td>${r.use.used} / ${r.use.limit}</td><td>${when(r.blockedUntil)}</td><td>${when(r.lastSuccessAt)}</td><td class="err" data-testid="last-error">${r.lastError ? `${r.lastError.code} ${r.lastError.meaning}` : ''}</td></tr>`)}</tbody></table>
    </section>
    <section class="card"><h2>${t.latestErrors}</h2>
      ${errors.length === 0 ? html`<div class="muted">${t.none}</div>` : html`<table><thead><tr><th>${t.code}</th><th>${t.destination}</th><th>${t.meaning}</th><th>${t.whatToDo}</th><th></th></tr></thead><tbody>
        ${errors.map((r) => html`<tr data-testid="error-row"><td>${r.lastError.code}</td><td>${r.name}</td><td>${r.lastError.meaning}<div class="muted">${r.lastError.message}</div></td><td>${r.lastError.whatToDo[lang]}</td><td>${when(r.lastError.at)}</td></tr>`)}</tbody></table>`}
    </section>
  </div>`;
}

function Notifications({ t }) {
  const [filters, setFilters] = useState({});
  const [draft, setDraft] = useState({});
  const [older, setOlder] = useState({ items: [], cursor: null });
  const qs = (extra = {}) => new URLSearchParams(Object.entries({ ...filters, ...extra }).filter(([, v]) => v)).toString();
  const first = usePoll(() => api(`/v1/notifications?${qs({ limit: 50 })}`), POLL_MS, [JSON.stringify(filters)]);
  useEffect(() => setOlder({ items: [], cursor: null }), [JSON.stringify(filters)]);
  const cursor = older.cursor ?? first.data?.nextCursor;
  const more = async () => {
    const page = await api(`/v1/notifications?${qs({ limit: 50, cursor })}`);
    setOlder((o) => ({ items: [...o.items, ...page.items], cursor: page.nextCursor ?? '' }));
  };
  const items = [...(first.data?.items ?? []), ...older.items];
  const set = (k) => (e) => setDraft({ ...draft, [k]: e.target.value });
  const toIso = (v) => (v ? new Date(v).toISOString() : '');
  return html`<section class="card"><h2>${t.notifications}</h2>
    <form class="filters" onSubmit=${(e) => {
      e.preventDefault();
      setFilters({ ...draft, since: toIso(draft.since), until: toIso(draft.until) });
    }}>
      <input name="q" placeholder=${t.search} value=${draft.q ?? ''} onInput=${set('q')} />
      <select name="status" onChange=${set('status')}><option value="">${t.status}: ${t.all}</option>${['queued', 'sending', 'sent', 'delivered', 'partial', 'failed', 'recalled'].map((s) => html`<option value=${s}>${t[s] ?? s}</option>`)}</select>
      <select name="channel" onChange=${set('channel')}><option value="">${t.channel}: ${t.all}</option>${['work_notice', 'robot', 'chat', 'robot_oto', 'robot_group'].map((s) => html`<option value=${s}>${s}</option>`)}</select>
      <input name="destination" placeholder=${t.destination} onInput=${set('destination')} />
      <input name="target" placeholder=${t.target} onInput=${set('target')} />
      <input name="key" placeholder=${t.key} onInput=${set('key')} />
      <input name="since" type="datetime-local" title=${t.since} onInput=${set('since')} />
      <input name="until" type="datetime-local" title=${t.until} onInput=${set('until')} />
      <button class="primary" type="submit">${t.apply}</button>
    </form>
    ${first.error ? html`<div class="err">${first.error.message}</div>` : null}
    <table><thead><tr><th>${t.created}</th><th>${t.title}</th><th>${t.status}</th><th>${t.counts}</th><th>${t.destination}</th><th>${t.key}</th></tr></thead>
    <tbody>${items.map((n) => html`<tr class="row" data-testid="row" data-id=${n.id} data-status=${n.status} onClick=${() => (location.hash = `#/n/${n.id}`)}>
      <td>${when(n.createdAt)}</td><td>${n.title}${n.resendOf ? html` <span class="muted">↻</span>` : null}</td><td><${Status} s=${n.status} t=${t} /></td>
      <td data-testid="counts">${Object.entries(n.counts).map(([s, c]) => html`<${Status} s=${s} t=${t} /> ${c} `)}</td><td>${n.destinations.join(', ')}</td><td>${n.key}</td></tr>`)}</tbody></table>
    ${cursor ? html`<button onClick=${more}>${t.more}</button>` : null}
  </section>`;
}

function Detail({ id, t, me }) {
  const [note, setNote] = useState(null);
  // The id comes from the address, which anyone can link to: encoded, so "../" cannot point a call (with the key, or
  // the Recall button's POST) at another endpoint.
  const path = `/v1/notifications/${encodeURIComponent(id)}`;
  const n = usePoll(() => api(path), POLL_MS, [id]);
  const tl = usePoll(() => api(`${path}/timeline`), POLL_MS, [id]);
  const act = (what) => async () => {
    try {
      const r = await api(`${path}/${what}`, { method: 'POST', body: '{}' });
      setNote(what === 'resend' ? html`<a href=${`#/n/${r.id}`}>${r.id}</a>` : `${t.recalled}: ${r.recalled}`);
    } catch (e) {
      setNote(html`<span class="err">${e.message}</span>`);
    }
  };
  if (n.error) return html`<section class="card err">${n.error.message}</section>`;
  if (!n.data || !tl.data) return html`<section class="card muted">…</section>`;
  const failed = (n.data.counts.failed ?? 0) + (n.data.counts.throttled ?? 0);
  return html`<div>
    <section class="card"><h2>${n.data.title} <${Status} s=${n.data.status} t=${t} /></h2>
      <div class="muted">${n.data.id} · ${when(n.data.createdAt)} · ${t.key}: ${tl.data.key}${n.data.resendOf ? html` · ${t.resendOf} <a href=${`#/n/${n.data.resendOf}`}>${n.data.resendOf}</a>` : null}</div>
      <p>
        ${me.may.recall && n.data.status !== 'recalled' ? html`<button class="danger" data-testid="recall" onClick=${act('recall')}>${t.recall}</button> ` : null}
        ${me.may.resend && failed > 0 ? html`<button data-testid="resend" onClick=${act('resend')}>${t.resendFailed} (${failed})</button>` : null}
        ${note ? html` <span data-testid="note">${note}</span>` : null}
      </p>
    </section>
    <div class="cols">
      <section class="card"><h2>${t.message}</h2><${MessageView} message=${tl.data.request.message} /></section>
      <section class="card"><h2>${t.recipients}</h2>
        <table><tbody>${tl.data.recipients.map((r) => html`<tr data-testid="recipient"><td>${r.channel}<div class="muted">${r.destination}</div></td>
          <td>${r.recipient}${r.userid ? html`<div class="muted">${r.userid}</div>` : null}</td><td><${Status} s=${r.status} t=${t} />${r.reason ? html`<div class="muted">${r.reason}</div>` : null}</td>
          <td>${r.taskId ? html`<div class="muted">task ${r.taskId}</div>` : null}${r.unreadAt ? html`<div>${t.unreadAt} ${when(r.unreadAt)}</div>` : null}${r.readAt ? html`<div>${t.readAt} ${when(r.readAt)}</div>` : null}
            <ul class="timeline">${r.moves.map((m) => html`<li>${when(m.at)} → ${t[m.status] ?? m.status}${m.reason ? ` (${m.reason})` : ''}</li>`)}
            ${r.calls.map((c) => html`<li data-testid="call">${when(c.at)} ☎ ${c.outcome}${c.code ? ` · ${c.code} ${c.meaning ?? ''}` : ''}${c.message ? ` · ${c.message}` : ''} · ${c.durationMs} ms</li>`)}</ul></td></tr>`)}</tbody></table>
      </section>
    </div>
  </div>`;
}

const list = (s) => String(s ?? '').split(/[,\s]+/).filter(Boolean);
function messageOf(f) {
  if (f.type === 'text') return { type: 'text', content: f.text };
  if (f.type === 'markdown') return { type: 'markdown', title: f.title, text: f.text };
  if (f.type === 'link') return { type: 'link', title: f.title, text: f.text, messageUrl: f.url };
  const buttons = String(f.buttons ?? '').split('\n').map((l) => l.split('|')).filter((p) => p.length === 2).map(([title, url]) => ({ title: title.trim(), url: url.trim() }));
  return { type: 'action_card', title: f.title, markdown: f.text, ...(buttons.length ? { buttons } : { singleTitle: f.title, singleUrl: f.url }) };
}

function Compose({ t, me }) {
  const [f, setF] = useState({ type: 'markdown', title: '', text: '', url: '', buttons: '', userIds: '', mobiles: '', deptIds: '', robots: '', chats: '', template: '', data: '{}' });
  const [result, setResult] = useState(null);
  const [rendered, setRendered] = useState(null);
  const set = (k) => (e) => setF({ ...f, [k]: e.target.value });
  const to = { userIds: list(f.userIds), mobiles: list(f.mobiles), deptIds: list(f.deptIds).map(Number), robots: list(f.robots), chats: list(f.chats) };
  const send = async (e) => {
    e.preventDefault();
    try {
      const body = f.template ? { to, template: f.template, data: JSON.parse(f.data || '{}') } : { to, message: messageOf(f) };
      const r = await api('/v1/notifications', { method: 'POST', body: JSON.stringify(body) });
      setResult(html`<span data-testid="sent">${t.sentOk}: <a href=${`#/n/${r.id}`}>${r.id}</a></span>`);
    } catch (err) {
      setResult(html`<span class="err" data-testid="send-error">${err.body?.error?.path ? `${err.body.error.path}: ` : ''}${err.message}</span>`);
    }
  };
  const preview = async () => {
    try {
      setRendered((await api(`/v1/templates/${encodeURIComponent(f.template)}/render`, { method: 'POST', body: f.data || '{}' })).message);
    } catch (err) {
      setRendered({ type: 'text', content: err.message });
    }
  };
  const field = (k, label, tag = 'input') => html`<label>${label}</label>${tag === 'textarea' ? html`<textarea name=${k} rows="5" value=${f[k]} onInput=${set(k)}></textarea>` : html`<input name=${k} value=${f[k]} onInput=${set(k)} />`}`;
  return html`<div class="cols">
    <section class="card form"><h2>${t.compose}</h2><form onSubmit=${send}>
      ${field('robots', t.robotsTo)}${field('userIds', t.userIds)}${field('mobiles', t.mobiles)}${field('deptIds', t.deptIds)}${field('chats', t.chats)}
      <label>${t.type}</label><select name="type" value=${f.type} onChange=${set('type')}>${['text', 'markdown', 'link', 'action_card'].map((x) => html`<option value=${x}>${x}</option>`)}</select>
      ${f.type !== 'text' ? field('title', t.title) : null}${field('text', t.text, 'textarea')}
      ${f.type === 'link' || f.type === 'action_card' ? field('url', t.url) : null}${f.type === 'action_card' ? field('buttons', t.buttons, 'textarea') : null}
      ${field('template', t.template)}${f.template ? html`${field('data', t.data, 'textarea')}<button type="button" onClick=${preview}>${t.renderTemplate}</button>` : null}
      <p><button class="primary" type="submit" data-testid="send" disabled=${!me.may.send}>${t.send}</button> ${result}</p>
    </form></section>
    <section class="card"><h2>${t.preview}</h2><div data-testid="preview"><${MessageView} message=${f.template ? rendered : messageOf(f)} /></div></section>
  </div>`;
}

function Destinations({ t }) {
  const dest = usePoll(() => api('/v1/destinations'), POLL_MS, []);
  const keys = usePoll(() => api('/v1/keys'), 30_000, []);
  return html`<div>
    <section class="card"><h2>${t.robots}</h2><table><thead><tr><th>${t.name}</th><th>${t.queue}</th><th>${t.quota}</th><th>${t.blockedUntil}</th><th>${t.lastSuccess}</th><th>${t.lastError}</th></tr></thead>
      <tbody>${(dest.data?.robots ?? []).map((r) => html`<tr><td>${r.name}</td><td>${r.queue.depth}</td><td>${r.quota.used} / ${r.quota.limit}</td><td>${when(r.blockedUntil)}</td><td>${when(r.lastSuccessAt)}</td><td class="err">${r.lastError ? `${r.lastError.code} ${r.lastError.meaning}` : ''}</td></tr>`)}</tbody></table></section>
    <section class="card"><h2>${t.apps}</h2><table><thead><tr><th>${t.name}</th><th>${t.queue}</th><th>${t.quota}</th><th>${t.blockedUntil}</th><th>${t.lastSuccess}</th><th>${t.lastError}</th><th>${t.nearCap}</th></tr></thead>
      <tbody>${(dest.data?.apps ?? []).map((a) => html`<tr><td>${a.name}</td><td>${Object.entries(a.channels).map(([c, q]) => html`<div>${c}: ${q.depth}</div>`)}</td>
        <td>${a.quota.calls.map((c) => html`<div>${c.api}: ${c.used} / ${c.limit}</div>`)}<div>recipients: ${a.quota.recipients.used} / ${a.quota.recipients.limit}</div></td>
        <td>${when(a.blockedUntil)}</td><td>${when(a.lastSuccessAt)}</td><td class="err">${a.lastError ? `${a.lastError.code} ${a.lastError.meaning}` : ''}</td><td>${a.nearDailyCap.map((u) => `${u.userid} ${u.sent}/${u.cap}`).join(', ') || t.none}</td></tr>`)}</tbody></table></section>
    <section class="card"><h2>${t.keys}</h2><table><thead><tr><th>${t.name}</th><th>${t.scope}</th><th>${t.apps}</th><th>${t.robots}</th><th>${t.target}</th></tr></thead>
      <tbody>${(keys.data?.items ?? []).map((k) => html`<tr data-testid="key"><td>${k.name}</td><td>${k.scope}</td><td>${(k.apps ?? [t.all]).join(', ')}</td><td>${(k.robots ?? [t.all]).join(', ')}</td><td>${(k.targets ?? [t.all]).join(', ')}</td></tr>`)}</tbody></table></section>
  </div>`;
}

function KeyPrompt({ t, onKey, error }) {
  const [key, setKey] = useState('');
  return html`<section class="card keybox"><h2>${t.enterKey}</h2><p class="muted">${t.keyHelp}</p>
    <form onSubmit=${(e) => {
      e.preventDefault();
      onKey(key);
    }}><input name="key" type="password" autocomplete="off" value=${key} onInput=${(e) => setKey(e.target.value)} style="width:100%" /> <p><button class="primary" type="submit">${t.signIn}</button> ${error ? html`<span class="err">${error}</span>` : null}</p></form></section>`;
}

const useHash = () => {
  const [hash, setHash] = useState(location.hash || '#/');
  useEffect(() => {
    const on = () => setHash(location.hash || '#/');
    addEventListener('hashchange', on);
    return () => removeEventListener('hashchange', on);
  }, []);
  return hash;
};

function App() {
  const [lang, setLang] = useState(initialLang());
  const [me, setMe] = useState(null);
  const [needKey, setNeedKey] = useState(false);
  const [error, setError] = useState(null);
  const hash = useHash();
  const t = DICT[lang];
  const who = useCallback(async () => {
    try {
      setMe(await api('/v1/me'));
      setNeedKey(false);
    } catch (e) {
      if (e.status === 401 || e.status === 403) {
        sessionStorage.removeItem(KEY);
        setNeedKey(true);
        setError(sessionStorage.getItem('dingpush.tried') ? e.message : null);
      } else setError(e.message);
    }
  }, []);
  useEffect(() => {
    who();
  }, []);
  useEffect(() => {
    document.documentElement.lang = lang === 'zh' ? 'zh-CN' : 'en';
    sessionStorage.setItem('dingpush.lang', lang);
  }, [lang]);
  const pages = [
    ['#/', t.overview],
    ['#/notifications', t.notifications],
    ['#/compose', t.compose],
    ['#/destinations', t.destinations],
  ];
  let page = null;
  if (me) {
    const detail = /^#\/n\/(.+)$/.exec(hash);
    if (detail) page = html`<${Detail} id=${decodeURIComponent(detail[1])} t=${t} me=${me} />`;
    else if (hash === '#/notifications') page = html`<${Notifications} t=${t} />`;
    else if (hash === '#/compose') page = html`<${Compose} t=${t} me=${me} />`;
    else if (hash === '#/destinations') page = html`<${Destinations} t=${t} />`;
    else page = html`<${Overview} t=${t} />`;
  }
  return html`<div>
    <header class="top"><h1>dingpush</h1>
      <nav>${pages.map(([href, label]) => html`<a href=${href} class=${hash === href || (href === '#/notifications' && hash.startsWith('#/n/')) ? 'active' : ''}>${label}</a>`)}</nav>
      <div class="right">
        ${me ? html`<span data-testid="who">${me.sandbox ? t.sandbox : me.name}${me.scope === 'read' ? ` (${t.readOnly})` : ''}</span>` : null}
        ${me && !me.sandbox ? html`<button onClick=${() => {
          sessionStorage.removeItem(KEY);
          setMe(null);
          setNeedKey(true);
        }}>${t.signOut}</button>` : null}
        <select data-testid="lang" value=${lang} onChange=${(e) => setLang(e.target.value)}><option value="en">English</option><option value="zh">中文</option></select>
      </div>
    </header>
    <main>${needKey ? html`<${KeyPrompt} t=${t} error=${error} onKey=${(k) => {
      sessionStorage.setItem(KEY, k);
      sessionStorage.setItem('dingpush.tried', '1');
      who();
    }} />` : page}${!needKey && error ? html`<div class="err">${error}</div>` : null}</main>
  </div>`;
}

render(html`<${App} />`, document.getElementById('app'));
