import { existsSync, mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { chromium, type Browser, type BrowserContext, type Page, type WebSocketRoute } from 'playwright-core';

/**
 * Helpers for the end-to-end tests of the browser client (test/browser.test.ts):
 * a real headless Chromium driven by playwright-core, and a small page object
 * that reads the page the way a person would (visible text, labels), so the
 * tests say what a user sees.
 */

/** Where screenshots go; gitignored. */
export const OUTPUT_DIR = resolve('test-output');

/** The Debian `chromium` package, or whatever CHROMIUM_PATH names. */
export function findChromium(): string | undefined {
  const candidates = [
    process.env.CHROMIUM_PATH,
    '/usr/bin/chromium',
    '/usr/bin/chromium-browser',
    '/usr/bin/google-chrome-stable',
    '/usr/bin/google-chrome',
  ];
  return candidates.find((path): path is string => path !== undefined && path !== '' && existsSync(path));
}

/**
 * The browser a suite runs on, or why it is skipped: on a developer's machine
 * without Chromium the suite says so and skips; CI installs it, so there a
 * missing browser fails the run.
 */
export function chromiumForSuite(): { readonly executable: string; readonly skip: false } | { readonly executable: undefined; readonly skip: string } {
  const executable = findChromium();
  if (executable !== undefined) return { executable, skip: false };
  const missing = 'no Chromium executable found (looked at CHROMIUM_PATH, /usr/bin/chromium, chromium-browser, google-chrome): apt-get install -y chromium';
  if (process.env.CI === 'true') throw new Error(missing);
  return { executable, skip: missing };
}

// Flags for a container without a GPU, a sandbox or network beyond localhost.
const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

/** Playwright gives the browser a fresh temporary profile; each context is a fresh, isolated one. */
export function launchChromium(executablePath: string): Promise<Browser> {
  return chromium.launch({ executablePath, headless: true, args: CHROMIUM_ARGS, timeout: 30_000 });
}

export const LAPTOP = { width: 1280, height: 800 } as const;
export const PHONE = { width: 390, height: 844 } as const;

/** A fresh browser profile (its own localStorage, so its own token): one "person". */
export function newPerson(browser: Browser, size: { width: number; height: number } = LAPTOP): Promise<BrowserContext> {
  const phone = size.width < 600;
  return browser.newContext({ viewport: size, isMobile: phone, hasTouch: phone, deviceScaleFactor: phone ? 2 : 1 });
}

export async function screenshot(page: Page, name: string): Promise<string> {
  mkdirSync(OUTPUT_DIR, { recursive: true });
  const path = join(OUTPUT_DIR, `${name}.png`);
  await page.screenshot({ path });
  return path;
}

export interface ShownMessage {
  readonly id: number;
  readonly author: string;
  readonly body: string;
  readonly time: string;
  readonly deletable: boolean;
}

/** One tab of the chat. Page errors are collected so a test can check there were none. */
export class ChatTab {
  readonly errors: string[] = [];

  constructor(
    readonly page: Page,
    readonly baseUrl: string,
  ) {
    page.on('pageerror', (error) => this.errors.push(error.message));
  }

  static async open(context: BrowserContext, baseUrl: string, path = '/'): Promise<ChatTab> {
    const tab = new ChatTab(await context.newPage(), baseUrl);
    await tab.page.goto(`${baseUrl}${path}`);
    return tab;
  }

  get path(): string {
    return new URL(this.page.url()).pathname;
  }

  /** Fills the landing form as a person would (by label) and waits until the room is open. */
  async signIn(username: string, room: string): Promise<void> {
    await this.fillSignIn(username, room);
    await this.page.waitForURL(`**/rooms/${room}`);
    await this.page.getByRole('heading', { name: `#${room}` }).waitFor();
  }

  async fillSignIn(username: string, room: string): Promise<void> {
    await this.page.getByLabel('Username', { exact: true }).fill(username);
    await this.page.getByLabel('Room', { exact: true }).fill(room);
    await this.page.getByRole('button', { name: 'Enter room' }).click();
  }

  fieldError(field: 'username' | 'room'): Promise<string> {
    return this.page.locator(`#${field}-error`).innerText();
  }

  async waitForFieldError(field: 'username' | 'room', includes: string): Promise<string> {
    await this.page.locator(`#${field}-error`, { hasText: includes }).waitFor();
    return this.fieldError(field);
  }

  get messageInput() {
    return this.page.getByPlaceholder('type your message here...');
  }

  /** Types a message and presses Enter; resolves once the server accepted it (the input clears). */
  async send(body: string): Promise<void> {
    await this.messageInput.fill(body);
    await this.messageInput.press('Enter');
    const outcome = await eventually(`the server to accept "${body.slice(0, 40)}"`, async () => {
      if ((await this.messageInput.inputValue()) === '') return 'sent';
      const error = await this.page.locator('#composer-error').innerText();
      return error === '' ? undefined : error;
    });
    if (outcome !== 'sent') throw new Error(`message refused: ${outcome}`);
  }

  async messages(): Promise<ShownMessage[]> {
    return this.page.$$eval('#message-list > li', (items) =>
      items.map((item) => ({
        id: Number(item.getAttribute('data-id')),
        author: item.querySelector('.author')?.textContent ?? '',
        body: item.querySelector('.body')?.textContent ?? '',
        time: item.querySelector('time')?.getAttribute('datetime') ?? '',
        deletable: item.querySelector('button.delete') !== null,
      })),
    );
  }

  /** Waits until a message with exactly this body is shown. */
  async waitForMessage(body: string, timeout = 10_000): Promise<void> {
    await this.page.locator('#message-list .body').getByText(body, { exact: true }).first().waitFor({ timeout });
  }

  async waitForMessageGone(body: string): Promise<void> {
    await this.page.locator('#message-list .body').getByText(body, { exact: true }).waitFor({ state: 'detached' });
  }

  /** The room's online list: name -> tabs open. */
  async online(): Promise<Map<string, number>> {
    const rows = await this.page.$$eval('#online-list > li', (items) =>
      items.map((item) => [item.querySelector('.name')?.textContent ?? '', item.querySelector('.tabs')?.textContent ?? ''] as const),
    );
    return new Map(rows.map(([name, tabs]) => [name, Number.parseInt(tabs, 10)]));
  }

  async waitForOnline(name: string, tabs: number, timeout = 10_000): Promise<void> {
    const label = tabs === 1 ? '1 tab' : `${tabs} tabs`;
    await this.page
      .locator('#online-list > li')
      .filter({ has: this.page.locator('.name').getByText(name, { exact: true }) })
      .filter({ has: this.page.locator('.tabs').getByText(label, { exact: true }) })
      .waitFor({ timeout });
  }

  async waitForOffline(name: string): Promise<void> {
    await this.page
      .locator('#online-list > li')
      .filter({ has: this.page.locator('.name').getByText(name, { exact: true }) })
      .waitFor({ state: 'detached' });
  }

  /** The landing page's people list: name -> 'online' | 'offline'. */
  async people(): Promise<Map<string, string>> {
    const rows = await this.page.$$eval('#people-list > li', (items) =>
      items.map((item) => [item.querySelector('.name')?.textContent ?? '', item.querySelector('.state')?.textContent ?? ''] as const),
    );
    return new Map(rows);
  }

  async waitForPerson(name: string, state: 'online' | 'offline'): Promise<void> {
    await this.page
      .locator('#people-list > li')
      .filter({ has: this.page.locator('.name').getByText(name, { exact: true }) })
      .filter({ has: this.page.locator('.state').getByText(state, { exact: true }) })
      .waitFor();
  }

  async waitForCounts(text: string): Promise<void> {
    await this.page.locator('#people-counts').getByText(text, { exact: true }).waitFor();
  }

  connectionStatus(): Promise<string | null> {
    return this.page.locator('#conn-status').evaluate((node) => (node.hasAttribute('hidden') ? null : node.textContent));
  }
}

/**
 * Lets a test take one browser context's network down: every WebSocket of the
 * context goes through playwright's route (page.routeWebSocket), so the test can
 * cut the live ones and refuse new ones until it says the network is back.
 * (context.setOffline does not close a WebSocket that is already open.)
 */
export class NetworkSwitch {
  private offline = false;
  private readonly live = new Set<WebSocketRoute>();

  static async install(context: BrowserContext): Promise<NetworkSwitch> {
    const network = new NetworkSwitch();
    await context.routeWebSocket(/\/socket\/websocket/, (ws) => network.route(ws));
    return network;
  }

  private route(ws: WebSocketRoute): void {
    if (this.offline) {
      void ws.close({ code: 1001, reason: 'offline' }).catch(() => {});
      return;
    }
    ws.connectToServer();
    this.live.add(ws);
    ws.onClose(() => this.live.delete(ws));
  }

  async down(): Promise<void> {
    this.offline = true;
    await Promise.all([...this.live].map((ws) => ws.close({ code: 1001, reason: 'network down' }).catch(() => {})));
    this.live.clear();
  }

  up(): void {
    this.offline = false;
  }
}

/** Polls `check` until it returns a value other than undefined (or throws with `what`). */
export async function eventually<T>(what: string, check: () => Promise<T | undefined>, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolveWait) => setTimeout(resolveWait, 50));
  }
}
