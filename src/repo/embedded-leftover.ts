import { existsSync, readdirSync, readFileSync, readlinkSync, realpathSync, rmSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { z } from 'zod';

/**
 * Who holds an embedded PostgreSQL data directory before we start a server on it.
 *
 * A run killed with SIGKILL has its PostgreSQL stopped by the watchdog
 * (embedded-watchdog.ts), but one killed with its watchdog, or an older version,
 * leaves it running, and postmaster.pid behind. PostgreSQL copes with a
 * dead pid by itself, but not with a pid that has since been reused by another
 * process of the `postgres` user (likely here, where every embedded server runs
 * as that user), and a live leftover keeps the directory and often the port.
 * Linux only: elsewhere we cannot see a process's directory and leave the
 * decision to PostgreSQL.
 */

export type Holder =
  | { readonly kind: 'free' }
  /** A server on this directory whose starter is still alive: not ours to stop. */
  | { readonly kind: 'in_use'; readonly pid: number; readonly owner: number }
  /** A server on this directory whose starter is gone. */
  | { readonly kind: 'leftover'; readonly pid: number; readonly port: number | undefined }
  /** postmaster.pid names a process that is dead or runs elsewhere, or none at all (a torn write). */
  | { readonly kind: 'stale_pid_file'; readonly pid: number | undefined };

/** Written next to the data directory at start: which process started which postmaster. */
export const ownerSchema = z.object({ node: z.number().int().positive(), postmaster: z.number().int().positive() });
export type Owner = z.infer<typeof ownerSchema>;

export function readOwner(file: string): Owner | undefined {
  try {
    const parsed = ownerSchema.safeParse(JSON.parse(readFileSync(file, 'utf8')));
    return parsed.success ? parsed.data : undefined;
  } catch {
    return undefined;
  }
}

/** postmaster.pid layout (as pg_ctl reads it): line 1 pid, line 4 port, line 8 status ("ready" once accepting connections). */
type PidFile = { readonly pid: number | undefined; readonly port: number | undefined; readonly ready: boolean };

export function readPostmasterPid(pgDir: string): PidFile | undefined {
  let text: string;
  try {
    text = readFileSync(`${pgDir}/postmaster.pid`, 'utf8');
  } catch {
    return undefined;
  }
  const lines = text.split('\n');
  const number = (line: string | undefined): number | undefined => {
    const value = Number(line);
    return Number.isInteger(value) && value > 0 ? value : undefined;
  };
  return { pid: number(lines[0]), port: number(lines[3]), ready: lines[7]?.trim() === 'ready' };
}

type Seen = { readonly alive: false } | { readonly alive: true; readonly cwd: string | undefined; readonly parent: number | undefined };

const hasProc = existsSync('/proc/self/stat');

/** A zombie counts as dead: an orphan's new parent may never reap it. */
export function inspectProcess(pid: number): Seen {
  if (!hasProc) {
    try {
      process.kill(pid, 0);
      return { alive: true, cwd: undefined, parent: undefined };
    } catch (error) {
      // EPERM: it exists but belongs to another user.
      const exists = error instanceof Error && 'code' in error && error.code === 'EPERM';
      return exists ? { alive: true, cwd: undefined, parent: undefined } : { alive: false };
    }
  }
  let stat: string;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return { alive: false };
  }
  // "pid (comm) state ppid ...": comm may hold spaces and parentheses, so read after the last ')'.
  const [state, ppid] = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  if (state === 'Z' || state === 'X') return { alive: false };
  let cwd: string | undefined;
  try {
    cwd = readlinkSync(`/proc/${pid}/cwd`);
  } catch {
    cwd = undefined;
  }
  return { alive: true, cwd, parent: Number(ppid) };
}

export function findHolder(pgDir: string, ownerFile: string): Holder {
  const pidFile = readPostmasterPid(pgDir);
  if (pidFile === undefined) return { kind: 'free' };
  const { pid, port } = pidFile;
  if (pid === undefined) return { kind: 'stale_pid_file', pid };
  const seen = inspectProcess(pid);
  if (!seen.alive) return { kind: 'stale_pid_file', pid };
  // Without /proc, or a process we may not look into, we cannot tell: let PostgreSQL judge its own lock file.
  if (!hasProc || seen.cwd === undefined) return { kind: 'free' };
  // The postmaster chdirs into its data directory, and so do all its children.
  if (seen.cwd !== realpathSync(pgDir)) return { kind: 'stale_pid_file', pid };
  const owner = readOwner(ownerFile);
  // pg_ctl starts the server in a session of its own: whose it is, is what the owner record says, while that process lives.
  // With no owner record (an older layout, which spawned it as a child), only an orphan of init is surely a leftover.
  if (owner === undefined) return seen.parent === 1 ? { kind: 'leftover', pid, port } : { kind: 'in_use', pid, owner: seen.parent ?? 0 };
  const owned = owner.postmaster === pid && inspectProcess(owner.node).alive;
  return owned ? { kind: 'in_use', pid, owner: owner.node } : { kind: 'leftover', pid, port };
}

export function removePidFile(pgDir: string): void {
  rmSync(`${pgDir}/postmaster.pid`, { force: true });
}

/**
 * After its postmaster was killed, its backends notice and exit on their own;
 * a new postmaster must not start on the directory before they have (we removed
 * the pid file PostgreSQL's own interlock reads). They live in the directory.
 */
export async function backendsGone(pgDir: string, withinMs: number): Promise<boolean> {
  if (!hasProc) return true;
  const dir = realpathSync(pgDir);
  const deadline = Date.now() + withinMs;
  for (;;) {
    const inside = readdirSync('/proc').filter((entry) => /^\d+$/.test(entry) && inspectProcess(Number(entry)).alive && cwdOf(entry) === dir);
    if (inside.length === 0) return true;
    if (Date.now() > deadline) return false;
    await sleep(50);
  }
}

function cwdOf(pid: string): string | undefined {
  try {
    return readlinkSync(`/proc/${pid}/cwd`);
  } catch {
    return undefined;
  }
}
