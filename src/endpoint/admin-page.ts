import { readFileSync } from 'node:fs';
import type { TemplatedApp } from '@btc-vision/uwebsockets.js';
import { fromRoot } from '../root.js';

/**
 * The admin page (src/web/admin.html + admin.js), in the spirit of Erlang's
 * observer: the live tree, restart counters, kill buttons. Served without the
 * token: it holds no data, and every call it makes sends the token the person
 * typed (kept in sessionStorage, so it dies with the tab).
 */
const web = (file: string) => fromRoot('src', 'web', file);

const PAGES: ReadonlyArray<readonly [string, string, string]> = [
  ['/admin', 'admin.html', 'text/html; charset=utf-8'],
  ['/assets/admin.js', 'admin.js', 'text/javascript; charset=utf-8'],
];

export function adminPage(app: TemplatedApp): void {
  for (const [path, file, type] of PAGES) {
    const body = readFileSync(web(file));
    app.get(path, (res) => {
      res.cork(() => {
        res
          .writeStatus('200 OK')
          .writeHeader('content-type', type)
          .writeHeader('cache-control', 'no-cache')
          // The page makes no calls but to this server, and has no inline script to inject into.
          .writeHeader('content-security-policy', "default-src 'self'; style-src 'self' 'unsafe-inline'")
          .end(body);
      });
    });
  }
}
