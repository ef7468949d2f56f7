import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { changesJson, compareRooms, listingJson, RoomsDirectory, type DirectoryChanges, type ListedRoom, type RoomView } from '../src/presence/directory.js';

/**
 * The rooms directory (src/presence/directory.ts), driven as the Presence
 * actor drives it: counts after presence changes, message times, and a flush
 * per batch. What a lobby client holds is modelled as the page does it: the
 * join's listing, then every later flush's changes applied by value.
 */

const LIMIT = 4;
// Few names, so that rooms collide, empty, refill and move in and out of the listing; "__proto__" is a valid room name.
const roomName = fc.constantFrom('a', 'b', 'c', 'd', 'e', 'f', '__proto__');

type Step =
  | { readonly kind: 'count'; readonly room: string; readonly online: number }
  | { readonly kind: 'active'; readonly room: string; readonly dt: number }
  | { readonly kind: 'flush' };

const step: fc.Arbitrary<Step> = fc.oneof(
  fc.record({ kind: fc.constant('count' as const), room: roomName, online: fc.nat(5) }),
  fc.record({ kind: fc.constant('active' as const), room: roomName, dt: fc.integer({ min: -5, max: 20 }) }),
  fc.constant({ kind: 'flush' as const }),
);

/** A client's copy: room -> view. */
type Held = Map<string, RoomView>;

const apply = (held: Held, changes: DirectoryChanges): void => {
  for (const [name, view] of changes) {
    if (view === null) held.delete(name);
    else held.set(name, view);
  }
};

const sorted = (held: Held): ListedRoom[] => [...held].map(([name, view]) => ({ name, ...view })).sort(compareRooms);

/** The model: every room's truth, the listing being its first LIMIT in order. */
function truth(rooms: Map<string, RoomView>): ListedRoom[] {
  return [...rooms]
    .filter(([, view]) => view.online > 0 || view.lastActiveAt !== undefined)
    .map(([name, view]) => ({ name, ...view }))
    .sort(compareRooms)
    .slice(0, LIMIT);
}

interface Played {
  /** The listing after each flush (index 0: before any), and the changes of each flush. */
  readonly listings: ReadonlyArray<readonly ListedRoom[]>;
  readonly changes: DirectoryChanges[];
  readonly model: ListedRoom[];
  readonly last: readonly ListedRoom[];
}

function play(steps: readonly Step[]): Played {
  const directory = new RoomsDirectory(LIMIT);
  const model = new Map<string, RoomView>();
  const listings: Array<readonly ListedRoom[]> = [directory.listing()];
  const changes: DirectoryChanges[] = [];
  let now = 1_000;
  for (const s of steps) {
    if (s.kind === 'count') {
      directory.counted(s.room, s.online);
      model.set(s.room, { online: s.online, lastActiveAt: model.get(s.room)?.lastActiveAt });
    } else if (s.kind === 'active') {
      // A time may come out of order (another node's, the database's): the newest stays.
      now += s.dt;
      directory.active(s.room, now);
      const before = model.get(s.room);
      model.set(s.room, { online: before?.online ?? 0, lastActiveAt: Math.max(before?.lastActiveAt ?? -1, now) });
    } else {
      const flushed = directory.flush();
      if (flushed !== undefined) {
        assert.ok(flushed.size > 0, 'a flush with something to say says something');
        changes.push(flushed);
        listings.push(directory.listing());
      }
    }
  }
  const final = directory.flush();
  if (final !== undefined) {
    changes.push(final);
    listings.push(directory.listing());
  }
  return { listings, changes, model: truth(model), last: directory.listing() };
}

