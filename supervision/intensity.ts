/** Restart intensity as in OTP: at most `maxRestarts` restarts within any `periodMs` window. */
export interface Intensity {
  readonly maxRestarts: number;
  readonly periodMs: number;
}

export const DEFAULT_INTENSITY: Intensity = { maxRestarts: 3, periodMs: 5_000 };

/** Records a restart at `now` in `times` (mutated); false when this one is over the limit. */
export function recordRestart(times: number[], now: number, intensity: Intensity): boolean {
  times.push(now);
  while (times.length > 0 && (times[0] ?? now) <= now - intensity.periodMs) times.shift();
  return times.length <= intensity.maxRestarts;
}
