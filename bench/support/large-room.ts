import { optionsSchema } from '../../src/cli/loadtest/options.js';
import { runLoadtest } from '../../src/cli/loadtest/run.js';
import { rssBytes } from './proc.js';
import type { BenchServer } from './servers.js';

/**
 * One room of `sockets` members (issue 13), filled at 250 joins/s, with a few
 * messages while it fills: every join succeeds, server memory stays bounded,
 * and the presence bytes each member receives stay flat as the room grows
 * (O(N) in all) once the room is past PRESENCE_FULL_LIMIT.
 */

export interface LargeRoomFigures {
  /** What the load tester found wrong: the figures stand, the bench fails. */
  readonly failures: readonly string[];
  readonly joined: number;
  readonly joinP99Ms: number | undefined;
  /** Presence frames (state, diff, summary) received, bytes per member over the whole fill. */
  readonly presenceBytesPerMember: number;
  readonly peakRssMiB: number;
  readonly rssPerSessionKiB: number;
  readonly lost: number;
  readonly doubled: number;
}

const FILL_RAMP = 250;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export async function largeRoom(server: BenchServer, sockets: number, onProgress: (line: string) => void): Promise<LargeRoomFigures> {
  const before = rssBytes(server.pid);
  let peak = before;
  let filling = true;
  const watch = (async () => {
    while (filling) {
      peak = Math.max(peak, rssBytes(server.pid));
      await sleep(1_000);
    }
  })();
  let settled = 0;
  try {
    const result = await runLoadtest(
      optionsSchema.parse({ url: server.httpUrl, sockets, rooms: 1, senders: 1, rate: 2, duration: 10, ramp: FILL_RAMP }),
      {
        onDrained: () => {
          settled = rssBytes(server.pid);
        },
        onProgress,
      },
    );
    return {
      failures: result.failures,
      joined: result.sockets.joined,
      joinP99Ms: result.joinMs.p99,
      presenceBytesPerMember: result.presence.bytes / Math.max(1, result.sockets.joined),
      peakRssMiB: peak / 1_048_576,
      rssPerSessionKiB: (settled - before) / 1024 / Math.max(1, result.sockets.joined),
      lost: result.messages.lost,
      doubled: result.messages.doubled,
    };
  } finally {
    filling = false;
    await watch;
  }
}
