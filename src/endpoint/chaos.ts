import { z } from 'zod';

/**
 * Chaos from the observer: kill `rate` random sessions a second for `seconds`,
 * to watch the tree heal under the load tester. This is the plan, pure, the
 * clock passed in; the observer actor ticks it once a second and does the kills.
 */

export const MAX_CHAOS_RATE = 1_000;
export const MAX_CHAOS_SECONDS = 600;

const whole = (what: string, max: number) =>
  z
    .number({ error: `${what} must be a number` })
    .int(`${what} must be a whole number`)
    .min(1, `${what} must be at least 1`)
    .max(max, `${what} must be at most ${max}`);

/** `?rate=K&seconds=T`, both required. */
export const chaosParams = z.object({
  rate: z.string({ error: 'rate is required: ?rate=K&seconds=T' }).transform(Number).pipe(whole('rate', MAX_CHAOS_RATE)),
  seconds: z.string({ error: 'seconds is required: ?rate=K&seconds=T' }).transform(Number).pipe(whole('seconds', MAX_CHAOS_SECONDS)),
});
export type ChaosParams = z.infer<typeof chaosParams>;

export interface ChaosState {
  readonly running: boolean;
  readonly rate: number;
  /** When it stops (or stopped), ms since the epoch; null before the first run. */
  readonly until: number | null;
  /** Sessions killed by the current (or last) run. */
  readonly killed: number;
}

export class Chaos {
  private rate = 0;
  private until: number | null = null;
  private killed = 0;
  private running = false;
  /** Ticks left: counted, not timed, so a tick that comes a millisecond early at the end is not one too many. */
  private ticksLeft = 0;

  start({ rate, seconds }: ChaosParams, now: number): void {
    this.rate = rate;
    this.until = now + seconds * 1000;
    this.killed = 0;
    this.running = true;
    this.ticksLeft = seconds;
  }

  stop(now: number): void {
    if (this.running && this.until !== null) this.until = Math.min(this.until, now);
    this.running = false;
  }

  /** How many to kill at this tick (one a second): `rate` for `seconds` ticks, then it stops and answers 0. */
  due(now: number): number {
    if (!this.running) return 0;
    if (this.ticksLeft === 0) {
      this.running = false;
      this.until = Math.min(this.until ?? now, now);
      return 0;
    }
    this.ticksLeft -= 1;
    return this.rate;
  }

  killedSome(count: number): void {
    this.killed += count;
  }

  state(): ChaosState {
    return { running: this.running, rate: this.rate, until: this.until, killed: this.killed };
  }
}
