import { optionsSchema } from '../../src/cli/loadtest/options.js';
import { runLoadtest } from '../../src/cli/loadtest/run.js';
import type { ChatServer } from './servers.js';
import type { Row } from './table.js';

/**
 * The reconnect storm (issue 16): `sockets` sessions joined in rooms of 100,
 * senders talking, then SIGKILL of the node and a start again on the same port
 * and database. Every client reconnects and rejoins at once (phoenix.js's
 * backoff, with jitter) and catches up with its last_seen_id; the figures say
 * how long until the last one was back, and that nothing was lost or doubled.
 */

export interface StormFigures {
  readonly joined: number;
  /** Joined sockets the kill dropped, and how many of them rejoined with their catch-up. */
  readonly dropped: number;
  readonly rejoined: number;
  /** SIGKILL until the restarted node listened again. */
  readonly downMs: number;
  /** The first drop until the last dropped socket had rejoined and caught up (the goal: within 30 s). */
  readonly recoveredMs: number | undefined;
  readonly rejoinP50Ms: number | undefined;
  readonly rejoinP99Ms: number | undefined;
  readonly accepted: number;
  /** Pushes the dead node never answered (stored or not; not counted as lost). */
  readonly unanswered: number;
  readonly lost: number;
  readonly doubled: number;
  /** Join errors met while coming back, by reason (shed joins are retried by the client). */
  readonly joinErrors: Record<string, number>;
}

const ROOM_SIZE = 100;
// As in the capacity scenario: what a 2-core machine joins steadily the first time.
const RAMP = 250;
const SENDERS = 20;
const RATE = 40;
/** Long enough to kill, restart and see the senders back: sending goes on across the outage. */
const SENDING_S = 20;
/** Messages stored before the kill: the rejoins' catch-up then has something to bring. */
const ACCEPTED_BEFORE_KILL = 2 * RATE;
const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

export async function storm(server: ChatServer, sockets: number): Promise<StormFigures> {
  let downMs = 0;
  let calls = 0;
  const result = await runLoadtest(
    optionsSchema.parse({
      url: server.httpUrl,
      sockets,
      rooms: Math.max(1, Math.round(sockets / ROOM_SIZE)),
      senders: Math.min(SENDERS, sockets),
      rate: RATE,
      duration: SENDING_S,
      ramp: RAMP,
    }),
    {
      // The ramp's presence traffic settles before the clock that counts starts.
      onJoined: () => sleep(2_000),
      onSending: async (run) => {
        await run.until('messages stored before the kill', (view) => view.total('accepted') >= ACCEPTED_BEFORE_KILL, 30_000);
        const killedAt = performance.now();
        await server.kill();
        await server.restart();
        downMs = performance.now() - killedAt;
      },
      onProgress: (line) => {
        if (calls++ % 5 === 0) process.stderr.write(`  ${server.name} storm ${sockets} ${line}\n`);
      },
    },
  );
  const joinErrors = Object.fromEntries(Object.entries(result.errors).filter(([kind]) => kind.startsWith('join_')));
  const figures: StormFigures = {
    joined: result.sockets.joined,
    dropped: result.storm.dropped,
    rejoined: result.storm.rejoined,
    downMs,
    recoveredMs: result.storm.recoveredMs,
    rejoinP50Ms: result.storm.rejoinMs.p50,
    rejoinP99Ms: result.storm.rejoinMs.p99,
    accepted: result.messages.accepted,
    unanswered: result.messages.unanswered,
    lost: result.messages.lost,
    doubled: result.messages.doubled,
    joinErrors,
  };
  if (result.failures.length > 0) throw new Error(`${server.name} storm ${sockets}: ${result.failures.join('; ')} ${JSON.stringify(figures)}`);
  return figures;
}

/** The storm's rows for the bench's table (no baseline: raw uWS keeps no sessions to lose). */
export function stormRows(sessions: number, figures: StormFigures | undefined): Row[] {
  const n = sessions.toLocaleString('en-US');
  const back = figures !== undefined && figures.rejoined === figures.dropped && figures.dropped > 0;
  return [
    { figure: `storm ${n}: sessions joined before the SIGKILL`, chat: figures?.joined, raw: undefined, unit: 'int' },
    { figure: `storm ${n}: sessions dropped by it`, chat: figures?.dropped, raw: undefined, unit: 'int' },
    { figure: `storm ${n}: dropped sessions rejoined and caught up`, chat: figures?.rejoined, raw: undefined, unit: 'int' },
    { figure: `storm ${n}: node down ms (SIGKILL to listening again)`, chat: figures?.downMs, raw: undefined, unit: 'ms' },
    {
      figure: `storm ${n}: recovered ms (first drop to last rejoin)`,
      chat: figures?.recoveredMs,
      raw: undefined,
      unit: 'ms',
      goal: { text: 'all back <= 30,000 ms', met: figures === undefined ? undefined : back && (figures.recoveredMs ?? Infinity) <= 30_000 },
    },
    { figure: `storm ${n}: rejoin after drop p99 ms`, chat: figures?.rejoinP99Ms, raw: undefined, unit: 'ms' },
    {
      figure: `storm ${n}: lost + doubled deliveries`,
      chat: figures === undefined ? undefined : figures.lost + figures.doubled,
      raw: undefined,
      unit: 'int',
      goal: { text: '0', met: figures === undefined ? undefined : figures.lost + figures.doubled === 0 },
    },
  ];
}
