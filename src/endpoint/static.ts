import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { TemplatedApp } from '@btc-vision/uwebsockets.js';
import { fromRoot } from '../root.js';
import { sendJson } from './http.js';

/**
 * The browser client: a few static files read once at start, and the stock
 * phoenix.js from the installed `phoenix` package. No HTML is rendered per
 * request: every page path gets the same index.html.
 */
const web = (file: string) => fromRoot('src', 'web', file);
// Resolved as a browser's import would be (the package's ESM build), wherever npm put the package.
const phoenixJs = fileURLToPath(import.meta.resolve('phoenix'));

const ASSETS: ReadonlyArray<readonly [string, string, string]> = [
  ['/assets/app.js', web('app.js'), 'text/javascript; charset=utf-8'],
  ['/assets/style.css', web('style.css'), 'text/css; charset=utf-8'],
  ['/assets/phoenix.mjs', phoenixJs, 'text/javascript; charset=utf-8'],
];

function serve(app: TemplatedApp, path: string, body: Buffer, type: string): void {
  app.get(path, (res) => {
    res.cork(() => {
      res.writeStatus('200 OK').writeHeader('content-type', type).writeHeader('cache-control', 'no-cache').end(body);
    });
  });
}

/** How people sign in here, which the page follows: a name and a browser token (claimed or open), or a signed token. */
export interface PageMode {
  readonly names: 'claim' | 'open';
  readonly signed: boolean;
}

export function staticRoutes(app: TemplatedApp, mode: PageMode): void {
  for (const [path, file, type] of ASSETS) {
    if (existsSync(file)) serve(app, path, readFileSync(file), type);
  }
  const index = web('index.html');
  if (!existsSync(index)) return;
  const page = Buffer.from(
    readFileSync(index, 'utf8').replace('data-names="claim" data-auth="browser"', `data-names="${mode.names}" data-auth="${mode.signed ? 'jwt' : 'browser'}"`),
  );
  serve(app, '/', page, 'text/html; charset=utf-8');
  app.get('/rooms/:name', (res, req) => {
    const name = req.getParameter(0) ?? '';
    if (!/^[a-z0-9_-]{1,32}$/.test(name)) {
      sendJson(res, '404 Not Found', { error: 'not_found', reason: 'room names are 1 to 32 of a-z, 0-9, _ and -' });
      return;
    }
    res.cork(() => {
      res.writeStatus('200 OK').writeHeader('content-type', 'text/html; charset=utf-8').writeHeader('cache-control', 'no-cache').end(page);
    });
  });
}
