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
const progress = (name: string) => {
  let calls = 0;
  return (line: string): void => {
    if (calls++ % 5 === 0) process.stderr.write(`  ${name} ${line}\n`);
  };
};
const FANOUT_RAMP = 100;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

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
    // A slow ramp: each join into one big room costs the chat server O(room) (presence_state), see README.
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
  readonly rssMiB: number;
}

/** `sessions` idle joined sockets, 100 to a room; server RSS growth per session. */
export async function capacity(server: BenchServer, sessions: number): Promise<CapacityFigures> {
  const before = rssBytes(server.pid);
  let during = 0;
  const result = await runLoadtest(
    optionsSchema.parse({ url: server.httpUrl, sockets: sessions, rooms: Math.max(1, Math.round(sessions / 100)), senders: 0, duration: 1, ramp: 1_000 }),
    {
      onJoined: async () => {
        await sleep(3_000);
        during = rssBytes(server.pid);
      },
      onProgress: progress(`${server.name} capacity ${sessions}`),
    },
  );
  check(result, `${server.name} capacity ${sessions}`);
  return { joined: result.sockets.joined, rssPerSessionKiB: (during - before) / 1024 / Math.max(1, result.sockets.joined), rssMiB: during / 1_048_576 };
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
