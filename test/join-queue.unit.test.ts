import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { JoinQueue } from '../src/session/join-queue.js';
import { JoinGate } from '../src/session/join-gate.js';

/** Join admission (src/session/join-queue.ts), pure: the clock is an argument; and its promise shell. */

const limits = { concurrent: 2, waiting: 3, maxWaitMs: 1_000 };

describe('the join queue', () => {
  it('starts up to the concurrency, queues up to the waiting room, sheds the rest at once', () => {
    const queue = new JoinQueue<string>(limits);
    assert.deepEqual(['a', 'b', 'c', 'd', 'e', 'f'].map((join) => queue.admit(join, 0)), ['start', 'start', 'wait', 'wait', 'wait', 'shed']);
    assert.equal(queue.inProgress, 2);
    assert.equal(queue.queued, 3);
  });

  it('hands a finished join its slot to the oldest waiter, and nobody overtakes a waiter', () => {
    const queue = new JoinQueue<string>(limits);
    queue.admit('a', 0);
    queue.admit('b', 0);
    queue.admit('c', 10);
    assert.deepEqual(queue.finish(20), { start: ['c'], shed: [] });
    queue.finish(30);
    // One slot is free, but 'd' comes while nobody waits: it starts; then 'e' waits behind the full slots.
    assert.equal(queue.admit('d', 40), 'start');
    assert.equal(queue.admit('e', 40), 'wait');
  });

  it('sheds a waiter once it has waited maxWaitMs, whether a join finishes or the timer looks', () => {
    const queue = new JoinQueue<string>(limits);
    queue.admit('a', 0);
    queue.admit('b', 0);
    queue.admit('c', 0);
    queue.admit('d', 500);
    assert.equal(queue.nextDeadline, 1_000);
    assert.deepEqual(queue.expire(999), []);
    assert.deepEqual(queue.expire(1_000), ['c']);
    assert.equal(queue.nextDeadline, 1_500);
    assert.deepEqual(queue.finish(1_600), { start: [], shed: ['d'] });
    assert.equal(queue.nextDeadline, undefined);
  });

  it('property: never more in progress than the limit, every join decided exactly once, starts in arrival order', () => {
    const step = fc.oneof(
      fc.record({ op: fc.constant('join' as const), gap: fc.integer({ min: 0, max: 400 }) }),
      fc.record({ op: fc.constant('finish' as const), gap: fc.integer({ min: 0, max: 400 }) }),
      fc.record({ op: fc.constant('expire' as const), gap: fc.integer({ min: 0, max: 400 }) }),
    );
    fc.assert(
      fc.property(fc.array(step, { maxLength: 300 }), (steps) => {
        const queue = new JoinQueue<number>(limits);
        const decided = new Map<number, 'start' | 'shed'>();
        const started: number[] = [];
        const decide = (join: number, how: 'start' | 'shed'): void => {
          assert.equal(decided.has(join), false, `join ${join} decided twice`);
          decided.set(join, how);
          if (how === 'start') started.push(join);
        };
        let now = 0;
        let next = 0;
        let running = 0;
        for (const { op, gap } of steps) {
          now += gap;
          if (op === 'join') {
            const join = next++;
            const admission = queue.admit(join, now);
            if (admission !== 'wait') decide(join, admission);
            if (admission === 'start') running += 1;
          } else if (op === 'finish' && running > 0) {
            running -= 1;
            const { start, shed } = queue.finish(now);
            for (const join of shed) decide(join, 'shed');
            for (const join of start) decide(join, 'start');
            running += start.length;
          } else if (op === 'expire') {
            for (const join of queue.expire(now)) decide(join, 'shed');
          }
          assert.equal(queue.inProgress, running);
          assert.ok(running <= limits.concurrent);
          assert.ok(queue.queued <= limits.waiting);
          assert.equal(decided.size + queue.queued, next, 'every join is decided or waiting');
        }
        assert.deepEqual(started, [...started].sort((a, b) => a - b));
      }),
    );
  });
});

describe('the join gate', () => {
  it('resolves turns in order as they are released, sheds with overloaded, and releases once only', async () => {
    let now = 0;
    const gate = new JoinGate({ concurrent: 1, waiting: 1, maxWaitMs: 60_000 }, () => now);
    const first = await gate.enter();
    assert.ok(first.ok);
    const second = gate.enter();
    const third = await gate.enter();
    assert.deepEqual(third, { ok: false, error: { reason: 'overloaded' } });
    first.value();
    first.value();
    const turn = await second;
    assert.ok(turn.ok);
    assert.equal(gate.queued, 0);
    // The second holds the one slot (had the first released twice, the fourth would start now): the fourth waits...
    const fourth = gate.enter();
    now = 60_000;
    // ...past its wait by the time the slot is free: shed, not started.
    turn.value();
    assert.deepEqual(await fourth, { ok: false, error: { reason: 'overloaded' } });
  });
});
