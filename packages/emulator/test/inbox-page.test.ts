import { existsSync, mkdirSync } from 'node:fs';
import { chromium, type Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { advance, oapi, SEND, token, useEmulator } from './helpers.js';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const ARTIFACTS = new URL('../../../.test-artifacts/', import.meta.url);

/** The inbox page in headless Chromium: messages drawn as DingTalk draws them, updating without a reload. */
describe.skipIf(!existsSync(CHROMIUM) && !process.env.CI)('inbox page', () => {
  const ctx = useEmulator({ deliveryMs: 0, readAfterMs: 0, readPercent: 100 });
  let browser: Browser;
  beforeAll(async () => {
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-quic', '--no-first-run'],
    });
  });
  afterAll(async () => browser?.close());

  it('shows work notifications and robot messages, newest first, live, and takes a screenshot', async () => {
    const page = await browser.newPage({ viewport: { width: 1200, height: 800 } });
    await page.goto(`${ctx.url}/_emulator/`);
    await page.getByText('No messages yet').waitFor();

    const tok = await token(ctx.url);
    await oapi(ctx.url, SEND, tok, {
      agent_id: 2001,
      userid_list: 'alice',
      msg: { msgtype: 'markdown', markdown: { title: '部署完成', text: '### 发布 v1.2\n- **服务**: api\n- [查看详情](https://example.com)' } },
    });
    await oapi(ctx.url, SEND, tok, {
      agent_id: 2001,
      userid_list: 'alice',
      msg: {
        msgtype: 'action_card',
        action_card: { title: '审批', markdown: '请审批 **报销单**', btn_orientation: '1', btn_json_list: [{ title: '同意', action_url: 'https://a' }, { title: '拒绝', action_url: 'https://b' }] },
      },
    });
    await oapi(ctx.url, SEND, tok, {
      agent_id: 2001,
      userid_list: 'bob',
      msg: { msgtype: 'oa', oa: { message_url: 'https://a', head: { bgcolor: 'FF00B96B', text: '考勤' }, body: { title: '打卡提醒', form: [{ key: '日期:', value: '今天' }] } } },
    });
    await fetch(`${ctx.url}/robot/send?access_token=${'open'.padEnd(64, '0')}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ msgtype: 'text', text: { content: 'CPU 90% @13900000001' }, at: { atMobiles: ['13900000001'] } }),
    });
    await advance(ctx.url, 10);

    // No reload: the page polls and redraws.
    await page.locator('[data-testid=message]').nth(3).waitFor({ timeout: 10_000 });
    const channels = await page.locator('[data-testid=message]').evaluateAll((els) => els.map((e) => e.getAttribute('data-channel')));
    expect(channels[0]).toBe('robot'); // newest first
    expect(await page.locator('.md h3').first().textContent()).toBe('发布 v1.2');
    expect(await page.locator('.md strong').allTextContents()).toEqual(['报销单', '服务']);
    expect(await page.locator('.btns.horizontal a').allTextContents()).toEqual(['同意', '拒绝']);
    expect(await page.locator('.oa .head').textContent()).toBe('考勤');
    expect(await page.locator('.mention').first().textContent()).toBe('@13900000001');

    await page.getByTestId('conv-user:alice').click();
    await expect.poll(() => page.locator('[data-testid=message]').count()).toBe(2);
    mkdirSync(ARTIFACTS, { recursive: true });
    const shot = await page.screenshot({ path: new URL('inbox-alice.png', ARTIFACTS).pathname, fullPage: true });
    expect(shot.length).toBeGreaterThan(10_000);
    await page.getByTestId('conv-all').click();
    await page.screenshot({ path: new URL('inbox-all.png', ARTIFACTS).pathname, fullPage: true });
  });
});
