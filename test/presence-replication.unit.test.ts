import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { Replication, type ReplicationMessage } from '../src/presence/replication.js';
import { TrackerState } from '../src/presence/state.js';

/**
 * Presence replication between two nodes without the network: messages are
 * queued, sent over a JSON round trip (as NOTIFY does), lost at random. Whatever
 * is lost, once the heartbeats flow again the replica equals the original.
 */

const TOPICS = ['room:a', 'room:b'];
const KEYS = ['ann', 'bob', 'cid'];
const OWNERS = ['1', '2', '3', '4'];

function node(name: string, inc = `${name}-1`) {
  const tracker = new TrackerState({ node: name, recordOps: true, incarnation: 7 });
  return { tracker, replication: new Replication(tracker, inc, 5_000) };
}

const wire = (message: ReplicationMessage) => JSON.parse(JSON.stringify(message)) as Record<string, unknown>;
const listOf = (tracker: TrackerState) => Object.fromEntries(TOPICS.map((topic) => [topic, JSON.parse(JSON.stringify(tracker.list(topic)))]));

/** Delivers queued messages both ways until nothing more is said. */
function settle(a: ReturnType<typeof node>, b: ReturnType<typeof node>, toB: ReplicationMessage[], now: number): void {
  const toA: ReplicationMessage[] = [];
  for (let round = 0; round < 20 && (toA.length > 0 || toB.length > 0); round++) {
    for (const message of toB.splice(0)) {
      const received = b.replication.receive(wire(message), now);
      assert.ok(received.ok, JSON.stringify(received));
      toA.push(...received.value.replies);
    }
    for (const message of toA.splice(0)) {
      const received = a.replication.receive(wire(message), now);
      assert.ok(received.ok);
      toB.push(...received.value.replies);
    }
  }
}

describe('presence replication', () => {
  it('a replica equals the original after any changes and any lost messages, once heartbeats flow', () => {
    const action = fc.oneof(
      fc.record({ kind: fc.constant('track' as const), topic: fc.constantFrom(...TOPICS), owner: fc.constantFrom(...OWNERS), key: fc.constantFrom(...KEYS) }),
      fc.record({ kind: fc.constant('update' as const), topic: fc.constantFrom(...TOPICS), owner: fc.constantFrom(...OWNERS), key: fc.constantFrom(...KEYS) }),
      fc.record({ kind: fc.constant('untrack' as const), topic: fc.constantFrom(...TOPICS), owner: fc.constantFrom(...OWNERS), key: fc.constantFrom(...KEYS) }),
      fc.record({ kind: fc.constant('down' as const), owner: fc.constantFrom(...OWNERS) }),
      fc.record({ kind: fc.constant('ship' as const), lose: fc.boolean() }),
    );
    fc.assert(
      fc.property(fc.array(action, { maxLength: 60 }), (actions) => {
        const a = node('a');
        const b = node('b');
        const toB: ReplicationMessage[] = [a.replication.hello()];
        settle(a, b, toB, 0);
        let now = 1;
        for (const step of actions) {
          now += 100;
          if (step.kind === 'track') a.tracker.track(step.topic, step.owner, step.key, { at: now });
          else if (step.kind === 'update') a.tracker.update(step.topic, step.owner, step.key, { at: now });
          else if (step.kind === 'untrack') a.tracker.untrack(step.topic, step.owner, step.key);
          else if (step.kind === 'down') a.tracker.untrackOwner(step.owner);
          else {
            const delta = a.replication.delta();
            if (delta !== undefined && !step.lose) toB.push(delta);
            settle(a, b, toB, now);
          }
        }
        const last = a.replication.delta();
        if (last !== undefined) toB.push(last);
        // A lost delta is noticed by the next heartbeat; a state request unanswered is asked again later.
        for (let beat = 0; beat < 3; beat++) {
          now += 2_500;
          toB.push(a.replication.heartbeat());
          settle(a, b, toB, now);
        }
        assert.deepEqual(listOf(b.tracker), listOf(a.tracker));
      }),
      { numRuns: 300 },
    );
  });

  it('a node not heard from within the timeout is dropped, as leaves; a new life of it is synced afresh', () => {
    const a = node('a');
    const b = node('b');
    a.tracker.track('room:a', '1', 'ann', {});
    const toB: ReplicationMessage[] = [a.replication.hello()];
    settle(a, b, toB, 0);
    assert.deepEqual(Object.keys(b.tracker.list('room:a')), ['ann']);
    assert.deepEqual(b.replication.expire(4_000).dropped, []);
    const expired = b.replication.expire(6_000);
    assert.deepEqual(expired.dropped, ['a']);
    assert.deepEqual(Object.keys(expired.diffs.get('room:a')?.leaves ?? {}), ['ann']);
    assert.deepEqual(Object.keys(b.tracker.list('room:a')), []);

    const reborn = node('a', 'a-2');
    reborn.tracker.track('room:a', '9', 'zed', {});
    settle(reborn, b, [reborn.replication.heartbeat()], 7_000);
    assert.deepEqual(Object.keys(b.tracker.list('room:a')), ['zed']);
  });

  it('what is not a replication message is an error value, not a crash', () => {
    const b = node('b');
    for (const bad of [{}, { type: 'delta', node: 'a', inc: 'x', seq: -1, ops: [] }, { type: 'state', node: 'a', inc: 'x', seq: 1, entries: [{ topic: 1 }] }]) {
      const received = b.replication.receive(bad, 0);
      assert.ok(!received.ok && received.error.reason === 'not_a_replication_message');
    }
  });
});
