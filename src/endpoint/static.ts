import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { webFile as web } from '../root.js';
import { file, json } from './http.js';
import type { Routes } from './route.js';

/**
 * The browser client: a few static files read once at start, and the stock
 * phoenix.js from the installed `phoenix` package. No HTML is rendered per
 * request: every page path gets the same index.html.
 */
// Resolved as a browser's import would be (the package's ESM build), wherever npm put the package.
const phoenixJs = fileURLToPath(import.meta.resolve('phoenix'));

const JS = 'text/javascript; charset=utf-8';

const ASSETS: ReadonlyArray<readonly [string, string, string]> = [
  ['/assets/app.js', web('app.js'), JS],
  ['/assets/style.css', web('style.css'), 'text/css; charset=utf-8'],
  ['/assets/phoenix.mjs', phoenixJs, JS],
];

// The modules /assets/app.js imports (relatively, so from /assets/app/). Listed once here, at start:
// a route per file found, so no request's path ever names a file.
const MODULES = web('app');

function moduleAssets(): Array<readonly [string, string, string]> {
  if (!existsSync(MODULES)) return [];
  return readdirSync(MODULES, { withFileTypes: true })
    .filter((entry) => entry.isFile() && entry.name.endsWith('.js'))
    .map((entry) => [`/assets/app/${entry.name}`, join(MODULES, entry.name), JS] as const);
}

/** How people sign in here, which the page follows: a name and a browser token (claimed or open), or a signed token. */
interface PageMode {
  readonly names: 'claim' | 'open';
  readonly signed: boolean;
}

const ROOM_NOT_FOUND = json('404 Not Found', { error: 'not_found', reason: 'room names are 1 to 32 of a-z, 0-9, _ and -' });

export function staticRoutes(routes: Routes, mode: PageMode): void {
  for (const [path, name, type] of [...ASSETS, ...moduleAssets()]) {
    if (!existsSync(name)) continue;
    const reply = file('asset', type, readFileSync(name));
    routes.get(path, () => reply);
  }
  const index = web('index.html');
  if (!existsSync(index)) return;
  const page = file(
    'chat_page',
    'text/html; charset=utf-8',
    Buffer.from(readFileSync(index, 'utf8').replace('data-names="claim" data-auth="browser"', `data-names="${mode.names}" data-auth="${mode.signed ? 'jwt' : 'browser'}"`)),
  );
  routes.get('/', () => page);
  routes.get('/rooms/:name', (req) => (/^[a-z0-9_-]{1,32}$/.test(req.getParameter(0) ?? '') ? page : ROOM_NOT_FOUND));
}
