import * as Repo from '../repo/repo.js';
import { json } from './http.js';
import type { Routes } from './route.js';
import { uwsBuild } from './uws.js';

const HEALTH_DB_TIMEOUT_MS = 1_000;

/** GET /health: 200 when the database answers, 503 (degraded) when not; what runs here either way. */
export function healthRoute(routes: Routes, nodeName: string, startedAt: number): void {
  routes.get('/health', async () => {
    const database = await Repo.ping(HEALTH_DB_TIMEOUT_MS);
    return json(database ? '200 OK' : '503 Service Unavailable', {
      status: database ? 'ok' : 'degraded',
      database,
      node: nodeName,
      uptime_s: Math.round((Date.now() - startedAt) / 1000),
      uws: uwsBuild(),
    });
  });
}
