import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { readdirSync, readFileSync } from 'node:fs';
import { webFile } from '../src/root.js';
import { startTestApp, type TestApp } from './support/app.js';

/**
 * Every HTTP answer carries security headers, read here off real requests: the
 * pages a Content-Security-Policy that allows scripts from this server only and
 * no framing; everything nosniff and no-referrer. (test/browser.test.ts and
 * test/admin-page.test.ts show the pages still work under it in Chromium.)
 */

const TOKEN = 'security-headers-admin-token';

const directives = (csp: string | null): Map<string, string[]> =>
  new Map((csp ?? '').split(';').map((d) => d.trim().split(/\s+/)).filter((d) => d[0] !== '').map(([name, ...values]) => [name as string, values]));

describe('security headers', () => {
  let app: TestApp;
  before(async () => {
    app = await startTestApp({ env: { ADMIN_TOKEN: TOKEN } });
  });
  after(async () => {
    await app?.stop();
  });

  const get = (path: string, headers: Record<string, string> = {}) => fetch(`${app.httpUrl}${path}`, { headers });

  for (const path of ['/', '/rooms/lobby', '/admin']) {
    it(`${path}: scripts from self only, no inline script, never framed`, async () => {
      const response = await get(path);
      assert.equal(response.status, 200);
      const csp = directives(response.headers.get('content-security-policy'));
      assert.deepEqual(csp.get('script-src'), ["'self'"], 'no inline script, no eval, no other origin');
      assert.deepEqual(csp.get('default-src'), ["'self'"]);
      assert.deepEqual(csp.get('connect-src'), ["'self'"], 'the socket is this server');
      assert.deepEqual(csp.get('frame-ancestors'), ["'none'"]);
      assert.deepEqual(csp.get('object-src'), ["'none'"]);
      assert.deepEqual(csp.get('base-uri'), ["'none'"]);
      // Only the admin page keeps an inline <style> block.
      assert.deepEqual(csp.get('style-src'), path === '/admin' ? ["'self'", "'unsafe-inline'"] : ["'self'"]);
      assert.equal(response.headers.get('x-content-type-options'), 'nosniff');
      assert.equal(response.headers.get('referrer-policy'), 'no-referrer');
      // The policy fits the page: every script is a file from here, and no markup carries inline style or handlers.
      const html = await response.text();
      for (const tag of html.match(/<script\b[^>]*>/g) ?? []) assert.match(tag, /\ssrc="\/assets\/[a-z]+\.m?js"/, tag);
      assert.doesNotMatch(html, /\son[a-z]+=/i, 'no inline event handlers');
      if (path !== '/admin') assert.doesNotMatch(html, /\sstyle=|<style/i, 'no inline style');
    });
  }

  for (const [path, type] of [
    ['/assets/app.js', 'text/javascript; charset=utf-8'],
    ['/assets/phoenix.mjs', 'text/javascript; charset=utf-8'],
    ['/assets/style.css', 'text/css; charset=utf-8'],
    ['/assets/admin.js', 'text/javascript; charset=utf-8'],
    ['/assets/admin-chart.js', 'text/javascript; charset=utf-8'],
  ] as const) {
    it(`${path}: its own content type, nosniff`, async () => {
      const response = await get(path);
      assert.equal(response.status, 200);
      assert.equal(response.headers.get('content-type'), type);
      assert.equal(response.headers.get('x-content-type-options'), 'nosniff');
      assert.equal(response.headers.get('referrer-policy'), 'no-referrer');
    });
  }

  it('every module of the browser client (src/web/app/) is served under /assets/app/, as JavaScript, nosniff', async () => {
    const modules = readdirSync(webFile('app')).filter((name) => name.endsWith('.js'));
    assert.ok(modules.length >= 5, `modules: ${modules.join(', ')}`);
    for (const name of modules) {
      const response = await get(`/assets/app/${name}`);
      assert.equal(response.status, 200, name);
      assert.equal(response.headers.get('content-type'), 'text/javascript; charset=utf-8', name);
      assert.equal(response.headers.get('x-content-type-options'), 'nosniff', name);
      assert.equal(await response.text(), readFileSync(webFile(`app/${name}`), 'utf8'), name);
    }
    for (const path of ['/assets/app/nope.js', '/assets/app/..%2F..%2Fpackage.json', '/assets/app/']) assert.equal((await get(path)).status, 404, `${path}: no path from the request names a file`);
  });

  it('data answers (health, metrics, errors, admin API) are nosniff and never a document', async () => {
    const cases: Array<[string, Record<string, string>, number]> = [
      ['/health', {}, 200],
      ['/metrics', {}, 200],
      ['/nope', {}, 404],
      ['/rooms/NOT_A_ROOM!', {}, 404],
      ['/admin/tree', {}, 401],
      ['/admin/tree', { authorization: `Bearer ${TOKEN}` }, 200],
    ];
    for (const [path, headers, status] of cases) {
      const response = await get(path, headers);
      assert.equal(response.status, status, path);
      assert.equal(response.headers.get('x-content-type-options'), 'nosniff', path);
      assert.equal(response.headers.get('referrer-policy'), 'no-referrer', path);
      assert.equal(response.headers.get('content-security-policy'), "default-src 'none'; frame-ancestors 'none'", path);
      await response.arrayBuffer();
    }
  });
});
