import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Browser, BrowserContext } from 'playwright-core';
import { startTestApp, type TestApp } from './support/app.js';
import { ChatTab, chromiumForSuite, LAPTOP, NetworkSwitch, PHONE, eventually, launchChromium, newPerson, screenshot } from './support/browser.js';

/**
 * The browser client (src/web/) end to end: the whole application in this
 * process, a real headless Chromium, people in separate browser contexts.
 * Screenshots of the landing page and the room land in test-output/.
 */

const { executable, skip } = chromiumForSuite();

const BODY_LIMIT = 500;

describe('browser client', { skip, timeout: 300_000 }, () => {
  let app: TestApp;
  let browser: Browser;
  const contexts: BrowserContext[] = [];
  const tabs: ChatTab[] = [];

  const person = async (size: { width: number; height: number } = LAPTOP) => {
    const context = await newPerson(browser, size);
    contexts.push(context);
    return context;
  };
  const open = async (context: BrowserContext, path = '/') => {
    const tab = await ChatTab.open(context, app.httpUrl, path);
    tabs.push(tab);
    return tab;
  };

  /** The id of the Session the next socket gets, found by comparing the supervisor's children. */
  const sessionIds = async () => new Set((await app.sessions()).map((session) => session.id));
  const newSession = (known: Set<string>) =>
    eventually('a new session', async () => (await app.sessions()).find((session) => !known.has(session.id))?.id);

  before(async () => {
    app = await startTestApp();
    browser = await launchChromium(executable as string);
  });

  after(async () => {
    for (const tab of tabs) assert.deepEqual(tab.errors, [], `no script errors on ${tab.path}`);
    await browser?.close();
    await app?.stop();
  });

  // Alice is on a laptop, Bob on a phone; they stay in #general for the tests below.
  let alice: BrowserContext;
  let bob: BrowserContext;
  let aliceTab: ChatTab;
  let bobTab: ChatTab;

  test('landing page: username rules checked before asking the server, everyone listed live', async () => {
    const watcher = await open(await person());
    await watcher.waitForCounts('0 online · 0 total');
    await watcher.page.getByText('1 to 30 letters, digits').waitFor();

    // The client says what is wrong next to the field, and stays on the landing page.
    await watcher.fillSignIn('no spaces please', 'general');
    assert.match(await watcher.waitForFieldError('username', 'letters'), /only letters, digits/);
    assert.equal(watcher.path, '/');
    await watcher.fillSignIn('', 'general');
    assert.match(await watcher.waitForFieldError('username', 'Enter'), /Enter a username/);
    await watcher.fillSignIn('ok_name', 'Not A Room!');
    assert.match(await watcher.waitForFieldError('room', 'a-z'), /only a-z/);

    // Someone comes: the watcher sees them online, and offline once they leave.
    const dora = await open(await person());
    await dora.signIn('dora', 'general');
    await watcher.waitForPerson('dora', 'online');
    await watcher.waitForCounts('1 online · 1 total');
    await dora.page.getByRole('button', { name: 'Leave' }).click();
    await dora.page.waitForURL(`${app.httpUrl}/`);
    await watcher.waitForPerson('dora', 'offline');
    await watcher.waitForCounts('0 online · 1 total');
    await dora.page.close();
  });

  test('two people chat: each sees the other’s messages and presence', async () => {
    alice = await person(LAPTOP);
    bob = await person(PHONE);
    aliceTab = await open(alice);
    await aliceTab.signIn('alice', 'general');
    bobTab = await open(bob, '/rooms/general'); // straight to the room: the form asks the name, then comes back
    await bobTab.page.getByLabel('Room', { exact: true }).waitFor();
    assert.equal(await bobTab.page.getByLabel('Room', { exact: true }).inputValue(), 'general');
    await bobTab.signIn('bob', 'general');

    await aliceTab.waitForOnline('bob', 1);
    await bobTab.waitForOnline('alice', 1);

    await aliceTab.send('hello bob');
    await bobTab.waitForMessage('hello bob');
    await bobTab.send('hi alice, on my phone');
    await aliceTab.waitForMessage('hi alice, on my phone');

    const seenByAlice = await aliceTab.messages();
    assert.deepEqual(
      seenByAlice.map(({ author, body, deletable }) => ({ author, body, deletable })),
      [
        { author: 'alice', body: 'hello bob', deletable: true },
        { author: 'bob', body: 'hi alice, on my phone', deletable: false },
      ],
    );
    for (const message of seenByAlice) assert.ok(!Number.isNaN(Date.parse(message.time)), 'each message shows its time');
    assert.equal(await aliceTab.page.locator('#message-list time').first().innerText().then((text) => text.length > 0), true);
  });

  test('a second tab of the same person shows as two tabs, and as one again when closed', async () => {
    // Same context: same localStorage, so the same name and token, no form.
    const secondTab = await open(alice, '/rooms/general');
    await secondTab.page.getByRole('heading', { name: '#general' }).waitFor();
    await secondTab.waitForMessage('hi alice, on my phone');
    await bobTab.waitForOnline('alice', 2);
    await aliceTab.waitForOnline('alice', 2);
    await secondTab.page.close();
    await bobTab.waitForOnline('alice', 1);
  });

  test('a name another browser owns is refused, and the page says why', async () => {
    const impostor = await open(await person());
    await impostor.fillSignIn('Alice', 'general');
    const error = await impostor.waitForFieldError('username', 'taken');
    assert.match(error, /This name is taken by someone in another browser/);
    assert.equal(impostor.path, '/');
    await impostor.page.close();
  });

  test('HTML in a message is shown as text, never run', async () => {
    const evil = `<img src=x onerror="window.__pwned=1"><b>bold?</b><script>window.__pwned=2</script>`;
    await bobTab.send(evil);
    await aliceTab.waitForMessage(evil);
    const last = (await aliceTab.messages()).at(-1);
    assert.equal(last?.body, evil);
    for (const tab of [aliceTab, bobTab]) {
      assert.equal(await tab.page.locator('#message-list img, #message-list b, #message-list script').count(), 0);
      assert.equal(await tab.page.evaluate(() => (globalThis as { __pwned?: number }).__pwned), undefined);
    }
  });

  test('a message the server refuses keeps its text and shows the reason', async () => {
    const tooLong = 'x'.repeat(BODY_LIMIT + 1);
    await aliceTab.messageInput.fill(tooLong);
    await aliceTab.messageInput.press('Enter');
    await aliceTab.page.locator('#composer-error', { hasText: 'Not sent' }).waitFor();
    assert.match(await aliceTab.page.locator('#composer-error').innerText(), /at most 500 characters/);
    assert.equal(await aliceTab.messageInput.inputValue(), tooLong);
    await aliceTab.send('short enough');
    assert.equal(await aliceTab.page.locator('#composer-error').innerText(), '');
    await bobTab.waitForMessage('short enough');
  });

  test('own messages can be deleted, for everyone', async () => {
    await aliceTab.send('a typo');
    await bobTab.waitForMessage('a typo');
    const row = aliceTab.page.locator('#message-list > li').filter({ has: aliceTab.page.locator('.body').getByText('a typo', { exact: true }) });
    await row.getByRole('button', { name: /Delete/ }).click();
    await aliceTab.waitForMessageGone('a typo');
    await bobTab.waitForMessageGone('a typo');
  });

  test('screenshots of the landing page and the room, laptop and phone', async () => {
    await aliceTab.waitForOnline('bob', 1);
    await screenshot(aliceTab.page, 'room-laptop');
    await screenshot(bobTab.page, 'room-phone');
    const landingLaptop = await open(await person(LAPTOP));
    await landingLaptop.waitForPerson('alice', 'online');
    await screenshot(landingLaptop.page, 'landing-laptop');
    const landingPhone = await open(await person(PHONE));
    await landingPhone.waitForPerson('bob', 'online');
    await screenshot(landingPhone.page, 'landing-phone');
    await landingLaptop.page.close();
    await landingPhone.page.close();
  });

  test('room switching by URL, back button, and Leave', async () => {
    await aliceTab.page.goto(`${app.httpUrl}/rooms/random`);
    await aliceTab.page.getByRole('heading', { name: '#random' }).waitFor();
    await aliceTab.page.getByText('No messages in #random yet').waitFor();
    await bobTab.waitForOffline('alice');
    await aliceTab.page.goBack();
    await aliceTab.page.getByRole('heading', { name: '#general' }).waitFor();
    await aliceTab.waitForMessage('hello bob');
    await bobTab.waitForOnline('alice', 1);
    await aliceTab.page.getByRole('button', { name: 'Leave' }).click();
    await aliceTab.page.getByRole('heading', { name: 'Join a room' }).waitFor();
    assert.equal(aliceTab.path, '/');
    await bobTab.waitForOffline('alice');
    // Back in, by keyboard only: the name is remembered, Enter submits.
    await aliceTab.page.getByLabel('Room', { exact: true }).fill('general');
    await aliceTab.page.getByLabel('Room', { exact: true }).press('Enter');
    await aliceTab.page.waitForURL('**/rooms/general');
    await bobTab.waitForOnline('alice', 1);
  });

  test('signing in under another name in the same tab starts a fresh session', async () => {
    // The server binds a connection to one user, so the page reconnects before joining as someone else.
    const henry = await open(await person());
    await henry.signIn('henry', 'general');
    await bobTab.waitForOnline('henry', 1);
    await henry.page.getByRole('button', { name: 'Leave' }).click();
    await henry.page.getByRole('heading', { name: 'Join a room' }).waitFor();
    await henry.signIn('henry2', 'general');
    await henry.page.getByText('signed in as henry2').waitFor();
    await bobTab.waitForOnline('henry2', 1);
    await bobTab.waitForOffline('henry');
    await henry.send('now I am henry2');
    await bobTab.waitForMessage('now I am henry2');
    const mine = (await bobTab.messages()).find((message) => message.body === 'now I am henry2');
    assert.equal(mine?.author, 'henry2');
    await henry.page.close();
    await bobTab.waitForOffline('henry2');
  });

  test('older messages load when scrolling up', async () => {
    const [user] = await app.db.sql<{ id: string }[]>`INSERT INTO users (name) VALUES ('historian') RETURNING id`;
    assert.ok(user);
    await app.db.sql`
      INSERT INTO messages (room, user_id, body)
      SELECT 'history', ${user.id}, 'old message ' || n FROM generate_series(1, 560) AS n`;
    const reader = await open(await person(), '/');
    await reader.signIn('reader', 'history');
    await reader.waitForMessage('old message 560');
    assert.equal((await reader.messages()).length, 500);
    assert.equal((await reader.messages())[0]?.body, 'old message 61');

    const scrollToTop = () => reader.page.locator('#message-scroll').evaluate((box) => box.scrollTo(0, 0));
    await scrollToTop();
    await reader.waitForMessage('old message 11');
    await scrollToTop();
    await reader.waitForMessage('old message 1');
    await reader.page.getByText('This is the beginning of #history.').waitFor();
    const all = await reader.messages();
    assert.deepEqual(
      all.map((message) => message.body),
      Array.from({ length: 560 }, (_, i) => `old message ${i + 1}`),
    );
    await reader.page.close();
  });

  test('"reconnecting..." while the socket is down, then nothing lost or doubled', async () => {
    const eveContext = await person();
    const network = await NetworkSwitch.install(eveContext);
    const eve = await open(eveContext);
    await eve.signIn('eve', 'general');
    await eve.waitForMessage('short enough');
    assert.equal(await eve.connectionStatus(), null);

    await network.down();
    await eventually('the reconnecting notice', async () => ((await eve.connectionStatus()) === 'reconnecting...' ? true : undefined));
    await screenshot(eve.page, 'room-reconnecting');
    for (const body of ['while eve was away 1', 'while eve was away 2']) await bobTab.send(body);
    network.up();

    await eve.waitForMessage('while eve was away 2', 20_000);
    await eventually('the status line to clear', async () => ((await eve.connectionStatus()) === null ? true : undefined));
    await bobTab.send('after eve came back');
    await eve.waitForMessage('after eve came back');
    assertEachOnce(await eve.messages());
    assert.deepEqual(await eve.messages(), await bobTab.messages().then((list) => list.map((m) => ({ ...m, deletable: false }))));
    await eve.page.close();
  });

  test('a killed session actor: the page says so, rejoins, and shows every message exactly once', async () => {
    const known = await sessionIds();
    const frank = await open(await person());
    const frankSession = await newSession(known);
    await frank.signIn('frank', 'crashroom');
    const gina = await open(await person());
    await gina.signIn('gina', 'crashroom');
    await gina.send('before the crash 1');
    await gina.send('before the crash 2');
    await frank.waitForMessage('before the crash 2');

    await app.crashSession(frankSession);
    // The rejoin comes a second later (phoenix.js rejoinAfterMs): these land in that gap.
    await frank.page.locator('#notice', { hasText: 'restarted' }).waitFor();
    for (const body of ['during the restart 1', 'during the restart 2', 'during the restart 3']) await gina.send(body);
    await frank.waitForMessage('during the restart 3');
    await frank.page.locator('#notice', { hasText: 'back and caught up' }).waitFor();
    await screenshot(frank.page, 'room-session-restarted');

    await frank.send('frank is back');
    await gina.waitForMessage('frank is back');
    const shown = await frank.messages();
    assertEachOnce(shown);
    assert.deepEqual(
      shown.map((message) => message.body),
      ['before the crash 1', 'before the crash 2', 'during the restart 1', 'during the restart 2', 'during the restart 3', 'frank is back'],
    );
    await gina.waitForOnline('frank', 1);
  });
});

function assertEachOnce(messages: ReadonlyArray<{ id: number }>): void {
  const ids = messages.map((message) => message.id);
  assert.equal(new Set(ids).size, ids.length, `no message shown twice: ${ids.join(',')}`);
  assert.deepEqual(ids, [...ids].sort((a, b) => a - b), 'messages in id order');
}
