import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { once } from 'node:events';
import { chmodSync, cpSync, existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import type { Browser, Response } from 'playwright-core';
import { ROOT } from '../src/root.js';
import { ChatTab, chromiumForSuite, launchChromium, newPerson } from './support/browser.js';

/**
 * A production install, step by step as the README gives it, on a copy of the
 * repository: npm ci, npm run build, npm prune --omit=dev, npm start. Then a
 * real browser uses the chat: every response the pages load must be 200.
 */

const run = promisify(execFile);
const { executable, skip } = chromiumForSuite();
const npm = (cwd: string, ...args: string[]) => run('npm', [...args, '--no-audit', '--no-fund'], { cwd, maxBuffer: 16 * 1024 * 1024 });

/** The repository as a clone would have it: tracked files and new ones not ignored. */
async function copyRepository(to: string): Promise<void> {
  const { stdout } = await run('git', ['ls-files', '-z', '--cached', '--others', '--exclude-standard'], { cwd: ROOT, maxBuffer: 16 * 1024 * 1024 });
  for (const file of stdout.split('\0').filter((f) => f !== '' && existsSync(join(ROOT, f)))) {
    mkdirSync(dirname(join(to, file)), { recursive: true });
    cpSync(join(ROOT, file), join(to, file));
  }
}

// npm start's own default: the embedded PostgreSQL, not the test run's database.
const withoutDatabaseUrl = () => Object.fromEntries(Object.entries(process.env).filter(([key]) => key !== 'DATABASE_URL'));

describe('a production install', { skip, timeout: 600_000 }, () => {
  const copy = mkdtempSync(join(tmpdir(), 'otp-chat-production-'));
  let server: ReturnType<typeof spawn> | undefined;
  let browser: Browser | undefined;
  const lines: string[] = [];

  before(async () => {
    // As a checkout would be: under root the embedded PostgreSQL runs as 'postgres', which must reach DATA_DIR.
    chmodSync(copy, 0o755);
    await copyRepository(copy);
    await npm(copy, 'ci', '--prefer-offline');
  });

  after(async () => {
    await browser?.close();
    if (server !== undefined && server.exitCode === null) {
      server.kill('SIGKILL');
      await once(server, 'exit');
    }
    rmSync(copy, { recursive: true, force: true });
  });

  it('builds to dist/ with source maps, then runs without dev dependencies', async () => {
    await npm(copy, 'run', 'build');
    for (const file of ['dist/src/main.js', 'dist/src/main.js.map', 'dist/src/cli/ctl.js', 'dist/src/cli/migrate.js', 'dist/src/cli/loadtest.js']) {
      assert.ok(existsSync(join(copy, file)), `${file} built`);
    }
    await npm(copy, 'prune', '--omit=dev');
    for (const gone of ['typescript', 'tsx', 'playwright-core', 'fast-check', '.bin/tsc']) {
      assert.ok(!existsSync(join(copy, 'node_modules', gone)), `${gone} pruned`);
    }
  });

  it('npm start serves a chat that works in a browser, every asset 200', async () => {
    server = spawn('npm', ['start'], {
      cwd: copy,
      env: { ...withoutDatabaseUrl(), PORT: '0', HOST: '127.0.0.1', LOG_PRETTY: '0', DATA_DIR: join(copy, '.data'), ADMIN_TOKEN: 'production-test-token' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const listening = new Promise<number>((resolve, reject) => {
      for (const stream of [server?.stdout, server?.stderr]) {
        if (stream === null || stream === undefined) continue;
        createInterface({ input: stream }).on('line', (line) => {
          lines.push(line);
          if (line.includes('"msg":"listening"')) resolve((JSON.parse(line) as { port: number }).port);
        });
      }
      server?.once('exit', (code) => reject(new Error(`npm start exited with ${String(code)}:\n${lines.join('\n')}`)));
    });
    const base = `http://127.0.0.1:${await listening}`;
    // It compiled nothing: the build above is what runs, TypeScript is gone.
    assert.ok(!lines.some((line) => line.startsWith('build: compiling')), lines.join('\n'));

    browser = await launchChromium(executable as string);
    const context = await newPerson(browser);
    const responses: Response[] = [];
    context.on('response', (response) => responses.push(response));
    const tab = await ChatTab.open(context, base, '/');
    await tab.signIn('prod_user', 'general');
    await tab.send('served from dist/');
    await tab.waitForMessage('served from dist/');
    const admin = await context.newPage();
    await admin.goto(`${base}/admin`);
    await admin.waitForLoadState('networkidle');

    const loaded = responses.filter((response) => response.url().startsWith(base)).map((response) => [new URL(response.url()).pathname, response.status()] as const);
    const paths = loaded.map(([path]) => path);
    for (const asset of ['/', '/assets/app.js', '/assets/style.css', '/assets/phoenix.mjs', '/admin', '/assets/admin.js']) assert.ok(paths.includes(asset), `${asset} loaded`);
    assert.deepEqual(
      loaded.filter(([, status]) => status !== 200),
      [],
      'every response the pages got is 200',
    );
    assert.deepEqual(tab.errors, []);
  });

  it('stops on SIGTERM with exit code 0', async () => {
    const pid = lines.map((line) => /"msg":"listening"/.test(line) && (JSON.parse(line) as { pid: number }).pid).find((p) => typeof p === 'number');
    assert.ok(typeof pid === 'number');
    // The node process itself, as a service manager would signal it; npm exits with its code.
    process.kill(pid, 'SIGTERM');
    const [code] = (await once(server as NonNullable<typeof server>, 'exit')) as [number | null];
    assert.equal(code, 0, lines.slice(-20).join('\n'));
  });
});
