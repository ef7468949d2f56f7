import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { SignJWT } from 'jose';
import type { Browser, BrowserContext } from 'playwright-core';
import { z } from 'zod';
import { startTestApp, type TestApp } from './support/app.js';
import { ChatTab, chromiumForSuite, eventually, launchChromium, newPerson, PHONE, screenshot } from './support/browser.js';

/**
 * The browser client in each way of signing in, in real Chromium: a name
 * another browser owns (NAMES=claim), a name held while online (NAMES=open), a
 * signed token from the application (no name form), and a send whose reply was
 * lost, retried with its nonce and stored once. Screenshots go to test-output/.
 */

const { executable, skip } = chromiumForSuite();

describe('browser client: names and tokens', { skip, timeout: 300_000 }, () => {
  let browser: Browser;
  const contexts: BrowserContext[] = [];
  const tabs: ChatTab[] = [];
  const person = async (size?: { width: number; height: number }) => {
    const context = await newPerson(browser, size);
    contexts.push(context);
    return context;
  };
  const open = async (app: TestApp, context: BrowserContext, path = '/') => {
    const tab = await ChatTab.open(context, app.httpUrl, path);
    tabs.push(tab);
    return tab;
  };

  /** The application with `env`, for one describe; its browser contexts close before it stops. */
  const appWith = (env: Record<string, string>): (() => TestApp) => {
    let app: TestApp | undefined;
    before(async () => {
      app = await startTestApp({ env });
    });
    after(async () => {
      for (const context of contexts.splice(0)) await context.close();
      await app?.stop();
    });
    return () => {
      assert.ok(app, 'the application is running');
      return app;
    };
  };

  before(async () => {
    browser = await launchChromium(executable as string);
  });
  after(async () => {
    for (const tab of tabs) assert.deepEqual(tab.errors, [], `no script errors on ${tab.path}`);
    await browser?.close();
  });

  describe('NAMES=claim', () => {
    const app = appWith({});

    test('a name another browser signed in with is taken, even once it has left', async () => {
      const first = await open(app(), await person());
      await first.signIn('claire', 'general');
      await first.send('my name now');
      await first.page.close();
      const other = await open(app(), await person(PHONE));
      await other.fillSignIn('claire', 'general');
      const error = await other.waitForFieldError('username', 'taken');
      assert.match(error, /This name is taken by someone in another browser\. Pick another name\./);
      assert.equal(other.path, '/');
      await screenshot(other.page, 'claim-name-taken-phone');
    });

    test('a send whose reply was lost is sent again with its nonce: shown once, stored once', async () => {
      const context = await person();
      // The first reply to a new_msg never reaches the page, as when a connection drops right after the server stored it.
      const sentNonces: string[] = [];
      let dropped = false;
      await context.routeWebSocket(/\/socket\/websocket/, (ws) => {
        const server = ws.connectToServer();
        const pushes = new Map<string, string>();
        ws.onMessage((message) => {
          const frame = z.tuple([z.unknown(), z.string().nullable(), z.string(), z.string(), z.record(z.string(), z.unknown())]).safeParse(JSON.parse(String(message)));
          if (frame.success && frame.data[3] === 'new_msg' && frame.data[1] !== null) {
            pushes.set(frame.data[1], String(frame.data[4]['nonce']));
            sentNonces.push(String(frame.data[4]['nonce']));
          }
          server.send(message);
        });
        server.onMessage((message) => {
          const frame = z.tuple([z.unknown(), z.string().nullable(), z.string(), z.literal('phx_reply'), z.unknown()]).safeParse(JSON.parse(String(message)));
          if (!dropped && frame.success && frame.data[1] !== null && pushes.has(frame.data[1])) {
            dropped = true;
            return;
          }
          ws.send(message);
        });
      });
      const tab = await open(app(), context);
      await tab.signIn('rita', 'retries');
      await tab.messageInput.fill('sent through a lost reply');
      await tab.messageInput.press('Enter');
      await tab.page.locator('#composer-error', { hasText: 'trying again' }).waitFor({ timeout: 15_000 });
      // Accepted on the retry: the input clears.
      await eventually('the retry to be accepted', async () => ((await tab.messageInput.inputValue()) === '' ? true : undefined), 20_000);
      await tab.waitForMessage('sent through a lost reply');
      assert.equal((await tab.messages()).filter((m) => m.body === 'sent through a lost reply').length, 1);
      assert.equal(sentNonces.length, 2, 'sent twice');
      assert.equal(sentNonces[0], sentNonces[1], 'with the same nonce');
      const [row] = await app().db.sql`SELECT count(*) AS n FROM messages WHERE body = 'sent through a lost reply'`;
      assert.equal(Number(row?.['n']), 1);
      assert.equal(await tab.page.locator('#composer-error').innerText(), '');
    });
  });

  describe('a lobby of many users', () => {
    const app = appWith({});

    test('the landing page lists the 200 seen most recently, the total, and pages back on request', async () => {
      await app().db.sql`INSERT INTO users (name, last_seen_at) SELECT 'someone' || n, now() - n * interval '1 minute' FROM generate_series(1, 230) n`;
      const tab = await open(app(), await person());
      await tab.waitForCounts('0 online · 230 total');
      assert.equal((await tab.people()).size, 200);
      assert.ok((await tab.people()).has('someone1') && !(await tab.people()).has('someone230'), 'the most recently seen first');
      await tab.page.getByRole('button', { name: 'Show more people' }).click();
      await tab.page.getByRole('button', { name: 'Show more people' }).waitFor({ state: 'hidden' });
      assert.equal((await tab.people()).size, 230);
      await screenshot(tab.page, 'lobby-paged');
    });
  });

  describe('NAMES=open', () => {
    const app = appWith({ NAMES: 'open' });

    test('a name online in another browser is refused until they leave, and the page says so', async () => {
      const first = await open(app(), await person());
      await first.signIn('oscar', 'general');
      const other = await open(app(), await person());
      await other.fillSignIn('oscar', 'general');
      assert.match(await other.waitForFieldError('username', 'in use'), /in use right now by someone in another browser\. Pick another name, or wait until they leave\./);
      await screenshot(other.page, 'open-name-in-use');
    });
  });

  describe('signed tokens (AUTH_JWT_SECRET)', () => {
    const secret = 'the-application-secret-of-32-bytes-or-more';
    const app = appWith({ AUTH_JWT_SECRET: secret });

    test('opened with #token=<jwt>: no name form, signed in as the token says, chatting', async () => {
      const token = await new SignJWT({ sub: 'acct-1', name: 'Grace' }).setProtectedHeader({ alg: 'HS256' }).setExpirationTime('1h').sign(new TextEncoder().encode(secret));
      const tab = await open(app(), await person(), `/#token=${token}`);
      await tab.page.locator('#whoami', { hasText: 'signed in as Grace' }).waitFor();
      assert.equal(await tab.page.getByLabel('Username', { exact: true }).isVisible(), false, 'no name to pick');
      assert.equal(new URL(tab.page.url()).hash, '', 'the token is not left in the address bar');
      await screenshot(tab.page, 'signed-landing');
      await tab.page.getByLabel('Room', { exact: true }).fill('signed');
      await tab.page.getByRole('button', { name: 'Enter room' }).click();
      await tab.page.getByRole('heading', { name: '#signed' }).waitFor();
      await tab.send('hello from an account');
      const shown = (await tab.messages()).find((m) => m.body === 'hello from an account');
      assert.equal(shown?.author, 'Grace');
      // A reload keeps the tab signed in (the token stays in the tab's sessionStorage).
      await tab.page.reload();
      await tab.page.getByRole('heading', { name: '#signed' }).waitFor();
      await tab.waitForMessage('hello from an account');
      await screenshot(tab.page, 'signed-room');
    });

    test('opened without a token: the page says to come from the application', async () => {
      const tab = await open(app(), await person());
      await tab.page.locator('#notice', { hasText: 'You are not signed in' }).waitFor();
    });
  });
});
