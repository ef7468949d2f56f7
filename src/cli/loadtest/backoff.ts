/**
 * How long a load-test client waits before it tries again, as phoenix.js does
 * (reconnectAfterMs for a dropped socket, rejoinAfterMs for a join answered
 * with an error), plus jitter: phoenix.js has none, so thousands of sockets
 * dropped in the same instant would come back in the same instant, every
 * attempt. ±50% spreads each step over a window as wide as the step itself.
 * Pure: the attempt and the random draw are passed in.
 */

/** phoenix.js's reconnectAfterMs: attempt 1 is 10 ms, ..., 5 s from attempt 10 on. */
const RECONNECT_MS = [10, 50, 100, 150, 200, 250, 500, 1_000, 2_000];
const RECONNECT_CAP_MS = 5_000;
/** phoenix.js's rejoinAfterMs. */
const REJOIN_MS = [1_000, 2_000, 5_000];
const REJOIN_CAP_MS = 10_000;

const step = (steps: readonly number[], cap: number, attempt: number): number => steps[Math.max(0, attempt - 1)] ?? cap;

/** `random` in [0, 1): the delay is the step's 50% .. 150%. */
const jitter = (ms: number, random: number): number => ms * (0.5 + random);

/** Before reconnect attempt `attempt` (1 = the first after the drop). */
export const reconnectDelayMs = (attempt: number, random: number): number => jitter(step(RECONNECT_MS, RECONNECT_CAP_MS, attempt), random);

/** Before rejoin attempt `attempt` after an error reply to a join (1 = the first). */
export const rejoinDelayMs = (attempt: number, random: number): number => jitter(step(REJOIN_MS, REJOIN_CAP_MS, attempt), random);
