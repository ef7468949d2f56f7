import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { startTestApp, type TestApp } from './support/app.js';
import { ChatTab, chromiumForSuite, eventually, launchChromium, LAPTOP, newPerson, PHONE, screenshot } from './support/browser.js';
import { admin, freePort } from './support/ops.js';
import { sleep } from './support/probe.js';

/**
 * The observer page (/admin) in a real headless Chromium: it asks for the
 * token, draws the live tree, and its kill buttons crash real actors whose
 * restarts it then shows; its charts move, its session search filters, its
 * restart log and chaos control work, and its kick closes a chat tab that then
 * says so.
 */

const { executable, skip } = chromiumForSuite();

const TOKEN = 'page-test-token-0123456789';

/** Waits until the first chart draws at least `count` points (they come one a second). */
const chartPoints = (page: Page, count: number) =>
  eventually(`${count} points in the charts`, async () => (Number(await page.locator('figure.chart').first().getAttribute('data-points')) >= count ? true : undefined));

describe('admin observer page', { skip, timeout: 120_000 }, () => {
  let app: TestApp;
  let browser: Browser;

  before(async () => {
    // A fixed port: the first test's kill of pubsub restarts the Endpoint, which must listen where it did.
    app = await startTestApp({ env: { ADMIN_TOKEN: TOKEN, PORT: String(await freePort()) } });
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

  test('charts, session search, restart log, chaos, and a kick the kicked chat tab tells its person about', async () => {
    const kateContext = await newPerson(browser, LAPTOP);
    const kate = await ChatTab.open(kateContext, app.httpUrl);
    await kate.signIn('kate', 'lounge');
    const liamContext = await newPerson(browser, PHONE);
    const liam = await ChatTab.open(liamContext, app.httpUrl);
    await liam.signIn('liam', 'lounge');

    const context = await newPerson(browser, LAPTOP);
    const page = await context.newPage();
    const errors: string[] = [];
    page.on('pageerror', (error) => errors.push(error.message));
    await page.goto(`${app.httpUrl}/admin`);
    await page.fill('#token', TOKEN);
    await page.getByRole('button', { name: 'use token' }).click();

    // Five charts, filling a point a second.
    await page.locator('figure.chart').nth(4).waitFor();
    assert.deepEqual(await page.locator('figure.chart figcaption span:first-child').allTextContents(), ['sockets', 'joins/s', 'messages in/s', 'messages out/s', 'restarts/s']);
    await chartPoints(page, 3);
    await page.locator('figure.chart', { hasText: 'sockets' }).locator('.now', { hasText: /^2$/ }).waitFor();
    await page.locator('#nodes tbody tr', { hasText: '(this one)' }).waitFor();
    await page.locator('#mailboxes', { hasText: 'pubsub' }).waitFor();

    // Sessions: both, then the search narrows them to one.
    const rows = page.locator('#sessions tbody tr');
    await rows.filter({ hasText: 'kate' }).waitFor();
    await rows.filter({ hasText: 'liam' }).waitFor();
    await page.fill('#session-q', 'kat');
    await page.locator('#page-info', { hasText: '1–1 of 1 matching “kat”' }).waitFor();
    assert.equal(await rows.count(), 1);
    assert.match((await rows.first().textContent()) ?? '', /kate.*lounge/);
    await screenshot(page, 'admin-observer-desktop');

    // Kill kate's session from its row: the restart log names it, with the reason.
    const id = (await rows.first().locator('td').first().textContent()) ?? '';
    await rows.first().getByRole('button', { name: 'kill' }).click();
    await page.locator('#restart-log tbody tr', { hasText: `/app/endpoint/sessions/${id}` }).filter({ hasText: 'crash: killed by the admin API' }).waitFor({ timeout: 10_000 });
    await page.locator('figure.chart.restarts .now', { hasText: /^[1-9]/ }).waitFor({ timeout: 5_000 });

    // Chaos: 1 a second for 2 seconds, and then it is over by itself.
    await page.fill('#chaos-rate', '1');
    await page.fill('#chaos-seconds', '2');
    await page.getByRole('button', { name: 'start' }).click();
    await page.locator('#chaos-state', { hasText: 'killing 1 a second' }).waitFor();
    await page.locator('#chaos-state', { hasText: 'chaos: off (last run killed 2)' }).waitFor({ timeout: 10_000 });
    await kate.page.getByRole('heading', { name: '#lounge' }).waitFor();

    // Kick kate from her row: her tab says so and stays disconnected until she asks.
    await page.locator('#sessions tbody tr', { hasText: 'kate' }).getByRole('button', { name: 'kick' }).click();
    await page.locator('#last-action', { hasText: 'disconnected kate (1 here, and on every node)' }).waitFor();
    await kate.page.locator('#notice', { hasText: 'You were disconnected by an administrator.' }).waitFor();
    assert.equal(await kate.connectionStatus(), 'disconnected');
    // Time is what is tested: phoenix.js would have reconnected within its first backoff steps (10 ms to 1 s).
    await sleep(1_500);
    assert.equal(await kate.connectionStatus(), 'disconnected');
    const kates = await admin(app.httpUrl, 'GET', '/admin/sessions?q=kate', TOKEN);
    assert.equal((kates.body as { count: number }).count, 0, 'no socket of kate came back by itself');
    assert.equal(await liam.connectionStatus(), null, 'liam is still connected');
    await screenshot(kate.page, 'chat-kicked-desktop');

    const phone = await newPerson(browser, PHONE);
    const phonePage = await phone.newPage();
    await phonePage.goto(`${app.httpUrl}/admin`);
    await phonePage.fill('#token', TOKEN);
    await phonePage.getByRole('button', { name: 'use token' }).click();
    await phonePage.locator('#restart-log tbody tr').first().waitFor();
    await chartPoints(phonePage, 2);
    await screenshot(phonePage, 'admin-observer-phone');
    await phonePage.screenshot({ path: 'test-output/admin-observer-phone-full.png', fullPage: true });

    // Reconnect: back in the room, chatting.
    await kate.page.getByRole('button', { name: 'Reconnect' }).click();
    await kate.page.locator('#conn-status').waitFor({ state: 'hidden' });
    await kate.send('back after the kick');
    await liam.waitForMessage('back after the kick');
    // The phone's tab, kicked, says so too.
    assert.equal((await admin(app.httpUrl, 'POST', '/admin/users/liam/disconnect', TOKEN)).status, 200);
    await liam.page.getByRole('button', { name: 'Reconnect' }).waitFor();
    await screenshot(liam.page, 'chat-kicked-phone');
    assert.deepEqual([...errors, ...kate.errors, ...liam.errors], []);
    await Promise.all([context.close(), phone.close(), kateContext.close(), liamContext.close()]);
  });
});
