import { optionsSchema } from '../../src/cli/loadtest/options.js';
import { runLoadtest } from '../../src/cli/loadtest/run.js';
import { cpuMicros } from './proc.js';
import { HISTORY_PER_ROOM, seedHistory } from './scenarios.js';
import type { BenchServer } from './servers.js';
import type { Row } from './table.js';

/**
 * Joins on one node (issue 13): `sockets` users join rooms of 100 that hold
 * history, offered at `ramp`/s; first as new users (each signs up), then the
 * same users coming back (each signs in). A join into a room of 100 also sends
 * the joiner the room's presence_state and every member a presence_diff.
 */

export interface JoinFigures {
  readonly joined: number;
  readonly joinsPerSec: number;
  readonly p50Ms: number | undefined;
  readonly p99Ms: number | undefined;
  readonly cpuUsPerJoin: number;
}

export interface JoinRuns {
  readonly fresh: JoinFigures;
  readonly returning: JoinFigures;
}

const ROOM_SIZE = 100;

export async function joins(server: BenchServer, sockets: number, ramp: number, onProgress: (line: string) => void): Promise<JoinRuns> {
  const rooms = Math.max(1, Math.round(sockets / ROOM_SIZE));
  const runId = `j${Date.now().toString(36)}`;
  // Into the rooms measured below, by users of their own: every user measured below is new to the server.
  await seedHistory(server, rooms, runId, onProgress, `${runId}h`);
  const run = async (): Promise<JoinFigures> => {
    const cpuStart = cpuMicros(server.pid);
    let cpuJoined = cpuStart;
    const result = await runLoadtest(optionsSchema.parse({ url: server.httpUrl, sockets, rooms, senders: 0, duration: 1, ramp, 'run-id': runId }), {
      onJoined: () => {
        cpuJoined = cpuMicros(server.pid);
      },
      onProgress,
    });
    if (result.failures.length > 0) throw new Error(`joins: ${result.failures.join('; ')}`);
    const history = result.sockets.joined * HISTORY_PER_ROOM;
    if (server.stores && result.sockets.history !== history) {
      throw new Error(`joins: the join replies held ${result.sockets.history} messages of history, not ${history}`);
    }
    return {
      joined: result.sockets.joined,
      joinsPerSec: result.sockets.joined / Math.max(0.001, result.seconds.ramp),
      p50Ms: result.joinMs.p50,
      p99Ms: result.joinMs.p99,
      cpuUsPerJoin: (cpuJoined - cpuStart) / Math.max(1, result.sockets.joined),
    };
  };
  const fresh = await run();
  const returning = await run();
  return { fresh, returning };
}

export function joinRows(sockets: number, ramp: number, chat: JoinRuns | undefined, raw: JoinRuns | undefined): Row[] {
  const n = sockets.toLocaleString('en-US');
  const rowsOf = (label: string, pick: (runs: JoinRuns) => JoinFigures): Row[] => {
    const c = chat === undefined ? undefined : pick(chat);
    const r = raw === undefined ? undefined : pick(raw);
    return [
      {
        figure: `joins, ${label}: joins/s (${n} into rooms of 100 with history, offered ${ramp.toLocaleString('en-US')}/s)`,
        chat: c?.joinsPerSec,
        raw: r?.joinsPerSec,
        unit: 'int',
        goal: { text: '>= 1,000/s', met: c === undefined ? undefined : c.joined >= sockets && c.joinsPerSec >= 1_000 },
      },
      { figure: `joins, ${label}: join latency p50 ms`, chat: c?.p50Ms, raw: r?.p50Ms, unit: 'ms' },
      { figure: `joins, ${label}: join latency p99 ms`, chat: c?.p99Ms, raw: r?.p99Ms, unit: 'ms', goal: { text: '<= 500 ms', met: c?.p99Ms === undefined ? undefined : c.p99Ms <= 500 } },
      { figure: `joins, ${label}: server CPU us/join`, chat: c?.cpuUsPerJoin, raw: r?.cpuUsPerJoin, unit: 'us' },
    ];
  };
  return [...rowsOf('new users', (runs) => runs.fresh), ...rowsOf('returning users', (runs) => runs.returning)];
}
