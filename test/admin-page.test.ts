import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Browser } from 'playwright-core';
import { startTestApp, type TestApp } from './support/app.js';
import { chromiumForSuite, launchChromium, LAPTOP, newPerson, screenshot } from './support/browser.js';

/**
 * The observer page (/admin) in a real headless Chromium: it asks for the
 * token, draws the live tree, and its kill buttons crash real actors whose
 * restarts it then shows.
 */

const { executable, skip } = chromiumForSuite();

const TOKEN = 'page-test-token-0123456789';

describe('admin observer page', { skip, timeout: 120_000 }, () => {
  let app: TestApp;
  let browser: Browser;

  before(async () => {
    app = await startTestApp({ env: { ADMIN_TOKEN: TOKEN } });
    browser = await launchChromium(executable as string);
  });

  after(async () => {
    await browser?.close();
    await app?.stop();
  });

  test('a wrong token is said so; the right one draws the tree; kill pubsub shows its restart', async () => {
    const context = await newPerson(browser, LAPTOP);
    const page = await context.newPage();
    const errors: string[] = [];
    page.on('pageerror', (error) => errors.push(error.message));
    await page.goto(`${app.httpUrl}/admin`);
    await page.getByText('enter the admin token').waitFor();

    await page.fill('#token', 'not-the-token-at-all');
    await page.getByRole('button', { name: 'use token' }).click();
    await page.locator('#status.error', { hasText: 'wrong or missing token' }).waitFor();

    await page.fill('#token', TOKEN);
    await page.getByRole('button', { name: 'use token' }).click();
    const node = (id: string) => page.locator('.node', { has: page.locator('.name', { hasText: new RegExp(`^${id}$`) }) });
    for (const id of ['app', 'repo', 'pubsub', 'presence', 'endpoint', 'sessions']) await node(id).waitFor();
    assert.equal(await node('pubsub').locator('.restarts').textContent(), '↻ 0');

    await node('pubsub').getByRole('button', { name: 'kill' }).click();
    await page.locator('#last-action', { hasText: 'killed pubsub' }).waitFor();
    // A real crash handled by the supervisor: the counter the page draws comes from the tree.
    await node('pubsub').locator('.restarts.hot', { hasText: '↻ 1' }).waitFor({ timeout: 10_000 });
    await screenshot(page, 'admin-observer');
    assert.deepEqual(errors, []);
    await context.close();
  });
});
