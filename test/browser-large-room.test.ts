import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Browser, BrowserContext } from 'playwright-core';
import type { Channel, Socket } from 'phoenix';
import { startTestApp, type TestApp } from './support/app.js';
import { ChatTab, chromiumForSuite, launchChromium, LAPTOP, newPerson, screenshot } from './support/browser.js';
import { connect, join, push } from './support/phoenix-client.js';

/**
 * The browser client in a large room (PRESENCE_FULL_LIMIT=3): the heading
 * counts who is online and the recent speakers show instead of the list;
 * once the room is small again, the list is back.
 */

const { executable, skip } = chromiumForSuite();

describe('browser client in a large room', { skip, timeout: 120_000 }, () => {
  let app: TestApp;
  let browser: Browser;
  const contexts: BrowserContext[] = [];
  const sockets: Socket[] = [];

  before(async () => {
    app = await startTestApp({ env: { PRESENCE_FULL_LIMIT: '3' } });
    browser = await launchChromium(executable as string);
  });
  after(async () => {
    for (const socket of sockets) socket.disconnect();
    for (const context of contexts) await context.close();
    await browser?.close();
    await app?.stop();
  });

  /** Someone in the room over phoenix.js. */
  const other = async (name: string): Promise<Channel> => {
    const socket = connect(app.wsUrl);
    sockets.push(socket);
    const channel = socket.channel('room:big', { username: name, token: `${name}-token-`.padEnd(24, 'x') });
    assert.equal((await join(channel)).status, 'ok');
    return channel;
  };

  test('"Online (N)" and "Recently active" past the limit; the per-user list again once small', async () => {
    const context = await newPerson(browser, LAPTOP);
    contexts.push(context);
    const tab = await ChatTab.open(context, app.httpUrl);
    const [amy, ben] = [await other('amy'), await other('ben')];
    await tab.signIn('viewer', 'big');
    await tab.waitForOnline('ben', 1);
    const cal = await other('cal');
    // Four online, over the limit of three: a summary, no list.
    const heading = tab.page.getByRole('heading', { name: 'Online (4)' });
    await heading.waitFor();
    assert.equal(await tab.page.locator('#online-list').isHidden(), true, 'no per-user list in a large room');
    assert.equal((await push(ben, 'new_msg', { body: 'hello crowd' })).status, 'ok');
    const recent = tab.page.locator('#recent-list .name');
    await recent.getByText('ben', { exact: true }).waitFor();
    await tab.page.getByRole('heading', { name: 'Recently active' }).waitFor();
    await tab.send('me as well');
    // Newest first.
    await tab.page.locator('#recent-list > li').first().locator('.name').getByText('viewer', { exact: true }).waitFor();
    assert.deepEqual(await recent.allInnerTexts(), ['viewer', 'ben']);
    await screenshot(tab.page, 'large-room');

    // Two leave: 2 is below 90% of 3, so the full list comes back.
    for (const channel of [amy, cal]) channel.leave();
    await tab.waitForOnline('ben', 1);
    await tab.page.getByRole('heading', { name: 'Online (2)' }).waitFor();
    assert.equal(await tab.page.locator('#recent-list').isHidden(), true);
    assert.deepEqual([...(await tab.online()).keys()].sort(), ['ben', 'viewer']);
    assert.deepEqual(tab.errors, []);
  });
});
