import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { startTestApp, type TestApp } from './support/app.js';
import { ChatTab, chromiumForSuite, LAPTOP, PHONE, launchChromium, newPerson, screenshot } from './support/browser.js';
import { RoomMember } from './support/room-member.js';

/**
 * The room page's search and typing indicator, end to end in a real Chromium:
 * a search box in the room's head, results newest first, a hit opened in its
 * context and back to the live room; "alice is typing…" in the other tabs.
 * Screenshots (laptop and phone) land in test-output/.
 */

const { executable, skip } = chromiumForSuite();

describe('browser client: search and typing', { skip, timeout: 300_000 }, () => {
  let app: TestApp;
  let browser: Browser;
  let seeder: RoomMember;
  const contexts: BrowserContext[] = [];
  const tabs: ChatTab[] = [];

  const open = async (size: { width: number; height: number }, name: string, room: string) => {
    const context = await newPerson(browser, size);
    contexts.push(context);
    const tab = await ChatTab.open(context, app.httpUrl);
    tabs.push(tab);
    await tab.signIn(name, room);
    return tab;
  };

  before(async () => {
    app = await startTestApp({ env: { RATE_LIMIT_PER_SEC: '1000', RATE_LIMIT_BURST: '1000' } });
    browser = await launchChromium(executable as string);
  });

  after(async () => {
    for (const tab of tabs) assert.deepEqual(tab.errors, [], `no script errors on ${tab.path}`);
    seeder?.leave();
    await browser?.close();
    await app?.stop();
  });

  const searchFor = async (page: Page, query: string) => {
    await page.getByRole('searchbox', { name: 'Search messages' }).fill(query);
    await page.getByRole('button', { name: 'Search', exact: true }).click();
  };
  const hits = (page: Page) => page.$$eval('#search-results .hit-open', (buttons) => buttons.map((button) => button.querySelector('.body')?.textContent ?? ''));
  const contextBodies = (page: Page) => page.$$eval('#context-list > li .body', (items) => items.map((item) => item.textContent ?? ''));
  const hitRow = (page: Page) => page.locator('#context-list > li.is-hit');

  /** Whether the element is inside the visible part of the message pane. */
  const inView = (page: Page, selector: string) =>
    page.$eval(selector, (node) => {
      const pane = node.closest('.message-scroll')?.getBoundingClientRect();
      const box = node.getBoundingClientRect();
      return pane !== undefined && box.top >= pane.top && box.bottom <= pane.bottom;
    });

  test('search box -> results newest first -> a hit in its context -> back to the live room, with what came meanwhile', async () => {
    const alice = await open(LAPTOP, 'alice', 'garden');
    seeder = await RoomMember.join(app.wsUrl, 'gardener', 'garden');
    // 80 messages, two of them about tomatoes: the older hit has 10 before it and more than 25 after.
    for (let i = 0; i < 80; i += 1) {
      const body = i === 10 ? 'The tomatoes are ripe, come and pick some' : i === 60 ? 'tomatoes again? we have so many tomatoes' : `garden note ${i}`;
      await seeder.say(body);
    }
    await alice.waitForMessage('garden note 79');

    await searchFor(alice.page, 'tomatoes');
    await alice.page.getByRole('heading', { name: '2 results for “tomatoes”' }).waitFor();
    assert.deepEqual(await hits(alice.page), ['tomatoes again? we have so many tomatoes', 'The tomatoes are ripe, come and pick some'], 'newest first');
    assert.equal(await alice.page.locator('#search-results mark').first().innerText(), 'tomatoes', 'the word is marked');
    assert.equal(await alice.page.locator('#search-results .author').first().innerText(), 'gardener');
    await screenshot(alice.page, 'search-results-laptop');

    await alice.page.getByRole('button', { name: /The tomatoes are ripe/ }).click();
    await hitRow(alice.page).waitFor();
    const shown = await contextBodies(alice.page);
    assert.deepEqual(shown, [...Array.from({ length: 10 }, (_, i) => `garden note ${i}`), 'The tomatoes are ripe, come and pick some', ...Array.from({ length: 25 }, (_, i) => `garden note ${i + 11}`)]);
    assert.equal(await hitRow(alice.page).locator('.body').innerText(), 'The tomatoes are ripe, come and pick some');
    assert.equal(await hitRow(alice.page).getAttribute('aria-current'), 'true');
    assert.ok(await inView(alice.page, '#context-list > li.is-hit'), 'the hit is scrolled into view');
    assert.equal(await alice.page.locator('#message-list').isHidden(), true, 'the live list is out of the way');
    await screenshot(alice.page, 'search-context-laptop');

    // Live messages keep coming meanwhile: not into the context, but into the room.
    await seeder.say('arrived while alice was reading old news');
    await alice.page.getByText('New messages came in since').waitFor();
    assert.ok(!(await contextBodies(alice.page)).includes('arrived while alice was reading old news'));
    await alice.page.getByRole('button', { name: 'Back to latest' }).click();
    await alice.page.locator('#context-list').waitFor({ state: 'hidden' });
    await alice.waitForMessage('arrived while alice was reading old news');
    const live = await alice.messages();
    assert.equal(live.length, 81);
    assert.equal(live.at(-1)?.body, 'arrived while alice was reading old news');
    assert.ok(await inView(alice.page, '#message-list > li:last-child'), 'at the newest message');
    // The results stay open beside the room until closed.
    await alice.page.getByRole('button', { name: 'Close' }).click();
    await alice.page.locator('#search-panel').waitFor({ state: 'hidden' });
    await alice.page.locator('#online-list').getByText('alice').waitFor();
  });

  test('on a phone: results take the room, a hit shows its context, Results goes back to them', async () => {
    const bob = await open(PHONE, 'bob', 'garden');
    await bob.waitForMessage('arrived while alice was reading old news');
    await searchFor(bob.page, 'tomatoes');
    await bob.page.getByRole('heading', { name: '2 results for “tomatoes”' }).waitFor();
    assert.equal(await bob.page.locator('#message-list').isVisible(), false, 'the results cover the messages');
    await screenshot(bob.page, 'search-results-phone');
    await bob.page.getByRole('button', { name: /tomatoes again/ }).click();
    await hitRow(bob.page).waitFor();
    assert.equal(await bob.page.locator('#search-panel').isHidden(), true);
    assert.ok(await inView(bob.page, '#context-list > li.is-hit'));
    await screenshot(bob.page, 'search-context-phone');
    await bob.page.getByRole('button', { name: 'Results' }).click();
    await bob.page.getByRole('heading', { name: '2 results for “tomatoes”' }).waitFor();
    await bob.page.getByRole('button', { name: 'Close' }).click();
    await bob.page.getByRole('button', { name: 'Back to latest' }).click();
    await bob.page.locator('#message-list').waitFor({ state: 'visible' });
  });

  test('more results page back; a search the server refuses says why; one with no hits says so', async () => {
    const carol = await open(LAPTOP, 'carol', 'garden');
    await searchFor(carol.page, 'garden');
    await carol.page.getByRole('heading', { name: '50+ results for “garden”' }).waitFor();
    assert.equal((await hits(carol.page))[0], 'garden note 79');
    await carol.page.getByRole('button', { name: 'More results' }).click();
    await carol.page.getByRole('heading', { name: '78 results for “garden”' }).waitFor();
    assert.equal((await hits(carol.page)).at(-1), 'garden note 0');
    assert.equal(await carol.page.getByRole('button', { name: 'More results' }).isHidden(), true, 'no more to load');

    await searchFor(carol.page, '?!');
    await carol.page.getByText('Search: must contain a word to search for.').waitFor();
    await searchFor(carol.page, 'pumpkins');
    await carol.page.getByText('No messages match “pumpkins”.').waitFor();
    await carol.page.getByRole('button', { name: 'Close' }).click();
  });

  test('typing: "dora is typing…" in the other tabs, never her own; gone with her message, or after 5 s', async () => {
    const dora = await open(LAPTOP, 'dora', 'porch');
    const eli = await open(PHONE, 'eli', 'porch');
    const fay = await open(LAPTOP, 'fay', 'porch');
    const line = (tab: ChatTab) => tab.page.locator('#typing-line');
    const shows = (tab: ChatTab, text: string) => line(tab).filter({ hasText: new RegExp(`^${text}$`) }).waitFor();

    await dora.messageInput.pressSequentially('hello the', { delay: 20 });
    await shows(eli, 'dora is typing…');
    await shows(fay, 'dora is typing…');
    await eli.messageInput.pressSequentially('hi', { delay: 20 });
    await shows(fay, 'dora and eli are typing…');
    await shows(eli, 'dora is typing…');
    await screenshot(fay.page, 'typing-laptop');
    await screenshot(eli.page, 'typing-phone');
    assert.equal(await line(dora).innerText(), 'eli is typing…', 'dora is not told she is typing');

    await dora.send('hello there');
    await eli.waitForMessage('hello there');
    // Her message ends her typing at once.
    await eli.page.locator('#typing-line:empty').waitFor();
    assert.equal(await line(fay).innerText(), 'eli is typing…');
    // Eli stops without sending: his name goes 5 s after his last keystroke.
    await fay.page.locator('#typing-line:empty').waitFor({ timeout: 8_000 });
  });
});