describe('rooms directory (pure)', () => {
  it('after a flush, the listing is the first LIMIT rooms in order: most online, then most recently active, then name', () => {
    fc.assert(
      fc.property(fc.array(step, { maxLength: 80 }), (steps) => {
        const { model, last } = play(steps);
        assert.deepEqual(last, model);
      }),
      { numRuns: 500 },
    );
  });

  it('a client that joins after any flush and applies every later change holds exactly the latest listing', () => {
    fc.assert(
      fc.property(fc.array(step, { maxLength: 80 }), fc.nat(), (steps, pick) => {
        const { listings, changes, last } = play(steps);
        const joinedAt = pick % listings.length;
        const held: Held = new Map((listings[joinedAt] ?? []).map(({ name, ...view }) => [name, view]));
        for (const flushed of changes.slice(joinedAt)) apply(held, flushed);
        assert.deepEqual(sorted(held), [...last]);
      }),
      { numRuns: 500 },
    );
  });

  it('changes that arrived before the join reply, applied again on top of a later listing, change nothing', () => {
    fc.assert(
      fc.property(fc.array(step, { maxLength: 80 }), fc.nat(), fc.nat(), (steps, a, b) => {
        const { listings, changes, last } = play(steps);
        // Subscribed at flush `from`, listed at flush `at` >= `from`: held from `from` on, applied after the listing.
        const from = a % listings.length;
        const at = from + (b % (listings.length - from));
        const held: Held = new Map((listings[at] ?? []).map(({ name, ...view }) => [name, view]));
        for (const flushed of changes.slice(from)) apply(held, flushed);
        assert.deepEqual(sorted(held), [...last]);
      }),
      { numRuns: 500 },
    );
  });

  it('a flush holds only the rooms whose listing changed, and a room that empties stays listed with 0 online', () => {
    const directory = new RoomsDirectory(LIMIT);
    for (const [room, online] of [['a', 3], ['b', 2], ['c', 1]] as const) directory.counted(room, online);
    directory.active('c', 5_000);
    assert.deepEqual([...(directory.flush() ?? [])].map(([name]) => name).sort(), ['a', 'b', 'c']);
    assert.equal(directory.flush(), undefined, 'nothing changed since');
    directory.counted('b', 3);
    directory.counted('b', 2);
    assert.equal(directory.flush(), undefined, 'back where it was within the batch: nothing to tell');
    directory.counted('c', 0);
    assert.deepEqual([...(directory.flush() ?? [])], [['c', { online: 0, lastActiveAt: 5_000 }]]);
    // A room with nobody and no message is not a room: it leaves the listing.
    directory.counted('a', 0);
    assert.deepEqual([...(directory.flush() ?? [])], [['a', null]]);
    assert.deepEqual(
      directory.listing().map((room) => room.name),
      ['b', 'c'],
    );
  });

  it('1,000 rooms filling to 20 each: one change per room per flush at most, and the listing never longer than its limit', () => {
    const directory = new RoomsDirectory(50);
    let largest = 0;
    let flushes = 0;
    for (let member = 1; member <= 20; member++) {
      for (let room = 0; room < 1_000; room++) {
        directory.counted(`room-${room}`, member);
        // A flush per 100 joins: a batch window at 1,000 joins per second with PRESENCE_BATCH_MS=100.
        if (room % 100 === 99) {
          const changes = directory.flush();
          flushes += 1;
          largest = Math.max(largest, changes?.size ?? 0);
          assert.ok(directory.listing().length <= 50);
        }
      }
    }
    assert.equal(flushes, 200);
    // A change is a room entering, leaving or changing in the listing of 50: never more than both lists' rooms.
    assert.ok(largest <= 100, `largest flush: ${largest} rooms`);
  });

  it('forgets the least recently active empty rooms past what it retains, never a listed one', () => {
    const directory = new RoomsDirectory(2, 10);
    for (let i = 0; i < 30; i++) directory.active(`r${i}`, 1_000 + i);
    directory.flush();
    assert.deepEqual(
      directory.listing().map((room) => room.name),
      ['r29', 'r28'],
    );
    assert.equal(directory.lastActiveAt('r29'), 1_029);
    assert.equal(directory.lastActiveAt('r0'), undefined, 'an old empty room is forgotten');
  });

  it('on the wire: ISO times or null, and a room called __proto__ is plain data', () => {
    assert.deepEqual(listingJson([{ name: 'a', online: 2, lastActiveAt: Date.UTC(2026, 0, 2, 3, 4, 5) }, { name: 'b', online: 1, lastActiveAt: undefined }]), [
      { name: 'a', online: 2, last_active_at: '2026-01-02T03:04:05.000Z' },
      { name: 'b', online: 1, last_active_at: null },
    ]);
    const json = JSON.stringify({ rooms: changesJson(new Map([['__proto__', { online: 1, lastActiveAt: undefined }], ['x', null]])) });
    assert.equal(json, '{"rooms":{"__proto__":{"online":1,"last_active_at":null},"x":null}}');
  });
});
