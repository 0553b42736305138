import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseOrg, type RunningEmulator, startEmulator } from '@dingpush/emulator';
import { type Browser, chromium, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig, type RunningGateway, startGateway } from '../src/server.js';
import { gatewayConfig, org } from './helpers.js';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

/** Markdown a sender may store: raw HTML, handlers hidden in link and image titles, entities. */
const STORED = [
  '# Title <script>window.__xss = "script"</script>',
  '<img src="https://ok.example/x.png" onerror="window.__xss = \'img\'">',
  '<a href="https://ok.example/" onclick="window.__xss=\'raw-a\'">raw link</a>',
  '[titled](https://ok.example/a "t\\" onmouseover=\\"window.__xss=\'title\'")',
  '![pic](https://ok.example/p.png "x\\" onerror=\\"window.__xss=\'img-title\'")',
  '&lt;b&gt;entity&lt;/b&gt; &#60;img src=x onerror=window.__xss=1&#62;',
  '<svg onload="window.__xss=\'svg\'"></svg>',
].join('\n\n');

/** What only the Compose preview can be given (the API refuses these URLs): mixed-case and spaced schemes, data:. */
const TYPED = [
  '<a href="javascript:window.__xss=\'raw-a\'">raw link</a> <img src=x onerror="window.__xss=\'img\'">',
  '[a](JaVaScRiPt:window.__xss=\'mixed\')',
  '[b]( javascript:window.__xss=\'spaced\')',
  '[c](java&#x09;script:window.__xss=\'entity\')',
  '![d](data:image/svg+xml,<svg onload=alert(1)>)',
  '<javascript:window.__xss=\'autolink\'>',
  '[e][ref]\n\n[ref]: vbscript:msgbox',
].join('\n\n');

/** Nothing a sender writes runs in the dashboard: stored notifications (detail page, list) and the Compose preview. */
describe.skipIf(!existsSync(CHROMIUM) && !process.env.CI)('dashboard page: hostile content', () => {
  let emu: RunningEmulator;
  let gw: RunningGateway;
  let browser: Browser;

  beforeAll(async () => {
    emu = await startEmulator({ org: parseOrg(org({ deliveryMs: 20 })), port: 0 });
    const input = gatewayConfig(emu.url, mkdtempSync(join(tmpdir(), 'dingpush-xss-')), { delivery: { pollMs: 20 } });
    input.apiKeys = [];
    gw = await startGateway(parseConfig(input), { sandbox: true });
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run'] });
  });
  afterAll(async () => {
    await browser?.close();
    await gw?.close();
    await emu?.close();
  });

  const open = async (hash: string) => {
    const page = await (await browser.newContext()).newPage();
    const dialogs: string[] = [];
    page.on('dialog', (d) => {
      dialogs.push(d.message());
      void d.dismiss();
    });
    const paths: string[] = [];
    page.on('request', (r) => paths.push(new URL(r.url()).pathname + new URL(r.url()).search));
    await page.goto(`${gw.url}/${hash}`);
    return { page, dialogs, paths };
  };
  /** Nothing ran, and every link and image the message drew is http(s) or dingtalk:, with no handler attribute. */
  const harmless = async (page: Page, scope: string) => {
    // Hover and click what was drawn: a handler hidden in a title would fire now.
    for (const a of await page.locator(`${scope} a, ${scope} img`).all()) await a.hover({ timeout: 1000 }).catch(() => {});
    const found = await page.evaluate((s) => {
      const els = [...document.querySelectorAll(`${s} *`)];
      return {
        xss: (window as any).__xss ?? null,
        handlers: els.flatMap((e) => [...e.attributes].filter((a) => /^on/i.test(a.name)).map((a) => `${e.tagName} ${a.name}`)),
        tags: els.map((e) => e.tagName.toLowerCase()).filter((t) => ['script', 'svg', 'iframe', 'object', 'embed'].includes(t)),
        urls: els.flatMap((e) => ['href', 'src'].map((n) => e.getAttribute(n)).filter((v): v is string => v !== null)),
      };
    }, scope);
    expect(found.xss).toBeNull();
    expect(found.handlers).toEqual([]);
    expect(found.tags).toEqual([]);
    for (const u of found.urls) expect(u).toMatch(/^(https?:|dingtalk:)/);
    return found;
  };

  it('a stored markdown with raw HTML and handlers in titles draws as text on the detail page and the list', async () => {
    const res = await fetch(`${gw.url}/v1/notifications`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ to: { robots: ['ops'] }, message: { type: 'markdown', title: '<img src=x onerror="window.__xss=\'list\'">', text: STORED } }),
    });
    expect(res.status, await res.clone().text()).toBe(202);
    const { id } = (await res.json()) as { id: string };
    const { page, dialogs } = await open(`#/n/${id}`);
    await page.locator('.md').first().waitFor();
    const found = await harmless(page, '.bubble');
    expect(found.urls).toContain('https://ok.example/a');
    await expect.poll(() => page.locator('.bubble').textContent()).toContain('<img src=x onerror=');
    const list = await open('#/notifications');
    await list.page.locator('[data-testid=row]').first().waitFor();
    await harmless(list.page, 'main');
    expect([...dialogs, ...list.dialogs]).toEqual([]);
  });

  it('the Compose preview keeps no javascript:, vbscript: or data: link, whatever its case or spacing', async () => {
    const { page, dialogs } = await open('#/compose');
    await page.locator('textarea[name=text]').fill(TYPED);
    await page.locator('[data-testid=preview] .md').waitFor();
    const found = await harmless(page, '[data-testid=preview]');
    expect(found.urls).toEqual([]);
    expect(dialogs).toEqual([]);
  });

  it('a notification id in the address stays inside /v1/notifications/ when the page calls the API', async () => {
    const { page, paths } = await open(`#/n/${encodeURIComponent('../../stats?window=day&')}`);
    await page.locator('main section.card').first().waitFor();
    await page.waitForTimeout(500);
    const api = paths.filter((p) => p !== '/' && !p.startsWith('/ui/') && p !== '/v1/me');
    expect(api.length, paths.join(' ')).toBeGreaterThan(0);
    for (const p of api) expect(p).toMatch(/^\/v1\/notifications\/[^/]*%2F/);
  });
});
