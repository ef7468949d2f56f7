import type { Logger } from 'pino';
import { rootParent, startSupervisor, type ChildSpec, type StartError, type SupervisorPid } from '../supervision/index.js';
import type { Result } from '../supervision/result.js';
import type { Config } from './config.js';
import { APP, restartAllSessions } from './endpoint/operations.js';
import { conns } from './endpoint/conns.js';
import { endpointSpec } from './endpoint/endpoint.js';
import { observerSpec } from './endpoint/observer.js';
import { describeMigrationError, migrate } from './repo/migrations.js';
import { Metrics } from './metrics/registry.js';
import { presenceSpec } from './presence/presence.js';
import { commitNotify, postgresAdapter } from './pubsub/postgres-adapter.js';
import * as Accounts from './chat/accounts.js';
import * as Messages from './chat/messages.js';
import * as Rooms from './chat/rooms.js';
import * as PubSub from './pubsub/pubsub.js';
import { pubsubSpec } from './pubsub/pubsub.js';
import { repoSpec, type RepoArgs } from './repo/repo.js';
import { forgetAllHistory } from './transport/room-history.js';

/**
 * The whole supervision tree on one screen.
 *
 *   app (rest_for_one: each child depends on those before it)
 *   ├── database       without DATABASE_URL: one_for_one supervisor of the embedded PostgreSQL (restarted without the rest)
 *   ├── repo           postgres.js pool; migrations at start; group commit
 *   ├── pubsub         topic -> subscribers; socket fastlane; CLUSTER=1: across nodes over LISTEN/NOTIFY
 *   ├── presence       who is online per topic; merged presence_diff broadcasts, summaries for large rooms, the rooms directory; CLUSTER=1: replicated
 *   ├── endpoint       uWS listen socket, HTTP routes
 *   └── observer       samples the node once a second for the admin page's charts (and other nodes'); chaos
 */
const GAP = 'broadcasts from other nodes were lost while LISTEN was down; rejoin and catch up';

/** After a LISTEN gap the history held for joins may lack what was said meanwhile: dropped before anyone rejoins. */
function closeGap(): void {
  forgetAllHistory();
  void restartAllSessions(conns, GAP);
}

/**
 * The Repo's sink: a stored message is announced to its room. On one node
 * through PubSub once committed; with CLUSTER=1 as NOTIFYs inside the
 * transaction that stores it, which PubSub on every node delivers.
 */
function committedTo(inCommit: ReturnType<typeof commitNotify> | undefined): Pick<RepoArgs, 'onCommitted' | 'notifyInCommit'> {
  if (inCommit === undefined) return { onCommitted: (rows) => rows.forEach((row) => PubSub.publish(Messages.announcement(row))) };
  return { notifyInCommit: { channel: inCommit.channel, payloads: (rows) => rows.flatMap((row) => inCommit.encode(Messages.announcement(row))) } };
}

function children(config: Config, databaseUrl: string, nodeName: string, database: readonly ChildSpec[] = []): ChildSpec[] {
  const startedAt = Date.now();
  return [
    ...database,
    repoSpec({
      url: databaseUrl,
      poolSize: config.DB_POOL_SIZE,
      timeoutMs: config.DB_TIMEOUT_MS,
      onStart: async (sql, log) => {
        const migrated = await migrate(sql, { log });
        return migrated.ok ? migrated : { ok: false, error: describeMigrationError(migrated.error) };
      },
      ...committedTo(config.CLUSTER ? commitNotify(nodeName) : undefined),
    }),
    pubsubSpec(config.CLUSTER ? { adapter: (log) => postgresAdapter({ url: databaseUrl, node: nodeName, log, onGap: closeGap }) } : {}),
    presenceSpec({
      node: nodeName,
      batchMs: config.PRESENCE_BATCH_MS,
      // The lobby is everyone online: as big as the server.
      sizing: { prefixes: [Messages.ROOM_PREFIX, Accounts.USERS_TOPIC], fullLimit: config.PRESENCE_FULL_LIMIT },
      // The landing page's rooms: counted from the rooms' presences, told to the lobby.
      directory: { prefix: Messages.ROOM_PREFIX, topic: Accounts.USERS_TOPIC, limit: Rooms.LISTED_ROOMS, seed: () => Rooms.lastActivity() },
      ...(config.CLUSTER ? { cluster: { heartbeatMs: config.PRESENCE_HEARTBEAT_MS, timeoutMs: config.NODE_TIMEOUT_MS } } : {}),
    }),
    endpointSpec({ config, nodeName, startedAt }),
    // Last: a crash of it restarts nothing else (rest_for_one).
    observerSpec({ node: nodeName, conns }),
  ];
}

export function startApplication(
  config: Config,
  log: Logger,
  databaseUrl: string,
  nodeName: string,
  database: readonly ChildSpec[] = [],
): Promise<Result<SupervisorPid, StartError>> {
  return startSupervisor(children(config, databaseUrl, nodeName, database), {
    // Every restart and give-up in the tree is counted for /metrics.
    parent: { ...rootParent(log), observer: Metrics.supervisorEvent },
    id: 'app',
    // Registered so the admin API can reach the tree's root.
    register: APP.registered,
    strategy: 'rest_for_one',
    maxRestarts: 3,
    periodMs: 5_000,
  });
}
