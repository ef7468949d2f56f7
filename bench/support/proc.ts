import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';

/**
 * A server process's CPU time and memory, read from /proc: the whole process
 * (every thread: uWS, libuv, GC), whatever the other processes on this 2-core
 * machine are doing. CPU per delivery from these is robust where wall-clock
 * throughput is noisy.
 */

const ticksPerSecond = (() => {
  try {
    return Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
  } catch {
    return 100;
  }
})();

/**
 * `pid` and the Node processes it started (WORKERS=N: the workers serve, the
 * primary waits); the embedded PostgreSQL's processes are left out, as for a
 * single node.
 */
function serverProcesses(pid: number): number[] {
  const children = readdirSync(`/proc/${pid}/task`).flatMap((task) =>
    readFileSync(`/proc/${pid}/task/${task}/children`, 'utf8').split(' ').filter((id) => id !== '').map(Number),
  );
  const workers = children.filter((child) => {
    try {
      return readFileSync(`/proc/${child}/comm`, 'utf8').trim() === 'node';
    } catch {
      return false; // gone meanwhile
    }
  });
  return [pid, ...workers];
}

/** utime + stime of the server's processes, in microseconds (resolution: one clock tick, 10 ms here). */
export function cpuMicros(pid: number): number {
  return serverProcesses(pid).reduce((total, one) => total + processCpuMicros(one), 0);
}

function processCpuMicros(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // The command name (field 2) may contain spaces; fields after its closing paren are fixed.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const utime = Number(fields[11]);
  const stime = Number(fields[12]);
  return ((utime + stime) / ticksPerSecond) * 1e6;
}

/** VmRSS of the server's processes (as cpuMicros counts them), in bytes. */
export function rssBytes(pid: number): number {
  return serverProcesses(pid).reduce((total, one) => total + processRssBytes(one), 0);
}

function processRssBytes(pid: number): number {
  const match = /^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  if (match === null) throw new Error(`no VmRSS for pid ${pid}`);
  return Number(match[1]) * 1024;
}
