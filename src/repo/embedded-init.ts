import { execFileSync } from 'node:child_process';
import { chownSync, existsSync, mkdirSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { err, ok, type Result } from '../../supervision/result.js';
import { inspectProcess } from './embedded-leftover.js';
import { run } from './embedded-server.js';
import type { RunAs } from './embedded-user.js';

/** Creating the cluster: initdb, as the user the server will run as. */

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
interface InitOptions {
  readonly initdb: string;
  readonly user: string;
  readonly password: string;
  readonly dataDir: string;
  /** Where the cluster ends up: `<dataDir>/pg`. */
  readonly pgDir: string;
  readonly runAs: RunAs;
  readonly disposable: boolean;
}

export async function initialise({ initdb, user, password, dataDir, pgDir, runAs, disposable }: InitOptions): Promise<Result<void, string>> {
  for (const entry of readdirSync(dataDir)) {
    const initialiser = Number(/^pg\.init-(\d+)(?:\.password)?$/.exec(entry)?.[1]);
    // A scratch cluster of a first run that was killed (whose pid may since be ours); one of another live process is its own business.
    if (initialiser === process.pid || (initialiser > 0 && !inspectProcess(initialiser).alive)) rmSync(join(dataDir, entry), { recursive: true, force: true });
  }
  const scratch = join(dataDir, `pg.init-${process.pid}`);
  const passwordFile = join(dataDir, `pg.init-${process.pid}.password`);
  mkdirSync(scratch, { mode: 0o700 });
  writeFileSync(passwordFile, password, { mode: 0o600 });
  if (runAs.uid !== undefined) for (const path of [scratch, passwordFile]) chownSync(path, runAs.uid, runAs.gid ?? runAs.uid);
  const made = await run(
    initdb,
    [
      '-D', scratch, '-U', user, `--pwfile=${passwordFile}`, '--auth=scram-sha-256',
      // The builtin collation provider (PostgreSQL 17) sorts and lower()s the same on every OS.
      '--encoding=UTF8', '--locale=C', `--lc-ctype=${utf8Ctype()}`, '--locale-provider=builtin', '--builtin-locale=C.UTF-8',
      ...(disposable ? ['--no-sync'] : []),
    ],
    runAs,
  );
  rmSync(passwordFile, { force: true });
  if (made.code !== 0) {
    rmSync(scratch, { recursive: true, force: true });
    return err(`initdb failed: ${made.output.split('\n').slice(-5).join(' | ')}`);
  }
  try {
    renameSync(scratch, pgDir);
  } catch (error) {
    // Another process initialised the same directory at the same time and won: use its cluster.
    rmSync(scratch, { recursive: true, force: true });
    if (!existsSync(join(pgDir, 'PG_VERSION'))) return err(`could not move the new cluster into ${pgDir}: ${error instanceof Error ? error.message : String(error)}`);
  }
  return ok(undefined);
}
