import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { forgetAllHistory, RoomHistory } from '../src/transport/room-history.js';

/**
 * The history a node holds for joins (src/transport/room-history.ts), driven as
 * the fastlane and the joins drive it, against a model of the messages table:
 * whatever it answers is what the database would have answered, however many
 * messages were said and deleted after the page it started from.
 */

type Message = { readonly id: number };
type Step =
  | { readonly kind: 'say'; readonly room: number }
  | { readonly kind: 'delete'; readonly room: number; readonly pick: number }
  | { readonly kind: 'fill'; readonly room: number }
  | { readonly kind: 'recent'; readonly room: number }
  | { readonly kind: 'since'; readonly room: number; readonly back: number }
  | { readonly kind: 'gap' };

const topic = (room: number): string => `room:r${room}`;

/** The database's answers: a room's live messages, the newest `limit` of those after `afterId`, oldest first. */
const newest = (live: readonly Message[], limit: number, afterId = 0): Message[] => live.filter((m) => m.id > afterId).slice(-limit);

const room = fc.nat(3);
const steps = fc.array(
  fc.oneof(
    { weight: 3, arbitrary: fc.record({ kind: fc.constant('say' as const), room }) },
    { weight: 1, arbitrary: fc.record({ kind: fc.constant('delete' as const), room, pick: fc.nat() }) },
    { weight: 3, arbitrary: fc.record({ kind: fc.constant('fill' as const), room }) },
    { weight: 3, arbitrary: fc.record({ kind: fc.constant('recent' as const), room }) },
    { weight: 3, arbitrary: fc.record({ kind: fc.constant('since' as const), room, back: fc.nat(12) }) },
    { weight: 1, arbitrary: fc.constant({ kind: 'gap' as const }) },
  ),
  { minLength: 20, maxLength: 150 },
);

describe('room history held for joins', () => {
  it('property: an answer is always the database\'s; held messages never pass the capacity', () => {
    let answered = 0;
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 8 }), fc.integer({ min: 1, max: 20 }), steps, (limit, capacity, script) => {
        const history = new RoomHistory<Message>(limit, capacity);
        const table = new Map<number, Message[]>();
        let nextId = 1;
        for (const step of script) {
          if (step.kind === 'gap') {
            forgetAllHistory();
            continue;
          }
          const live = table.get(step.room) ?? [];
          table.set(step.room, live);
          switch (step.kind) {
            case 'say': {
              const message = { id: nextId++ };
              live.push(message);
              // The fastlane dispatching its new_msg.
              history.said(topic(step.room), message);
              break;
            }
            case 'delete': {
              if (live.length === 0) break;
              const [gone] = live.splice(step.pick % live.length, 1);
              if (gone !== undefined) history.deleted(topic(step.room), gone.id);
              break;
            }
            case 'fill':
              history.remember(topic(step.room), newest(live, limit));
              break;
            case 'recent': {
              const held = history.recent(topic(step.room));
              if (held !== undefined) {
                answered += 1;
                assert.deepEqual(held, newest(live, limit));
              }
              break;
            }
            case 'since': {
              const afterId = Math.max(0, nextId - 1 - step.back);
              const held = history.since(topic(step.room), afterId);
              if (held !== undefined) {
                answered += 1;
                assert.deepEqual(held, newest(live, limit, afterId), `since ${afterId}`);
              }
              break;
            }
          }
          const size = history.size;
          assert.ok(size.messages <= capacity, `${size.messages} held, capacity ${capacity}`);
          assert.ok(size.rooms <= table.size);
        }
      }),
      { numRuns: 300 },
    );
    assert.ok(answered > 300, `the history answered ${answered} reads in all: the property is not vacuous`);
  });

  it('a room with fewer messages than the limit answers any catch-up; a full page only those it covers', () => {
    const history = new RoomHistory<Message>(3, 100);
    history.remember('room:small', [{ id: 4 }, { id: 9 }]);
    assert.deepEqual(history.since('room:small', 0), [{ id: 4 }, { id: 9 }], 'the whole room is held');
    history.remember('room:busy', [{ id: 7 }, { id: 8 }, { id: 10 }]);
    assert.deepEqual(history.since('room:busy', 7), [{ id: 8 }, { id: 10 }]);
    assert.deepEqual(history.since('room:busy', 10), []);
    assert.deepEqual(history.since('room:busy', 6), [{ id: 7 }, { id: 8 }, { id: 10 }], 'a live 9 would be in the page');
    assert.equal(history.since('room:busy', 5), undefined, 'message 6 may exist and is not held');
    assert.equal(history.recent('room:other'), undefined);
  });

  it('over capacity the least recently read room goes first', () => {
    const history = new RoomHistory<Message>(5, 4);
    history.remember('room:a', [{ id: 1 }, { id: 2 }]);
    history.remember('room:b', [{ id: 3 }]);
    assert.ok(history.recent('room:a') !== undefined);
    history.remember('room:c', [{ id: 4 }, { id: 5 }]);
    assert.equal(history.recent('room:b'), undefined, 'b was read least recently');
    assert.deepEqual(history.recent('room:a'), [{ id: 1 }, { id: 2 }]);
    assert.deepEqual(history.size, { rooms: 2, messages: 4 });
  });

  it('kept up to date: a page of 3 slides with each message; after a delete it still answers catch-ups, not the page', () => {
    const history = new RoomHistory<Message>(3, 100);
    history.remember('room:a', [{ id: 1 }, { id: 2 }, { id: 3 }]);
    history.said('room:a', { id: 5 });
    assert.deepEqual(history.recent('room:a'), [{ id: 2 }, { id: 3 }, { id: 5 }]);
    assert.deepEqual(history.since('room:a', 1), [{ id: 2 }, { id: 3 }, { id: 5 }]);
    assert.equal(history.since('room:a', 0), undefined, 'message 1 slid out');
    history.deleted('room:a', 3);
    assert.equal(history.recent('room:a'), undefined, 'the page now begins with message 1, not held');
    assert.deepEqual(history.since('room:a', 2), [{ id: 5 }]);
    history.said('room:a', { id: 4 });
    assert.equal(history.holds('room:a'), false, 'out of order: a broadcast was missed, so the room is read again');
  });

  it('a delete of a message newer than all held drops the room: its new_msg, still on its way, must not come in after it', () => {
    const history = new RoomHistory<Message>(3, 100);
    history.remember('room:a', [{ id: 1 }]);
    history.deleted('room:a', 0);
    assert.deepEqual(history.recent('room:a'), [{ id: 1 }], 'an older id that is not held changes nothing');
    history.deleted('room:a', 2);
    assert.equal(history.holds('room:a'), false);
  });

  it('a gap anywhere drops what every instance holds', () => {
    const one = new RoomHistory<Message>(5, 10);
    const two = new RoomHistory<Message>(5, 10);
    one.remember('room:a', [{ id: 1 }]);
    two.remember('room:a', [{ id: 1 }]);
    forgetAllHistory();
    assert.equal(one.recent('room:a'), undefined);
    assert.equal(two.since('room:a', 0), undefined);
    assert.deepEqual(two.size, { rooms: 0, messages: 0 });
  });
});
