import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { Budget, budgetLimits, type FrameKind } from '../src/transport/budget.js';

/** The socket budget (src/endpoint/budget.ts), pure: the clock is an argument. */

const limits = budgetLimits({ perSecond: 20, burst: 40 }, { perSecond: 5, burst: 10 });
const kind = fc.constantFrom<FrameKind>('push', 'join', 'heartbeat');
/** Frames as (kind, milliseconds since the previous one). */
const frames = fc.array(fc.tuple(kind, fc.integer({ min: 0, max: 200 })), { minLength: 1, maxLength: 400 });

function play(sequence: ReadonlyArray<readonly [FrameKind, number]>) {
  const budget = new Budget(limits, 0);
  let now = 0;
  return sequence.map(([k, gap]) => {
    now += gap;
    return { kind: k, at: now, verdict: budget.admit(k, now) };
  });
}

describe('the socket budget', () => {
  it('property: pushes and joins admitted over any stretch never exceed the burst plus the rate over it', () => {
    fc.assert(
      fc.property(frames, (sequence) => {
        const played = play(sequence);
        const counted = played.filter((f) => f.kind !== 'heartbeat' && f.verdict === 'admit');
        for (let i = 0; i < counted.length; i++) {
          for (let j = i; j < counted.length; j++) {
            const seconds = ((counted[j]?.at ?? 0) - (counted[i]?.at ?? 0)) / 1000;
            // Heartbeats past their own allowance take from the same bucket, so they only make this stricter.
            assert.ok(j - i + 1 <= limits.frames.burst + limits.frames.perSecond * seconds + 1e-9);
          }
        }
        const joins = played.filter((f) => f.kind === 'join' && f.verdict === 'admit');
        if (joins.length > 1) {
          const seconds = ((joins.at(-1)?.at ?? 0) - (joins[0]?.at ?? 0)) / 1000;
          assert.ok(joins.length <= limits.joins.burst + limits.joins.perSecond * seconds + 1e-9);
        }
      }),
    );
  });

  it('property: a client within the rate is never refused, whatever it sends', () => {
    fc.assert(
      fc.property(fc.array(kind, { minLength: 1, maxLength: 300 }), (kinds) => {
        // One frame every 250 ms: under the push rate and, joins included, under the join rate.
        const played = play(kinds.map((k) => [k, 250] as const));
        assert.ok(played.every((f) => f.verdict === 'admit'));
      }),
    );
  });

  it('heartbeats keep their own allowance while pushes are refused', () => {
    const budget = new Budget(limits, 0);
    for (let i = 0; i < limits.frames.burst; i++) assert.equal(budget.admit('push', 0), 'admit');
    assert.equal(budget.admit('push', 0), 'refuse');
    assert.equal(budget.admit('heartbeat', 0), 'admit');
  });

  it('property: a socket is closed only once its patience is used up, and then on every refusal', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 30 }), (gapMs) => {
        const played = play(Array.from({ length: 2_000 }, () => ['push', gapMs] as const));
        const firstClose = played.findIndex((f) => f.verdict === 'close');
        const refusedBefore = played.slice(0, Math.max(0, firstClose)).filter((f) => f.verdict === 'refuse').length;
        if (firstClose === -1) return;
        assert.ok(refusedBefore >= limits.patience.burst, `closed after ${refusedBefore} refusals`);
      }),
    );
    // A flood, as fast as frames come: closed within a second of sending.
    const flood = play(Array.from({ length: 5_000 }, () => ['push', 0] as const));
    assert.ok(flood.some((f) => f.verdict === 'close'));
  });
});
