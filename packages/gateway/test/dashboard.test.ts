import { existsSync, mkdirSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseOrg, type RunningEmulator, startEmulator } from '@dingpush/emulator';
import { type Browser, chromium, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig, type RunningGateway, startGateway } from '../src/server.js';
import { APP, API_KEY, gatewayConfig, org, ROBOT_SECRET, tokens } from './helpers.js';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const ARTIFACTS = new URL('../../../.test-artifacts/dashboard/', import.meta.url);
const READ_KEY = 'viewer-key-0123456789abcdef';

/**
 * The dashboard in headless Chromium against a gateway in sandbox mode (no key needed) with the emulator: every page
 * loads without a console error, Compose sends, the list follows the delivery live, Recall recalls at the emulator, a
 * robot's fault shows on the Overview, zh and en render, and a read key gets no Recall button (and a 403).
 */
describe.skipIf(!existsSync(CHROMIUM) && !process.env.CI)('dashboard page', () => {
  let emu: RunningEmulator;
  let gw: RunningGateway;
  let browser: Browser;
  const consoleErrors: string[] = [];

  beforeAll(async () => {
    mkdirSync(ARTIFACTS, { recursive: true });
    emu = await startEmulator({ org: parseOrg(org({ deliveryMs: 20, readAfterMs: 300, readPercent: 0 })), port: 0 });
    const input = gatewayConfig(emu.url, mkdtempSync(join(tmpdir(), 'dingpush-ui-')), { delivery: { pollMs: 20 } });
    input.apiKeys = [{ name: 'viewer', key: READ_KEY, scope: 'read' }];
    gw = await startGateway(parseConfig(input), { sandbox: true, recallWaitMs: 3_000 });
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-quic', '--no-first-run'],
    });
  });
  afterAll(async () => {
    await browser?.close();
    await gw?.close();
    await emu?.close();
  });

  const open = async (hash: string, opts: { lang?: string; key?: string } = {}): Promise<Page> => {
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 }, locale: opts.lang ?? 'en-US' });
    if (opts.key) await context.addInitScript((k) => sessionStorage.setItem('dingpush.key', k), opts.key);
    const page = await context.newPage();
    page.on('console', (m) => {
      if (m.type() === 'error') consoleErrors.push(`${hash}: ${m.text()}`);
    });
    page.on('pageerror', (e) => consoleErrors.push(`${hash}: ${e.message}`));
    await page.goto(`${gw.url}/${hash}`);
    return page;
  };
  const shot = (page: Page, name: string) => page.screenshot({ path: new URL(`${name}.png`, ARTIFACTS).pathname, fullPage: true });
  const inbox = async (kind: string, id: string) => (await (await fetch(`${emu.url}/_emulator/api/inbox/${kind}/${id}`)).json()).messages as any[];

  it('Compose sends a message that reaches the emulator, and its row turns unread on the list without a reload', async () => {
    const page = await open('#/compose');
    await page.locator('input[name=userIds]').fill('u1');
    await page.locator('input[name=title]').fill('部署完成');
    await page.locator('textarea[name=text]').fill('### 发布 v1.2\n- **服务**: api\n<script>alert(1)</script>');
    // The live preview draws the markdown, and shows raw HTML as text.
    await expect.poll(() => page.locator('[data-testid=preview] .md h3').textContent()).toBe('发布 v1.2');
    expect(await page.locator('[data-testid=preview] .md script').count()).toBe(0);
    await shot(page, 'compose');
    await page.locator('[data-testid=send]').click();
    const link = page.locator('[data-testid=sent] a');
    await link.waitFor();
    const id = (await link.textContent())!;
    await expect.poll(async () => (await inbox('users', 'u1')).length, { timeout: 10_000 }).toBe(1);

    await page.goto(`${gw.url}/#/notifications`);
    const row = page.locator(`[data-testid=row][data-id="${id}"]`);
    await row.waitFor();
    // No reload: the list polls; the recipient's status moves to unread (readPercent 0) once the tracker looks.
    await expect.poll(() => row.locator('[data-testid=counts] [data-status]').first().getAttribute('data-status'), { timeout: 15_000 }).toBe('unread');
    await shot(page, 'notifications');
    await page.close();
  });

  it('Recall on the detail page recalls the message at the emulator', async () => {
    const sent = await fetch(`${gw.url}/v1/notifications`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        to: { userIds: ['u2'] },
        message: { type: 'action_card', title: '审批', markdown: '请审批 **报销单**', buttons: [{ title: '同意', url: 'https://a.example' }, { title: '拒绝', url: 'https://b.example' }], buttonOrientation: 'horizontal' },
      }),
    }).then((r) => r.json() as Promise<{ id: string }>);
    await expect.poll(async () => (await inbox('users', 'u2')).length, { timeout: 10_000 }).toBe(1);
    const page = await open(`#/n/${sent.id}`);
    await page.locator('[data-testid=recipient]').first().waitFor();
    expect(await page.locator('.btns.horizontal a').allTextContents()).toEqual(['同意', '拒绝']);
    await expect.poll(() => page.locator('[data-testid=call]').count(), { timeout: 10_000 }).toBeGreaterThan(0);
    await shot(page, 'detail');
    await page.locator('[data-testid=recall]').click();
    await expect.poll(async () => (await inbox('users', 'u2'))[0].status, { timeout: 10_000 }).toBe('recalled');
    await expect.poll(() => page.locator('[data-testid=recipient] [data-status]').first().getAttribute('data-status'), { timeout: 10_000 }).toBe('recalled');
    await page.close();
  });

  it('a fault on a robot shows as its error on the Overview; zh and en both render', async () => {
    await fetch(`${emu.url}/_emulator/api/faults`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ path: '/robot/send', kind: 'errcode', errcode: 310000, errmsg: 'sign not match', count: 1 }),
    });
    await fetch(`${gw.url}/v1/notifications`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ to: { robots: ['ops'] }, message: { type: 'text', content: 'x' } }) });
    const page = await open('#/');
    const ops = page.locator('[data-testid=destination][data-name=ops] [data-testid=last-error]');
    await expect.poll(() => ops.textContent(), { timeout: 10_000 }).toContain('310000');
    await page.locator('[data-testid=error-row]').first().waitFor();
    await page.locator('[data-testid=chart] canvas').first().waitFor();
    await shot(page, 'overview-en');
    expect(await page.locator('header nav a').first().textContent()).toBe('Overview');
    await page.locator('[data-testid=lang]').selectOption('zh');
    await expect.poll(() => page.locator('header nav a').first().textContent()).toBe('概览');
    await shot(page, 'overview-zh');
    await page.close();
    // A Chinese browser starts in Chinese.
    const zh = await open('#/destinations', { lang: 'zh-CN' });
    await expect.poll(() => zh.locator('header nav a').nth(3).textContent()).toBe('目的地与密钥');
    await zh.locator('[data-testid=key]').first().waitFor();
    await shot(zh, 'destinations-zh');
    await zh.close();
  });

  it('with a read-only key there is no Recall button, and the API refuses a recall with 403', async () => {
    const sent = await fetch(`${gw.url}/v1/notifications`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ to: { robots: ['ops'] }, message: { type: 'markdown', title: 'read only', text: 'x' } }),
    }).then((r) => r.json() as Promise<{ id: string }>);
    const page = await open(`#/n/${sent.id}`, { key: READ_KEY });
    await page.locator('[data-testid=recipient]').first().waitFor();
    expect(await page.locator('[data-testid=who]').textContent()).toContain('viewer');
    expect(await page.locator('[data-testid=recall]').count()).toBe(0);
    await shot(page, 'detail-read-only');
    const res = await fetch(`${gw.url}/v1/notifications/${sent.id}/recall`, { method: 'POST', headers: { authorization: `Bearer ${READ_KEY}` } });
    expect(res.status).toBe(403);
    expect(((await res.json()) as any).error.path).toBe('scope');
    await page.close();
  });

  it('every page and asset loads without a console error, and none carries a secret', async () => {
    const list = (await (await fetch(`${gw.url}/v1/notifications`)).json()) as any;
    for (const hash of ['#/', '#/notifications', '#/compose', '#/destinations', `#/n/${list.items[0].id}`]) {
      const page = await open(hash);
      await page.waitForLoadState('networkidle');
      await page.close();
    }
    expect(consoleErrors.join('\n')).toBe('');
    const bodies: string[] = [];
    for (const path of ['/', '/ui/app.js', '/ui/render.js', '/ui/i18n.js', '/ui/app.css', '/ui/vendor/preact.mjs', '/ui/vendor/marked.mjs', '/v1/me', '/v1/keys', '/v1/destinations', '/v1/stats?window=day', '/v1/notifications?limit=500', `/v1/notifications/${list.items[0].id}/timeline`]) {
      const res = await fetch(`${gw.url}${path}`);
      expect(res.status, path).toBe(200);
      bodies.push(await res.text());
    }
    const all = bodies.join('\n');
    for (const s of [READ_KEY, API_KEY, ROBOT_SECRET, APP.appSecret, tokens.ops, tokens.alerts, tokens.bad]) expect(all.includes(s), s.slice(0, 6)).toBe(false);
    expect((await fetch(`${gw.url}/ui/../package.json`)).status).toBe(404);
  });
});
