import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { reconnectDelayMs, rejoinDelayMs } from '../src/cli/loadtest/backoff.js';

/** The load tester's backoff (src/cli/loadtest/backoff.ts): phoenix.js's steps, with ±50% jitter. */

describe("the load tester's backoff", () => {
  it("follows phoenix.js's reconnectAfterMs, then 5 s, at the middle of its jitter", () => {
    const steps = Array.from({ length: 12 }, (_, i) => reconnectDelayMs(i + 1, 0.5));
    assert.deepEqual(steps, [10, 50, 100, 150, 200, 250, 500, 1_000, 2_000, 5_000, 5_000, 5_000]);
  });

  it("follows phoenix.js's rejoinAfterMs, then 10 s", () => {
    assert.deepEqual([1, 2, 3, 4, 9].map((attempt) => rejoinDelayMs(attempt, 0.5)), [1_000, 2_000, 5_000, 10_000, 10_000]);
  });

  it('spreads each step over 50% .. 150% of it', () => {
    assert.equal(reconnectDelayMs(8, 0), 500);
    assert.ok(Math.abs(reconnectDelayMs(8, 0.999_999) - 1_500) < 0.01);
    assert.equal(rejoinDelayMs(1, 0), 500);
  });
});
