/**
 * The newest messages of rooms, as this node has dispatched them, so that a
 * join reads its history here instead of from the database: in a room of 100
 * filling up, or coming back after a restart, every member's join would
 * otherwise read the same page.
 *
 * An entry starts as what a join read from the database at a point where it
 * knew that page to be exactly what this node had dispatched (nothing said or
 * deleted in the room since it started reading, and all it read already
 * dispatched here). From then on the fastlane tells it every `new_msg` and
 * `msg_deleted` it dispatches there, in the room's id order, so the entry is
 * never behind the room.
 *
 * Pure: the fastlane and the joins tell it what happened. No actors, no I/O.
 */

interface Entry<M> {
  /** Oldest first, at most `limit`. */
  messages: M[];
  /** Every live message of the room with a higher id is held (0: the whole room is). */
  floor: number;
}

/**
 * Bumped when this node may have missed broadcasts (a LISTEN gap with
 * CLUSTER=1): every history held before it is dropped, in every instance.
 */
let era = 0;

export function forgetAllHistory(): void {
  era += 1;
}

/**
 * A room's newest `limit` live messages, oldest first, hold every live message
 * above this id (0: the whole room, when there are fewer than `limit`).
 */
export function pageFloor(page: readonly { readonly id: number }[], limit: number): number {
  return page.length < limit ? 0 : (page[0]?.id ?? 1) - 1;
}

export class RoomHistory<M extends { readonly id: number }> {
  /** In order of use, the least recently used first: the one dropped when over capacity. */
  private readonly rooms = new Map<string, Entry<M>>();
  private held = 0;
  private seenEra = era;

  /**
   * @param limit what a first join's history holds at most (Messages.RECENT_LIMIT)
   * @param capacity messages held in all, over every room
   */
  constructor(
    private readonly limit: number,
    private readonly capacity: number,
  ) {}

  holds(topic: string): boolean {
    return this.entry(topic) !== undefined;
  }

  /** The room's newest `limit` messages, oldest first; undefined when this node does not know them. */
  recent(topic: string): readonly M[] | undefined {
    const entry = this.use(topic);
    if (entry === undefined) return undefined;
    // Fewer than a page after deletes: older ones, not held, belong in it.
    if (entry.floor !== 0 && entry.messages.length < this.limit) return undefined;
    return entry.messages;
  }

  /**
   * The messages after `afterId`, oldest first (a rejoin's catch-up), the newest
   * `limit` of them; undefined when some of them may be older than what is held.
   */
  since(topic: string, afterId: number): readonly M[] | undefined {
    const entry = this.use(topic);
    if (entry === undefined || afterId < entry.floor) return undefined;
    return entry.messages.filter((message) => message.id > afterId);
  }

  /**
   * What a join read as the room's newest `limit` messages, at a point where
   * it knew them to be the room as dispatched here (see the file's head).
   */
  remember(topic: string, page: readonly M[]): void {
    this.sync();
    if (page.length > this.limit || page.length > this.capacity) return;
    this.forget(topic);
    this.rooms.set(topic, { messages: [...page], floor: pageFloor(page, this.limit) });
    this.held += page.length;
    this.shed();
  }

  /** A message dispatched here, the room's newest. */
  said(topic: string, message: M): void {
    const entry = this.entry(topic);
    if (entry === undefined) return;
    const last = entry.messages.at(-1);
    // Out of order would mean a broadcast this node did not see: start again from the database.
    if (last !== undefined && message.id <= last.id) return this.forget(topic);
    entry.messages.push(message);
    this.held += 1;
    if (entry.messages.length > this.limit) {
      const dropped = entry.messages.shift();
      this.held -= 1;
      entry.floor = dropped?.id ?? entry.floor;
    }
    this.shed();
  }

  /** A message deleted (its msg_deleted dispatched here). */
  deleted(topic: string, id: number): void {
    const entry = this.entry(topic);
    if (entry === undefined) return;
    const at = entry.messages.findIndex((message) => message.id === id);
    if (at !== -1) {
      entry.messages.splice(at, 1);
      this.held -= 1;
      return;
    }
    // Newer than all held (its new_msg, from another node, not here yet): it would come in after its deletion.
    if (id > (entry.messages.at(-1)?.id ?? entry.floor)) this.forget(topic);
  }

  /** What is held of the room can no longer be trusted. */
  forget(topic: string): void {
    const entry = this.rooms.get(topic);
    if (entry === undefined) return;
    this.rooms.delete(topic);
    this.held -= entry.messages.length;
  }

  /** Every room: a user's name changed, and history shows authors by name. */
  clear(): void {
    this.rooms.clear();
    this.held = 0;
  }

  get size(): { readonly rooms: number; readonly messages: number } {
    this.sync();
    return { rooms: this.rooms.size, messages: this.held };
  }

  private entry(topic: string): Entry<M> | undefined {
    this.sync();
    return this.rooms.get(topic);
  }

  private use(topic: string): Entry<M> | undefined {
    const entry = this.entry(topic);
    if (entry === undefined) return undefined;
    // Most recently used last.
    this.rooms.delete(topic);
    this.rooms.set(topic, entry);
    return entry;
  }

  /** Least recently used rooms go until the rest fit. */
  private shed(): void {
    for (const oldest of this.rooms.keys()) {
      if (this.held <= this.capacity) return;
      this.forget(oldest);
    }
  }

  private sync(): void {
    if (this.seenEra === era) return;
    this.seenEra = era;
    this.clear();
  }
}
