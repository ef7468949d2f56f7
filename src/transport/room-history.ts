/**
 * The newest messages of rooms, as this node has dispatched them, so that a
 * join reads its history here instead of from the database: in a room of 100
 * filling up, every member's join would otherwise read the same page.
 *
 * An entry is what a join read from the database at a point where it knew that
 * page to be exactly what this node had dispatched (nothing said or deleted in
 * the room since it started reading, and all it read already dispatched here).
 * From then on the fastlane forgets the room at the first `new_msg` or
 * `msg_deleted` it dispatches there, so an entry is never behind the room; the
 * next join reads the database again and puts back a fresh page.
 *
 * Pure: the fastlane and the join tell it what happened. No actors, no I/O.
 */

interface Entry<M> {
  /** Oldest first: the room's newest `limit` live messages, or all of them if fewer. */
  readonly messages: readonly M[];
}

/**
 * Bumped when this node may have missed broadcasts (a LISTEN gap with
 * CLUSTER=1): every history held before it is dropped, in every instance.
 */
let era = 0;

export function forgetAllHistory(): void {
  era += 1;
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

  /** The room's newest `limit` messages, oldest first; undefined when this node does not know them. */
  recent(topic: string): readonly M[] | undefined {
    return this.use(topic)?.messages;
  }

  /**
   * The messages after `afterId`, oldest first (a rejoin's catch-up); undefined
   * when some of them may be older than what is held.
   */
  since(topic: string, afterId: number): readonly M[] | undefined {
    const entry = this.use(topic);
    if (entry === undefined) return undefined;
    const { messages } = entry;
    const whole = messages.length < this.limit;
    // A held message at or before afterId: every one after it is held too.
    if (!whole && (messages[0]?.id ?? Number.POSITIVE_INFINITY) > afterId) return undefined;
    return messages.filter((message) => message.id > afterId);
  }

  /** What a first join read, at the point it knew it to be the room as dispatched here (see the file's head). */
  remember(topic: string, messages: readonly M[]): void {
    this.sync();
    if (messages.length > this.limit || messages.length > this.capacity) return;
    this.forget(topic);
    this.rooms.set(topic, { messages });
    this.held += messages.length;
    for (const [oldest, entry] of this.rooms) {
      if (this.held <= this.capacity) break;
      this.rooms.delete(oldest);
      this.held -= entry.messages.length;
    }
  }

  /** Something was said or deleted in the room: what is held of it is behind. */
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

  private use(topic: string): Entry<M> | undefined {
    this.sync();
    const entry = this.rooms.get(topic);
    if (entry === undefined) return undefined;
    // Most recently used last.
    this.rooms.delete(topic);
    this.rooms.set(topic, entry);
    return entry;
  }

  private sync(): void {
    if (this.seenEra === era) return;
    this.seenEra = era;
    this.clear();
  }
}
