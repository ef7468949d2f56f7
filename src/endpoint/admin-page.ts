import { readFileSync } from 'node:fs';
import { webFile } from '../root.js';
import { file } from './http.js';
import type { Routes } from './route.js';
import type { ContentKind } from './security-headers.js';

/**
 * The admin page (src/web/admin.html + admin.js), in the spirit of Erlang's
 * observer and Phoenix LiveDashboard: charts, nodes, sessions, restarts, the
 * live tree, kill and kick buttons, chaos. Served without the
 * token: it holds no data, and every call it makes sends the token the person
 * typed (kept in sessionStorage, so it dies with the tab).
 */

const PAGES: ReadonlyArray<readonly [string, string, ContentKind, string]> = [
  ['/admin', 'admin.html', 'admin_page', 'text/html; charset=utf-8'],
  ['/assets/admin.js', 'admin.js', 'asset', 'text/javascript; charset=utf-8'],
  ['/assets/admin-chart.js', 'admin-chart.js', 'asset', 'text/javascript; charset=utf-8'],
];

export function adminPage(routes: Routes): void {
  for (const [path, name, kind, type] of PAGES) {
    const reply = file(kind, type, readFileSync(webFile(name)));
    routes.get(path, () => reply);
  }
}
