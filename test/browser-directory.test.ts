import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { startTestApp, type TestApp } from './support/app.js';
import { ChatTab, chromiumForSuite, LAPTOP, launchChromium, newPerson, PHONE, screenshot } from './support/browser.js';
import { freshDatabase, type TestDatabase } from './support/db.js';

/**
 * The landing page's rooms directory in real Chromium: the rooms, how many are
 * in each and when each was last active; a count that changes while the page
 * is open, as someone in another browser enters a room; a room one click away
 * (with the saved name, or into the form when there is none yet). Screenshots
 * at laptop and phone widths go to test-output/.
 */

const { executable, skip } = chromiumForSuite();

interface ShownRoom {
  readonly name: string;
  readonly online: string;
  readonly active: string;
}

async function shownRooms(page: Page): Promise<ShownRoom[]> {
  return page.$$eval('#rooms-list .room-link', (links) =>
    links.map((link) => ({
      name: link.querySelector('.room-name')?.textContent ?? '',
      online: link.querySelector('.room-online')?.textContent ?? '',
      active: link.querySelector('.room-active')?.textContent ?? '',
    })),
  );
}

/** Waits until the room's line says `online` ("2 online"). */
function waitForRoom(page: Page, name: string, online: string): Promise<void> {
  return page
    .locator('#rooms-list .room-link')
    .filter({ has: page.locator('.room-name').getByText(`#${name}`, { exact: true }) })
    .filter({ has: page.locator('.room-online').getByText(online, { exact: true }) })
    .waitFor();
}

describe('browser client: the rooms directory', { skip, timeout: 300_000 }, () => {
  let browser: Browser;
  const contexts: BrowserContext[] = [];
  const tabs: ChatTab[] = [];
  let app: TestApp | undefined;

  const open = async (size: { width: number; height: number } = LAPTOP, path = '/') => {
    assert.ok(app, 'the application is running');
    const context = await newPerson(browser, size);
    contexts.push(context);
    const tab = await ChatTab.open(context, app.httpUrl, path);
    tabs.push(tab);
    return tab;
  };

  /** One application per describe (its registered actors are one per process), on `db` when given; its pages close before it stops. */
  const serve = (prepare?: (db: TestDatabase) => Promise<void>) => {
    let db: TestDatabase | undefined;
    before(async () => {
      db = await freshDatabase({ migrated: true });
      await prepare?.(db);
      app = await startTestApp({ databaseUrl: db.url });
    });
    after(async () => {
      for (const context of contexts.splice(0)) await context.close();
      await app?.stop();
      app = undefined;
      await db?.drop();
    });
  };

  before(async () => {
    browser = await launchChromium(executable as string);
  });
  after(async () => {
    for (const tab of tabs) assert.deepEqual(tab.errors, [], `no script errors on ${tab.path}`);
    await browser?.close();
  });

  describe('a server nobody has chatted on', () => {
    serve();

    test('says how to make a room', async () => {
      for (const [size, name] of [[PHONE, 'phone'], [LAPTOP, 'laptop']] as const) {
        const tab = await open(size);
        await tab.page.getByText('No rooms yet — type a name to create one.', { exact: true }).waitFor();
        await screenshot(tab.page, `rooms-directory-empty-${name}`);
      }
    });
  });

  describe('rooms talked in before the server started', () => {
    // An hour, two days and a month ago.
    serve(async (db) => {
      const [user] = await db.sql<Array<{ id: string }>>`INSERT INTO users (name) VALUES ('old_timer') RETURNING id`;
      assert.ok(user);
      await db.sql`INSERT INTO messages (room, user_id, body, inserted_at) VALUES
        ('design', ${user.id}, 'see you', now() - interval '1 hour'),
        ('random', ${user.id}, 'bye', now() - interval '2 days'),
        ('the-longest-name-a-room-may-have', ${user.id}, 'long ago', now() - interval '30 days')`;
    });

    test('the landing lists the rooms; a count changes live as someone enters; a click enters the room with the saved name', async () => {
      const watcher = await open();
      await waitForRoom(watcher.page, 'design', '0 online');
      // Past a week, the date as the browser writes it.
      const thirtyDaysAgo = await watcher.page.evaluate(() =>
        new Date(Date.now() - 30 * 86_400_000).toLocaleDateString(undefined, { day: 'numeric', month: 'short', year: 'numeric' }),
      );
      assert.deepEqual(await shownRooms(watcher.page), [
        { name: '#design', online: '0 online', active: 'active 1 h ago' },
        { name: '#random', online: '0 online', active: 'active 2 days ago' },
        { name: '#the-longest-name-a-room-may-have', online: '0 online', active: `active ${thirtyDaysAgo}` },
      ]);

      // Someone in another browser enters a new room: it appears at the top of the open landing page, counted.
      const ana = await open(PHONE);
      await ana.signIn('ana', 'general');
      await waitForRoom(watcher.page, 'general', '1 online');
      await ana.send('hello everyone');
      await watcher.page.locator('#rooms-list .room-link').first().getByText('active just now', { exact: true }).waitFor();
      assert.equal((await shownRooms(watcher.page))[0]?.name, '#general');
      const ben = await open(PHONE);
      await ben.signIn('ben', 'general');
      await waitForRoom(watcher.page, 'general', '2 online');
      await screenshot(watcher.page, 'rooms-directory-laptop');

      // Ana goes back to the landing (her name is saved): one click on a room enters it.
      await ana.page.getByRole('button', { name: 'Leave' }).click();
      await waitForRoom(ana.page, 'general', '1 online');
      await screenshot(ana.page, 'rooms-directory-phone');
      await ana.page.getByRole('link', { name: /#design/ }).click();
      await ana.page.waitForURL('**/rooms/design');
      await ana.page.getByRole('heading', { name: '#design' }).waitFor();
      await ana.waitForMessage('see you');
      await waitForRoom(watcher.page, 'design', '1 online');
      await ben.page.close();
      await waitForRoom(watcher.page, 'general', '0 online');
    });

    test('with no name saved yet, a click on a room puts it in the form and asks for a name', async () => {
      const newcomer = await open(PHONE);
      await waitForRoom(newcomer.page, 'random', '0 online');
      await newcomer.page.getByRole('link', { name: /#random/ }).click();
      assert.equal(newcomer.path, '/', 'still on the landing page');
      assert.equal(await newcomer.page.getByLabel('Room', { exact: true }).inputValue(), 'random');
      assert.ok(await newcomer.page.getByLabel('Username', { exact: true }).evaluate((input) => input === input.ownerDocument.activeElement), 'typing goes to the name');
      await newcomer.page.getByLabel('Username', { exact: true }).fill('cleo');
      await newcomer.page.getByRole('button', { name: 'Enter room' }).click();
      await newcomer.page.waitForURL('**/rooms/random');
      await newcomer.waitForMessage('bye');
    });
  });
});
