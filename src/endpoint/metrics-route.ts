import { countChildren, mailboxLength, name, whereis, type SupervisorPid } from '../../supervision/index.js';
import { Metrics } from '../metrics/registry.js';
import * as Repo from '../repo/repo.js';
import type { Conns } from './conns.js';
import type { Routes } from './route.js';

/** Actors whose mailbox depth is exported: the shared ones every session goes through, and the Sessions supervisor. */
export const CORE_ACTORS = ['repo', 'pubsub', 'presence', 'sessions', 'http'] as const;
const STATS_TIMEOUT_MS = 1_000;

async function sessionCount(): Promise<number | undefined> {
  const sup = whereis(name('sessions'));
  if (sup === undefined) return undefined;
  const counts = await countChildren(sup as SupervisorPid);
  return counts.ok ? counts.value.active : undefined;
}

async function dbUse(): Promise<{ poolSize: number; inFlight: number; queued: number } | undefined> {
  const stats = await Promise.race([Repo.stats(), new Promise<undefined>((resolve) => setTimeout(() => resolve(undefined), STATS_TIMEOUT_MS).unref())]);
  if (stats === undefined || !stats.ok) return undefined;
  const { poolSize, running, queued, batchWaiting } = stats.value;
  return { poolSize, inFlight: running, queued: queued + batchWaiting };
}

/** Each core actor's mailbox depth now; undefined for one that is not running (restarting). */
export function mailboxes(): Record<(typeof CORE_ACTORS)[number], number | undefined> {
  return Object.fromEntries(CORE_ACTORS.map((actor) => [actor, mailboxLength(name(actor))])) as Record<(typeof CORE_ACTORS)[number], number | undefined>;
}

/** GET /metrics: Prometheus text. Gauges are read from the actors now; counters were summed as traffic flowed. */
export function metricsRoute(routes: Routes, conns: Conns): void {
  routes.get('/metrics', async () => {
    const [sessions, db] = await Promise.all([sessionCount(), dbUse()]);
    Metrics.sample({ socketsOpen: conns.size, sessions, mailboxes: mailboxes(), db });
    return { status: '200 OK', kind: 'data', contentType: Metrics.contentType, body: await Metrics.render() };
  });
}
