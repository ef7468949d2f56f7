import type { TemplatedApp } from '@btc-vision/uwebsockets.js';
import * as Repo from '../repo/repo.js';
import { sendJson, trackAbort } from './http.js';
import { uwsBuild } from './uws.js';

const HEALTH_DB_TIMEOUT_MS = 1_000;

/** GET /health: 200 when the database answers, 503 (degraded) when not; what runs here either way. */
export function healthRoute(app: TemplatedApp, nodeName: string, startedAt: number): void {
  app.get('/health', (res) => {
    const aborted = trackAbort(res);
    void Repo.ping(HEALTH_DB_TIMEOUT_MS).then((database) => {
      if (aborted()) return;
      sendJson(res, database ? '200 OK' : '503 Service Unavailable', {
        status: database ? 'ok' : 'degraded',
        database,
        node: nodeName,
        uptime_s: Math.round((Date.now() - startedAt) / 1000),
        uws: uwsBuild(),
      });
    });
  });
}
