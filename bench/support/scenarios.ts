import { optionsSchema } from '../../src/cli/loadtest/options.js';
import type { LoadtestResult } from '../../src/cli/loadtest/report.js';
import { runLoadtest } from '../../src/cli/loadtest/run.js';
import { cpuMicros, rssBytes } from './proc.js';
import type { BenchServer } from './servers.js';

/**
 * The bench's scenarios, each one load-tester run against one server, with the
 * server's CPU time and memory read from /proc around the part that counts.
 */

/** A progress line every 5 s (the load tester gives one a second). */
export const progress = (name: string) => {
  let calls = 0;
  return (line: string): void => {
    if (calls++ % 5 === 0) process.stderr.write(`  ${name} ${line}\n`);
  };
};
// Every join into one room costs the chat server O(room) (a presence_state of everyone, as in
// Phoenix): 5,000 joins at 100/s already overran this machine on a slow day, and joins that time
// out are retried. The scenario measures fan-out, not a join storm, so the room fills slowly.
const FANOUT_RAMP = 50;
// What one 2-core machine joins steadily while it also runs the client and the database: a
// faster ramp queues joins until they time out and are retried, and the backlog's garbage is
// then measured instead of the sessions.
const CAPACITY_RAMP = 250;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Messages each room holds before a scenario's joins, so every join reads history. */
export const HISTORY_PER_ROOM = 20;

/** History first: one sender per room of `runId`, signed in as the first `rooms` users of `users` (by default the run's own). */
export async function seedHistory(server: BenchServer, rooms: number, runId: string, onProgress: (line: string) => void, users = runId): Promise<void> {
  const seeded = await runLoadtest(
    optionsSchema.parse({ url: server.httpUrl, sockets: rooms, rooms, senders: rooms, rate: 0, messages: rooms * HISTORY_PER_ROOM, ramp: 2_000, 'run-id': runId, users }),
    { onProgress },
  );
  if (seeded.failures.length > 0) throw new Error(`seeding history: ${seeded.failures.join('; ')}`);
}

function check(result: LoadtestResult, what: string): void {
  if (result.failures.length > 0) throw new Error(`${what}: ${result.failures.join('; ')}`);
}

export interface FanoutFigures {
  readonly deliveries: number;
  readonly deliveriesPerSec: number;
  readonly p50Ms: number | undefined;
  readonly p99Ms: number | undefined;
  readonly cpuUsPerDelivery: number;
}

/** `sockets` in one room, one sender, `messages` bodies of ~100 bytes at `rate`/s (0: as fast as accepted). */
export async function fanout(server: BenchServer, sockets: number, messages: number, rate: number): Promise<FanoutFigures> {
  let cpuStart = 0;
  let cpuEnd = 0;
  const result = await runLoadtest(
    optionsSchema.parse({ url: server.httpUrl, sockets, rooms: 1, senders: 1, rate, messages, ramp: FANOUT_RAMP, 'body-bytes': 100 }),
    {
      onJoined: async () => {
        await sleep(2_000); // let the joins' presence traffic settle
        cpuStart = cpuMicros(server.pid);
      },
      onDrained: () => {
        cpuEnd = cpuMicros(server.pid);
      },
      onProgress: progress(`${server.name} fan-out`),
    },
  );
  check(result, `${server.name} fan-out`);
  return {
    deliveries: result.messages.delivered,
    deliveriesPerSec: result.deliveriesPerSec,
    p50Ms: result.latencyMs.p50,
    p99Ms: result.latencyMs.p99,
    cpuUsPerDelivery: (cpuEnd - cpuStart) / Math.max(1, result.messages.delivered),
  };
}

export interface CapacityFigures {
  readonly joined: number;
  readonly rssPerSessionKiB: number;
  readonly peakRssPerSessionKiB: number;
  readonly rssMiB: number;
}

/**
 * `sessions` idle joined sockets, 100 to a room; server RSS growth per session,
 * at its lowest while they sit idle for `idleMs`. The join storm's garbage stays in
 * V8's heap until its memory reducer runs (tens of seconds after the storm): what an
 * idle session costs is the settled figure, not the storm's peak, which is reported too.
 */
export async function capacity(server: BenchServer, sessions: number, idleMs: number): Promise<CapacityFigures> {
  const before = rssBytes(server.pid);
  let settled = Number.POSITIVE_INFINITY;
  let peak = 0;
  const result = await runLoadtest(
    optionsSchema.parse({ url: server.httpUrl, sockets: sessions, rooms: Math.max(1, Math.round(sessions / 100)), senders: 0, duration: 1, ramp: CAPACITY_RAMP }),
    {
      onJoined: async () => {
        for (let waited = 0; waited < idleMs; waited += 2_000) {
          await sleep(2_000);
          const rss = rssBytes(server.pid);
          settled = Math.min(settled, rss);
          peak = Math.max(peak, rss);
        }
      },
      onProgress: progress(`${server.name} capacity ${sessions}`),
    },
  );
  check(result, `${server.name} capacity ${sessions}`);
  const perSession = (rss: number): number => (rss - before) / 1024 / Math.max(1, result.sockets.joined);
  return { joined: result.sockets.joined, rssPerSessionKiB: perSession(settled), peakRssPerSessionKiB: perSession(peak), rssMiB: settled / 1_048_576 };
}

export interface PersistenceFigures {
  readonly storedPerSec: number;
  readonly deliveriesPerSec: number;
  readonly p99Ms: number | undefined;
}

/** A room of `members`, every member sending as fast as its messages are accepted, for `seconds`. */
export async function persistence(server: BenchServer, members: number, seconds: number): Promise<PersistenceFigures> {
  const result = await runLoadtest(
    optionsSchema.parse({ url: server.httpUrl, sockets: members, rooms: 1, senders: members, rate: 0, duration: seconds, ramp: 2_000 }),
    { onProgress: progress(`${server.name} persistence`) },
  );
  check(result, `${server.name} persistence`);
  return { storedPerSec: result.acceptedPerSec, deliveriesPerSec: result.deliveriesPerSec, p99Ms: result.latencyMs.p99 };
}
