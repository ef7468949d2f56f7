import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import type { Logger } from 'pino';

/**
 * WORKERS=N: N node processes on one machine, one port, one database, so that
 * every core serves sockets. uWS listens with SO_REUSEPORT and the kernel
 * spreads new connections over the workers; the workers are a cluster like
 * any other (CLUSTER=1, each its own NODE_NAME). This primary process only
 * owns the database and keeps the workers running, as a one_for_one supervisor
 * of OS processes: a worker that dies is started again, up to 3 times in 5 s;
 * past that the primary gives up, stops the rest and exits non-zero. A worker
 * whose primary is gone stops by itself (main.ts, on 'disconnect').
 */

const MAX_RESTARTS = 3;
const PERIOD_MS = 5_000;

interface WorkersOptions {
  readonly count: number;
  readonly databaseUrl: string;
  readonly nodeName: string;
  readonly entry: string;
  readonly log: Logger;
  /** Called once when restart intensity was exceeded: the workers are being stopped. */
  readonly onGiveUp: (reason: string) => void;
}

interface Workers {
  /** SIGTERM to every worker; resolves when all exited (or were killed after `timeoutMs`). */
  stop(timeoutMs: number): Promise<void>;
}

export function startWorkers(options: WorkersOptions): Workers {
  const { log } = options;
  const children = new Map<number, ChildProcess>();
  const restarts: number[] = [];
  let stopping = false;

  const start = (index: number): void => {
    const nodeName = `${options.nodeName}-${index}`;
    const child = spawn(process.execPath, [...process.execArgv, options.entry], {
      env: { ...process.env, WORKERS: '1', CLUSTER: '1', DATABASE_URL: options.databaseUrl, NODE_NAME: nodeName },
      // The IPC channel is how a worker learns its primary died (SIGKILL included): it closes, and the worker stops its tree and exits.
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    children.set(index, child);
    log.info({ worker: index, node: nodeName, pid: child.pid }, 'worker started');
    child.once('exit', (code, signal) => {
      children.delete(index);
      if (stopping) return;
      const now = Date.now();
      restarts.push(now);
      while (restarts.length > 0 && (restarts[0] as number) < now - PERIOD_MS) restarts.shift();
      const reason = signal === null ? `exit code ${String(code)}` : `signal ${signal}`;
      if (restarts.length > MAX_RESTARTS) {
        log.error({ worker: index, reason, restarts: restarts.length }, 'workers exceeded their restart intensity; giving up');
        options.onGiveUp(`worker ${index} died (${reason}) more than ${MAX_RESTARTS} times in ${PERIOD_MS} ms`);
        return;
      }
      log.warn({ worker: index, reason, restarts: restarts.length }, 'worker died; starting it again');
      start(index);
    });
  };

  for (let index = 1; index <= options.count; index += 1) start(index);

  return {
    async stop(timeoutMs) {
      stopping = true;
      const exits = [...children.values()].map(async (child) => {
        if (child.exitCode !== null || child.signalCode !== null) return;
        const exited = once(child, 'exit');
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
        await exited;
        clearTimeout(timer);
      });
      await Promise.all(exits);
    },
  };
}
