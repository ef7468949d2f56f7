import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { admitTyping, TYPING_INTERVAL_MS, typingThrottle } from '../src/chat/typing.js';

/** The typing throttle (src/chat/typing.ts), pure: the clock is an argument. */

describe('the typing throttle', () => {
  it('lets the first typing through, drops the ones within 2 s of it, and lets the next one after', () => {
    const throttle = typingThrottle();
    assert.equal(admitTyping(throttle, 10_000), true);
    assert.equal(admitTyping(throttle, 10_001), false);
    assert.equal(admitTyping(throttle, 10_000 + TYPING_INTERVAL_MS - 1), false);
    assert.equal(admitTyping(throttle, 10_000 + TYPING_INTERVAL_MS), true);
    // A dropped one does not push the next one back: the interval counts from the last one sent.
    assert.equal(admitTyping(throttle, 12_500), false);
    assert.equal(admitTyping(throttle, 14_000), true);
  });

  it('property: any two typings sent are at least 2 s apart, and none is dropped that is 2 s after the last sent', () => {
    const gaps = fc.array(fc.integer({ min: 0, max: 3_000 }), { minLength: 1, maxLength: 300 });
    fc.assert(
      fc.property(gaps, (steps) => {
        const throttle = typingThrottle();
        let now = 0;
        let lastSent: number | undefined;
        for (const gap of steps) {
          now += gap;
          const expected = lastSent === undefined || now - lastSent >= TYPING_INTERVAL_MS;
          assert.equal(admitTyping(throttle, now), expected);
          if (expected) lastSent = now;
        }
      }),
    );
  });
});
