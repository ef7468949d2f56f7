import { readFileSync } from 'node:fs';

/**
 * How many worker processes and source addresses a run needs. The open-files
 * limit is per process (20,000 hard on this machine, root included), so sockets
 * are split over processes; each (source address, server address:port) pair
 * has ~28,000 ephemeral ports, so sockets are split over 127.0.0.x addresses.
 */

/** Sockets per worker when --workers is not given: well under the limit, and spreads the client's CPU. */
const DEFAULT_SOCKETS_PER_WORKER = 10_000;
/** Files a worker needs besides its sockets (node itself, the IPC channel, stdio, epoll, a margin). */
const FILES_PER_WORKER_OVERHEAD = 200;
/**
 * Sockets per source address, few enough that finding a free port stays cheap.
 * A socket bound to an address takes a port from half the ephemeral range (~14,000),
 * and when a node dies the ports of its dropped sockets sit in TIME_WAIT for 60 s
 * while they all reconnect: at 9,500 an address the kernel's search for a free
 * port took 82% of the load tester's CPU in the 19,000 storm, at 2,000 it takes 5%.
 */
const SOCKETS_PER_ADDRESS = 2_000;

interface FileLimit {
  readonly soft: number;
  readonly hard: number;
}

/** RLIMIT_NOFILE of this process, from /proc (Linux); undefined elsewhere. */
export function openFilesLimit(): FileLimit | undefined {
  try {
    const line = /^Max open files\s+(\S+)\s+(\S+)/m.exec(readFileSync('/proc/self/limits', 'utf8'));
    if (line === null) return undefined;
    const value = (text: string): number => (text === 'unlimited' ? Number.MAX_SAFE_INTEGER : Number(text));
    return { soft: value(line[1]!), hard: value(line[2]!) };
  } catch {
    return undefined;
  }
}

type WorkerLayout =
  | { ok: true; workers: number; socketsPerWorker: number; raiseSoftLimitTo: number | undefined }
  | { ok: false; error: string };

export function layoutWorkers(sockets: number, requested: number | undefined, limit: FileLimit | undefined): WorkerLayout {
  const workers = requested ?? Math.max(1, Math.ceil(sockets / DEFAULT_SOCKETS_PER_WORKER));
  const socketsPerWorker = Math.ceil(sockets / workers);
  const needed = socketsPerWorker + FILES_PER_WORKER_OVERHEAD;
  if (limit === undefined) return { ok: true, workers, socketsPerWorker, raiseSoftLimitTo: undefined };
  if (needed > limit.hard) {
    const enough = Math.ceil(sockets / (limit.hard - FILES_PER_WORKER_OVERHEAD));
    return {
      ok: false,
      error:
        `${socketsPerWorker.toLocaleString('en-US')} sockets per worker need about ${needed.toLocaleString('en-US')} open files, ` +
        `but the hard limit (RLIMIT_NOFILE) here is ${limit.hard.toLocaleString('en-US')} per process and cannot be raised from inside: ` +
        `use --workers ${enough} or more`,
    };
  }
  // The soft limit can be raised up to the hard one by the process itself: each worker does so at its start.
  return { ok: true, workers, socketsPerWorker, raiseSoftLimitTo: needed > limit.soft ? limit.hard : undefined };
}

/** 127.0.0.1 .. 127.0.0.N for an IPv4 loopback target; none (the kernel picks) for [::1]. */
export function sourceAddresses(sockets: number, targetHost: string): string[] {
  if (!/^127\./.test(targetHost)) return [];
  const count = Math.min(254, Math.max(1, Math.ceil(sockets / SOCKETS_PER_ADDRESS)));
  return Array.from({ length: count }, (_, i) => `127.0.0.${i + 1}`);
}
