import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { us_listen_socket } from '@btc-vision/uwebsockets.js';
import { pino } from 'pino';
import { json, type Reply } from '../src/endpoint/http.js';
import { routes } from '../src/endpoint/route.js';
import { uws } from '../src/endpoint/uws.js';
import { eventually } from './support/probe.js';

/**
 * The route guard on a real uWS app on a free port, with routes made to fail
 * the ways handlers do: each answers 500 with a JSON body, the request never
 * hangs, the process goes on, and an aborted request is never written to.
 */

describe('every route answers, whatever its handler does', () => {
  const lines: Array<Record<string, unknown>> = [];
  const log = pino({ level: 'debug' }, { write: (line: string) => void lines.push(JSON.parse(line) as Record<string, unknown>) });
  let listenSocket: us_listen_socket | undefined;
  let url = '';
  let release: ((reply: Reply) => void) | undefined;

  before(async () => {
    const app = uws().App();
    const r = routes(app, log);
    r.get('/sync-throw', () => {
      throw new Error('a bug in a handler');
    });
    r.get('/reject', async () => {
      await Promise.resolve();
      throw new Error('a rejected promise');
    });
    r.get('/throw-string', () => {
      throw 'not even an Error';
    });
    r.get('/bigint', () => json('200 OK', { n: 10n }));
    r.get('/dependency', () => Promise.reject(new Error('its dependency is gone')));
    r.get('/slow', () => new Promise<Reply>((resolve) => (release = resolve)));
    r.get('/ok', () => json('200 OK', { fine: true }));
    r.post('/post-throw', () => {
      throw new TypeError('posted');
    });
    listenSocket = await new Promise<us_listen_socket>((resolve, reject) =>
      app.listen('127.0.0.1', 0, (socket) => (socket === false ? reject(new Error('no port')) : resolve(socket))),
    );
    url = `http://127.0.0.1:${uws().us_socket_local_port(listenSocket)}`;
  });
  after(() => {
    if (listenSocket !== undefined) uws().us_listen_socket_close(listenSocket);
  });

  for (const [method, path] of [
    ['GET', '/sync-throw'],
    ['GET', '/reject'],
    ['GET', '/throw-string'],
    ['GET', '/bigint'],
    ['GET', '/dependency'],
    ['POST', '/post-throw'],
  ] as const) {
    it(`${method} ${path}: 500 with a JSON body, logged with the route and its stack`, async () => {
      const before = lines.length;
      const response = await fetch(`${url}${path}`, { method, signal: AbortSignal.timeout(5_000) });
      assert.equal(response.status, 500);
      assert.equal(response.headers.get('content-type'), 'application/json');
      assert.equal(response.headers.get('x-content-type-options'), 'nosniff');
      assert.deepEqual(await response.json(), { error: 'internal_error', reason: 'the server failed to answer; this was logged' });
      const logged = lines.slice(before).find((line) => line['reason'] === 'route_failed');
      assert.equal(logged?.['route'], `${method} ${path}`);
      assert.equal(logged?.['level'], 50);
    });
  }

  it('the error is in the log with its stack, not in the answer', () => {
    const logged = lines.find((line) => line['route'] === 'GET /sync-throw');
    assert.match(String((logged?.['err'] as { stack?: string } | undefined)?.stack), /a bug in a handler[\s\S]*http-guard/);
  });

  it('a client that goes away before a slow answer: nothing is written to its dead response, the server goes on', async () => {
    const controller = new AbortController();
    const request = fetch(`${url}/slow`, { signal: controller.signal }).catch((error: unknown) => error);
    await eventually(() => release !== undefined, 5_000);
    controller.abort();
    await request;
    await eventually(() => lines.some((line) => line['msg'] === 'client went away before the answer'), 5_000);
    release?.(json('200 OK', { late: true }));
    // A failing one after it, then a good one: both answered, so the process and the app are fine.
    assert.equal((await fetch(`${url}/reject`)).status, 500);
    const ok = await fetch(`${url}/ok`);
    assert.deepEqual([ok.status, await ok.json()], [200, { fine: true }]);
    assert.equal(lines.filter((line) => line['reason'] === 'write_failed').length, 0);
  });
});
