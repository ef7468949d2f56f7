/**
 * The rooms directory: how many people are online in each room and when it
 * last had a message, and the `limit` rooms the landing page lists. Presence
 * feeds it counts (from its tracker, every node's entries) and message times
 * (its own speakers, replicated ones, the database's seed); at each flush it
 * answers what changed in the listing since the previous flush.
 *
 * A client starts from `listing()` (the listing as of the last flush) and
 * applies every later flush's changes: it then holds exactly the listing of
 * the latest flush. A change also applied again on top of a later listing
 * (one that arrived before the join's reply) does no harm: changes carry
 * values, never increments.
 *
 * Pure: no actors, no I/O, no clock (times are passed in).
 */
import type { Result } from '../../supervision/result.js';

/** What a room looks like in the listing; `lastActiveAt` in ms since the epoch, undefined when no message is known. */
export interface RoomView {
  readonly online: number;
  readonly lastActiveAt: number | undefined;
}

export interface ListedRoom extends RoomView {
  readonly name: string;
}

/** A room's newest message, as the database knows it. */
export interface RoomActivity {
  readonly room: string;
  readonly at: number;
}

/** Where the database's room activity comes from (the rooms context, wired at start); any error has its reason. */
export type ActivitySource = () => Promise<Result<readonly RoomActivity[], { readonly reason: string; readonly detail?: string }>>;

/** A flush's changes: room -> what it is now, or null for a room no longer listed. */
export type DirectoryChanges = ReadonlyMap<string, RoomView | null>;

/** The listing's order: most people online first, then the most recently active, then by name. */
export function compareRooms(a: ListedRoom, b: ListedRoom): number {
  return b.online - a.online || (b.lastActiveAt ?? -1) - (a.lastActiveAt ?? -1) || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0);
}

const sameView = (a: RoomView, b: RoomView): boolean => a.online === b.online && a.lastActiveAt === b.lastActiveAt;

export class RoomsDirectory {
  private readonly rooms = new Map<string, RoomView>();
  private shown = new Map<string, ListedRoom>();
  private shownList: readonly ListedRoom[] = [];
  private dirty = false;

  /**
   * `limit`: rooms listed. `retain`: rooms nobody is in that are remembered
   * (the most recently active ones), so the map does not grow with every room
   * ever spoken in; one that comes back unknown starts without a last activity.
   */
  constructor(
    private readonly limit: number,
    private readonly retain: number = 10 * limit,
  ) {}

  /** The room has `online` distinct users now. */
  counted(room: string, online: number): void {
    const current = this.rooms.get(room);
    if (current?.online === online) return;
    this.set(room, { online, lastActiveAt: current?.lastActiveAt });
  }

  /** A message was sent in the room at `at`; an older time than the one known changes nothing. */
  active(room: string, at: number): void {
    const current = this.rooms.get(room);
    if (current?.lastActiveAt !== undefined && current.lastActiveAt >= at) return;
    this.set(room, { online: current?.online ?? 0, lastActiveAt: at });
  }

  /** The room's last known message time. */
  lastActiveAt(room: string): number | undefined {
    return this.rooms.get(room)?.lastActiveAt;
  }

  /** The listing as of the last flush: what a client starts from. Sorted by `compareRooms`. */
  listing(): readonly ListedRoom[] {
    return this.shownList;
  }

  /** What changed in the listing since the last flush (undefined: nothing), which becomes the listing. */
  flush(): DirectoryChanges | undefined {
    if (!this.dirty) return undefined;
    this.dirty = false;
    this.forget();
    const top = this.top();
    const next = new Map(top.map((room) => [room.name, room]));
    const changes = new Map<string, RoomView | null>();
    for (const room of top) {
      const before = this.shown.get(room.name);
      if (before === undefined || !sameView(before, room)) changes.set(room.name, { online: room.online, lastActiveAt: room.lastActiveAt });
    }
    for (const name of this.shown.keys()) if (!next.has(name)) changes.set(name, null);
    this.shown = next;
    this.shownList = top;
    return changes.size === 0 ? undefined : changes;
  }

  private set(room: string, view: RoomView): void {
    if (view.online === 0 && view.lastActiveAt === undefined) this.rooms.delete(room);
    else this.rooms.set(room, view);
    this.dirty = true;
  }

  /** The first `limit` rooms in order: one pass, each room binary-inserted into at most `limit` kept. */
  private top(): ListedRoom[] {
    const kept: ListedRoom[] = [];
    for (const [name, view] of this.rooms) {
      const room = { name, ...view };
      const worst = kept.at(-1);
      if (kept.length >= this.limit && worst !== undefined && compareRooms(room, worst) >= 0) continue;
      let low = 0;
      let high = kept.length;
      while (low < high) {
        const mid = (low + high) >>> 1;
        if (compareRooms(kept[mid] as ListedRoom, room) <= 0) low = mid + 1;
        else high = mid;
      }
      kept.splice(low, 0, room);
      if (kept.length > this.limit) kept.pop();
    }
    return kept;
  }

  /** Past `retain` empty rooms, the least recently active go (never a listed one); amortised: down to 90% at once. */
  private forget(): void {
    if (this.rooms.size <= this.retain) return;
    const empty = [...this.rooms].filter(([name, view]) => view.online === 0 && !this.shown.has(name));
    if (empty.length <= this.retain) return;
    empty.sort(([, a], [, b]) => (b.lastActiveAt ?? -1) - (a.lastActiveAt ?? -1));
    for (const [name] of empty.slice(Math.floor(this.retain * 0.9))) this.rooms.delete(name);
  }
}

/** A room as the wire shows it (README, `users:lobby`). */
export type RoomJson = { readonly online: number; readonly last_active_at: string | null };

const toJson = (view: RoomView): RoomJson => ({
  online: view.online,
  last_active_at: view.lastActiveAt === undefined ? null : new Date(view.lastActiveAt).toISOString(),
});

/** The join reply's `rooms`. */
export type ListingJson = ReadonlyArray<RoomJson & { readonly name: string }>;

export const listingJson = (rooms: readonly ListedRoom[]): ListingJson => rooms.map((room) => ({ name: room.name, ...toJson(room) }));

/** `rooms_diff`'s `rooms`: prototype-free, since a room may be called "__proto__". */
export function changesJson(changes: DirectoryChanges): Record<string, RoomJson | null> {
  const out = Object.create(null) as Record<string, RoomJson | null>;
  for (const [name, view] of changes) out[name] = view === null ? null : toJson(view);
  return out;
}
