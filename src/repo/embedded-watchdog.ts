import { spawn } from 'node:child_process';
import type { Logger } from 'pino';

/**
 * Stops the postmaster when this node process dies, however it dies (SIGKILL
 * included): a shell holds a pipe from us, and its read ends when the kernel
 * closes our end. Then fast shutdown, and SIGKILL after 3 s. Its own process
 * group, so a terminal's Ctrl-C does not end it before us.
 */
const SCRIPT = [
  'cat >/dev/null',
  'kill -INT "$1" 2>/dev/null || exit 0',
  'i=0',
  'while kill -0 "$1" 2>/dev/null; do',
  '  i=$((i+1)); if [ "$i" -ge 30 ]; then kill -KILL "$1" 2>/dev/null; exit 0; fi',
  '  sleep 0.1',
  'done',
].join('\n');

export interface Watchdog {
  /** We stop the postmaster ourselves (or it is gone): the watchdog leaves without touching it. */
  release(): void;
}

export function startWatchdog(postmaster: number, log: Logger): Watchdog {
  const child = spawn('/bin/sh', ['-c', SCRIPT, 'pg-watchdog', String(postmaster)], { detached: true, stdio: ['pipe', 'ignore', 'ignore'] });
  child.once('error', (error) => log.error({ err: error }, 'the PostgreSQL watchdog could not start: a killed node would leave PostgreSQL running'));
  // Neither the pipe nor the child may keep our event loop alive.
  child.unref();
  child.stdin?.on('error', () => {});
  (child.stdin as { unref?: () => void } | null)?.unref?.();
  return { release: () => void child.kill('SIGKILL') };
}
