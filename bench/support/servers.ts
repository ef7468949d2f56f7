import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { createServer } from 'node:net';
import { rmSync } from 'node:fs';
import { resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { z } from 'zod';

/**
 * The two servers the bench compares, each in its own process so /proc tells
 * their CPU and memory apart: the chat server as `npm start` runs it (embedded
 * PostgreSQL, in its own processes, not counted) and the raw uWS baseline.
 */

/** The chat server's ADMIN_TOKEN in the bench (announcements, kills); the raw baseline takes any. */
export const BENCH_ADMIN_TOKEN = 'bench-admin-token-0123456789';

export interface BenchServer {
  readonly name: string;
  readonly pid: number;
  readonly httpUrl: string;
  /** The uWS build it runs, as its /health names it. */
  readonly uws: string;
  /** Keeps the messages (the chat server), so a join's reply holds the room's history; the raw baseline keeps none. */
  readonly stores: boolean;
  stop(): Promise<void>;
}

/** A server that can be killed as a crash kills it and started again where it was. */
export interface ChatServer extends BenchServer {
  /** SIGKILL (with WORKERS=N, of the primary: its workers follow); resolves once the process has exited. */
  kill(): Promise<void>;
  /** Starts it again after `kill`, on the same port and data directory (its database too); resolves once it listens. */
  restart(): Promise<void>;
}

const listening = z.object({ msg: z.literal('listening'), port: z.number().int().positive() });
const health = z.object({ uws: z.object({ package: z.string(), version: z.string(), binary: z.string() }) });
const START_TIMEOUT_MS = 120_000;

interface Running {
  readonly child: ChildProcess;
  readonly exited: Promise<unknown>;
  readonly port: number;
}

/** Spawns `script` and resolves once its 'listening' line names the port. */
async function launch(name: string, script: string, env: Record<string, string>): Promise<Running> {
  const child: ChildProcess = spawn(process.execPath, ['--enable-source-maps', script], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const exited = once(child, 'exit');
  const tail: string[] = [];
  const port = await new Promise<number>((resolvePort, reject) => {
    const timer = setTimeout(() => reject(new Error(`${name} did not listen in time:\n${tail.join('\n')}`)), START_TIMEOUT_MS);
    for (const stream of [child.stdout, child.stderr]) {
      if (stream === null) continue;
      createInterface({ input: stream }).on('line', (line) => {
        // Only the last lines are kept: a long run logs, and the bench must not grow with it.
        tail.push(line);
        if (tail.length > 50) tail.shift();
        try {
          const parsed = listening.safeParse(JSON.parse(line));
          if (parsed.success) {
            clearTimeout(timer);
            resolvePort(parsed.data.port);
          }
        } catch {
          // not a JSON line
        }
      });
    }
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`${name} exited with code ${String(code)} before listening:\n${tail.join('\n')}`));
    });
  });
  return { child, exited, port };
}

async function startProcess(name: string, script: string, env: Record<string, string>, stores: boolean, cleanup: () => void): Promise<ChatServer> {
  let running = await launch(name, script, env);
  const { port } = running;
  const httpUrl = `http://127.0.0.1:${port}`;
  const stop = async (): Promise<void> => {
    const { child, exited } = running;
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    await Promise.race([exited, new Promise((r) => setTimeout(r, 20_000))]);
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    cleanup();
  };
  // Both servers refuse to start without a native uWS; the bench names the build each runs.
  const runtime = health.safeParse(await (await fetch(`${httpUrl}/health`)).json());
  if (!runtime.success) {
    await stop();
    throw new Error(`${name}: GET /health does not name its uWS build`);
  }
  const { package: build, version, binary } = runtime.data.uws;
  return {
    name,
    get pid() {
      return running.child.pid ?? 0;
    },
    httpUrl,
    uws: `${build} ${version} (${binary})`,
    stores,
    stop,
    kill: async () => {
      running.child.kill('SIGKILL');
      await running.exited;
    },
    restart: async () => {
      running = await launch(name, script, { ...env, PORT: String(port) });
    },
  };
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolvePort) => server.listen(0, '127.0.0.1', resolvePort));
  const address = server.address();
  await new Promise((closed) => server.close(closed));
  if (address === null || typeof address !== 'object') throw new Error('no free port');
  return address.port;
}

/**
 * The chat server (dist/src/main.js) with limits that let one client push hard, and a
 * throwaway embedded database (SIGKILL of the server stops it too, through its
 * watchdog; restart() starts it again on the same data). `workers` > 1: that many nodes on one port
 * (WORKERS=N, CLUSTER over LISTEN/NOTIFY), the kernel spreading the sockets.
 */
export async function startChatServer(workers = 1): Promise<ChatServer> {
  const dataDir = resolve('.test-data', `bench-server-${process.pid}-${Date.now()}`);
  return startProcess(
    workers === 1 ? 'chat server' : `chat, ${workers} nodes`,
    'dist/src/main.js',
    {
      // A fixed port even for one node: restart() comes back on it, where the clients reconnect.
      PORT: String(await freePort()),
      WORKERS: String(workers),
      HOST: '127.0.0.1',
      LOG_LEVEL: 'info',
      LOG_PRETTY: '0',
      DATA_DIR: dataDir,
      RATE_LIMIT_PER_SEC: '1000000',
      RATE_LIMIT_BURST: '1000000',
      IDLE_TIMEOUT_S: '120',
      SLOW_READER_BYTES: String(16 * 1024 * 1024),
      ADMIN_TOKEN: BENCH_ADMIN_TOKEN,
    },
    true,
    () => rmSync(dataDir, { recursive: true, force: true }),
  );
}

/** `workers` > 1: that many raw processes on one port (raw-cluster.ts), as WORKERS=N for the chat server. */
export async function startRawServer(workers = 1): Promise<BenchServer> {
  if (workers === 1) return startProcess('raw uWS', 'dist/bench/support/raw-uws.js', {}, false, () => {});
  return startProcess(`raw uWS, ${workers} processes`, 'dist/bench/support/raw-cluster.js', { RAW_WORKERS: String(workers), RAW_PORT: String(await freePort()) }, false, () => {});
}
