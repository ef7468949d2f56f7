import { optionsSchema } from '../../src/cli/loadtest/options.js';
import { runLoadtest } from '../../src/cli/loadtest/run.js';
import { cpuMicros, rssBytes } from './proc.js';
import { seedHistory } from './scenarios.js';
import { BENCH_ADMIN_TOKEN, type BenchServer } from './servers.js';

/**
 * The many-sessions scenario (issue 13): `sockets` sessions in rooms of 100
 * that already hold history, joined at `ramp`/s; then idle (heartbeats only),
 * then one message every 5 s into every room, then one announcement to every
 * socket at once. Server CPU and RSS are summed over its processes (WORKERS).
 */

export interface ScaleFigures {
  /** What the load tester found wrong (sockets that never joined, losses): the figures stand, the bench fails. */
  readonly failures: readonly string[];
  readonly joined: number;
  readonly joinsPerSec: number;
  readonly joinP50Ms: number | undefined;
  readonly joinP99Ms: number | undefined;
  readonly rssPerSessionKiB: number;
  readonly rssMiB: number;
  /** Server CPU while idle, in % of one core. */
  readonly idleCpuPercent: number;
  readonly storedPerSec: number;
  readonly deliveriesPerSec: number;
  readonly lost: number;
  readonly doubled: number;
  readonly p50Ms: number | undefined;
  readonly p99Ms: number | undefined;
  readonly cpuUsPerDelivery: number;
  readonly broadcast: {
    readonly expected: number;
    readonly delivered: number;
    readonly lost: number;
    readonly doubled: number;
    readonly p50Ms: number | undefined;
    readonly p99Ms: number | undefined;
    /** Until the last socket had it. */
    readonly lastMs: number | undefined;
    readonly cpuUsPerDelivery: number;
  };
}

const SETTLE_MS = 10_000;
const IDLE_MS = 20_000;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export async function scale(
  server: BenchServer,
  { sockets, ramp, seconds, onProgress }: { readonly sockets: number; readonly ramp: number; readonly seconds: number; readonly onProgress: (line: string) => void },
): Promise<ScaleFigures> {
  const rooms = Math.max(1, Math.round(sockets / 100));
  const runId = `s${Date.now().toString(36)}`;
  const rssBefore = rssBytes(server.pid);
  await seedHistory(server, rooms, runId, onProgress);

  let rss = 0;
  let idleCpu = 0;
  let cpuStart = 0;
  let cpuDrained = 0;
  let cpuAnnounced = 0;
  const result = await runLoadtest(
    optionsSchema.parse({ url: server.httpUrl, sockets, rooms, senders: rooms, rate: rooms / 5, duration: seconds, ramp, 'run-id': runId, announce: 1 }),
    {
      adminToken: BENCH_ADMIN_TOKEN,
      onJoined: async () => {
        await sleep(SETTLE_MS);
        const idleStart = cpuMicros(server.pid);
        await sleep(IDLE_MS);
        cpuStart = cpuMicros(server.pid);
        idleCpu = cpuStart - idleStart;
        rss = rssBytes(server.pid);
      },
      onDrained: () => {
        cpuDrained = cpuMicros(server.pid);
      },
      onAnnounced: () => {
        cpuAnnounced = cpuMicros(server.pid);
      },
      onProgress,
    },
  );
  const a = result.announcements;
  return {
    failures: result.failures,
    joined: result.sockets.joined,
    joinsPerSec: result.sockets.joined / Math.max(0.001, result.seconds.ramp),
    joinP50Ms: result.joinMs.p50,
    joinP99Ms: result.joinMs.p99,
    rssPerSessionKiB: (rss - rssBefore) / 1024 / Math.max(1, result.sockets.joined),
    rssMiB: rss / 1_048_576,
    idleCpuPercent: (idleCpu / (IDLE_MS * 1_000)) * 100,
    storedPerSec: result.acceptedPerSec,
    deliveriesPerSec: result.deliveriesPerSec,
    lost: result.messages.lost,
    doubled: result.messages.doubled,
    p50Ms: result.latencyMs.p50,
    p99Ms: result.latencyMs.p99,
    cpuUsPerDelivery: (cpuDrained - cpuStart) / Math.max(1, result.messages.delivered),
    broadcast: {
      expected: a.expected,
      delivered: a.delivered,
      lost: a.lost,
      doubled: a.doubled,
      p50Ms: a.latencyMs.p50,
      p99Ms: a.latencyMs.p99,
      lastMs: a.latencyMs.max,
      cpuUsPerDelivery: (cpuAnnounced - cpuDrained) / Math.max(1, a.delivered),
    },
  };
}
