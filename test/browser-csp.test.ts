import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { startTestApp, type TestApp } from './support/app.js';
import { ChatTab, chromiumForSuite, launchChromium, LAPTOP, newPerson } from './support/browser.js';

/**
 * The Content-Security-Policy in a real Chromium: the chat and the admin page
 * work under it with no violation reported, and it is in force (an inline
 * script injected into the page is refused).
 */

const { executable, skip } = chromiumForSuite();
const TOKEN = 'csp-test-admin-token-0123';

interface Violation {
  readonly directive: string;
  readonly blocked: string;
}

/** Every page of the context records the CSP violations it reports, from before its first script (init scripts are not subject to the page's CSP). */
async function recordViolations(context: BrowserContext): Promise<void> {
  // Strings, not functions: these run in the page, and the tests are compiled without the DOM's types.
  await context.addInitScript({
    content: `window.__violations = [];
      document.addEventListener('securitypolicyviolation', (e) => window.__violations.push({ directive: e.effectiveDirective, blocked: e.blockedURI }));`,
  });
}

const violations = (page: Page): Promise<Violation[]> => page.evaluate<Violation[]>('window.__violations');

describe('Content-Security-Policy in Chromium', { skip, timeout: 120_000 }, () => {
  let app: TestApp;
  let browser: Browser;
  const contexts: BrowserContext[] = [];

  before(async () => {
    app = await startTestApp({ env: { ADMIN_TOKEN: TOKEN } });
    browser = await launchChromium(executable as string);
  });
  after(async () => {
    for (const context of contexts) await context.close();
    await browser?.close();
    await app?.stop();
  });

  test('the chat works under it: sign in, send, see the message; nothing is reported; an injected inline script is refused', async () => {
    const context = await newPerson(browser, LAPTOP);
    contexts.push(context);
    await recordViolations(context);
    const tab = await ChatTab.open(context, app.httpUrl);
    await tab.signIn('cspuser', 'csp');
    await tab.send('hello under a strict policy');
    await tab.waitForMessage('hello under a strict policy');
    assert.deepEqual(await violations(tab.page), [], 'no CSP violation while chatting');
    assert.deepEqual(tab.errors, []);
    // The control: markup an attacker got into the page does not run.
    await tab.page.evaluate(`{ const script = document.createElement('script'); script.textContent = 'window.__injected = true'; document.body.append(script); }`);
    await tab.page.waitForFunction('window.__violations.length > 0');
    assert.equal(await tab.page.evaluate('window.__injected'), undefined);
    assert.deepEqual((await violations(tab.page)).map((v) => v.directive), ['script-src-elem']);
  });

  test('the admin page works under it: the tree is drawn, nothing is reported', async () => {
    const context = await newPerson(browser, LAPTOP);
    contexts.push(context);
    await recordViolations(context);
    const page = await context.newPage();
    const errors: string[] = [];
    page.on('pageerror', (error) => errors.push(error.message));
    await page.goto(`${app.httpUrl}/admin`);
    await page.fill('#token', TOKEN);
    await page.getByRole('button', { name: 'use token' }).click();
    await page.locator('.node .name', { hasText: /^pubsub$/ }).first().waitFor();
    assert.deepEqual(await violations(page), []);
    assert.deepEqual(errors, []);
  });
});
