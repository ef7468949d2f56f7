import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { Subscriptions } from '../src/pubsub/subscriptions.js';

/**
 * PubSub's table (src/pubsub/subscriptions.ts) against the plain model it
 * compresses: topic -> ordered set of pids, pid -> its topics. Few topics and
 * pids, so that topics go from one subscriber to many and back.
 */

type Step = { readonly kind: 'add'; readonly topic: string; readonly pid: number } | { readonly kind: 'remove'; readonly pid: number };

const TOPICS = ['room:a', 'room:b', 'users_socket:ann', '__proto__'];
const step: fc.Arbitrary<Step> = fc.oneof(
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('add' as const), topic: fc.constantFrom(...TOPICS), pid: fc.integer({ min: 1, max: 5 }) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('remove' as const), pid: fc.integer({ min: 1, max: 6 }) }) },
);

const pid = (id: number) => ({ id, path: `/app/s${id}` });

describe('PubSub subscriptions', () => {
  it('lists, counts and forgets subscribers as a map of sets does, in subscription order', () => {
    fc.assert(
      fc.property(fc.array(step, { maxLength: 60 }), (steps) => {
        const table = new Subscriptions();
        const model = new Map<string, Set<number>>();
        for (const s of steps) {
          if (s.kind === 'add') {
            const first = ![...model.values()].some((pids) => pids.has(s.pid));
            assert.equal(table.add(s.topic, pid(s.pid)), first, 'add tells whether the pid is new (PubSub monitors it then)');
            model.set(s.topic, (model.get(s.topic) ?? new Set()).add(s.pid));
          } else {
            table.removeSubscriber(s.pid);
            for (const [topic, pids] of model) {
              pids.delete(s.pid);
              if (pids.size === 0) model.delete(topic);
            }
          }
          for (const topic of TOPICS) {
            const expected = [...(model.get(topic) ?? [])];
            assert.deepEqual([...table.subscribers(topic)].map((p) => p.id), expected, topic);
            assert.equal(table.count(topic), expected.length);
          }
        }
      }),
    );
  });

  it('hands out the pids it was given', () => {
    const table = new Subscriptions();
    const ann = pid(1);
    table.add('room:a', ann);
    assert.equal([...table.subscribers('room:a')][0], ann);
  });
});
