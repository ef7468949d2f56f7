/**
 * Rooms too big for Phoenix's full presence. Up to `fullLimit` distinct keys a
 * room gets `presence_state` and `presence_diff` as ever; past it, a room is
 * "large": its members get a `presence_summary` (how many are online, who
 * spoke lately) instead, at most once per summaryIntervalMs(count). The full
 * lists cost O(N) bytes per join and per change, O(N^2) over a fill; summaries
 * are O(1) per join, and the interval caps what broadcasts cost (see there).
 *
 * Pure: the Presence actor feeds it counts, speakers and the clock, and does
 * what it answers. No actors, no I/O, no timers.
 */

/** Names a summary lists at most. */
export const RECENT_LIMIT = 20;

/** What a large room's members are told. */
export type Summary = { readonly count: number; readonly recent: readonly string[] };

/** Which presence a room's members get. */
export type Mode = 'full' | 'large';

/** A mode change its members must be told of now: a summary (to_large) or a full presence_state (to_full). */
export type Switch = 'to_large' | 'to_full';

/**
 * A summary at most every count/1000 s, never more than once a second: each
 * member gets one per interval, so the whole room gets at most about 1,000 per
 * second whatever its size (20,000 members: the count is at most 20 s old). A
 * fill of N members at r joins/s then costs at most N * (1 + 1000/r) summary
 * frames, O(N) at any join rate, where full presence costs O(N^2).
 */
export function summaryIntervalMs(count: number): number {
  return Math.max(1_000, count);
}

/**
 * Back to full only below 90% of the limit (count < 0.9 * limit, in integers):
 * a room hovering around the limit would otherwise switch on every join and
 * leave, and each switch to full costs every member a whole presence_state.
 */
function belowBand(count: number, fullLimit: number): boolean {
  return count * 10 < fullLimit * 9;
}

/** Distinct names, newest first, at most `limit`: a name said again moves to the front. */
export class RecentNames {
  private names: string[] = [];

  constructor(private readonly limit: number = RECENT_LIMIT) {}

  add(name: string): void {
    this.names = [name, ...this.names.filter((other) => other !== name)].slice(0, this.limit);
  }

  remove(name: string): void {
    this.names = this.names.filter((other) => other !== name);
  }

  list(): readonly string[] {
    return this.names;
  }
}

interface Room {
  mode: Mode;
  count: number;
  readonly recent: RecentNames;
  /** Large rooms: what members were last sent and when; a new summary goes out only when it would differ. */
  sent: Summary | undefined;
  sentAt: number;
}

const sameSummary = (a: Summary, b: Summary): boolean =>
  a.count === b.count && a.recent.length === b.recent.length && a.recent.every((name, i) => b.recent[i] === name);

/** Every room with anyone in it, by topic. A room that empties is forgotten, so this holds no more than the rooms in use. */
export class RoomSizes {
  private readonly rooms = new Map<string, Room>();
  /** The large ones, so timers scan only those. */
  private readonly large = new Set<string>();

  constructor(private readonly fullLimit: number) {}

  mode(topic: string): Mode {
    return this.rooms.get(topic)?.mode ?? 'full';
  }

  /** The room now has `count` distinct keys; answers the switch its members must be told of now, if any. */
  counted(topic: string, count: number): Switch | undefined {
    if (count === 0) {
      // Nobody left to tell: the next one in starts small.
      this.rooms.delete(topic);
      this.large.delete(topic);
      return undefined;
    }
    let room = this.rooms.get(topic);
    if (room === undefined) {
      room = { mode: 'full', count, recent: new RecentNames(), sent: undefined, sentAt: 0 };
      this.rooms.set(topic, room);
    }
    room.count = count;
    if (room.mode === 'full' && count > this.fullLimit) {
      room.mode = 'large';
      this.large.add(topic);
      return 'to_large';
    }
    if (room.mode === 'large' && belowBand(count, this.fullLimit)) {
      room.mode = 'full';
      room.sent = undefined;
      this.large.delete(topic);
      return 'to_full';
    }
    return undefined;
  }

  /** `key` (online in the room: the caller checks) sent a message. Kept in small rooms too, so a room that grows large has its speakers. */
  spoke(topic: string, key: string): void {
    this.rooms.get(topic)?.recent.add(key);
  }

  /** `key` has no presence left in the room: it is no longer a recent speaker there. */
  left(topic: string, key: string): void {
    this.rooms.get(topic)?.recent.remove(key);
  }

  /** What the room's members would be told now (a join into a large room gets this). */
  summary(topic: string): Summary {
    const room = this.rooms.get(topic);
    return { count: room?.count ?? 0, recent: [...(room?.recent.list() ?? [])] };
  }

  /** The summary, recorded as broadcast to every member at `now` (on crossing, and when due). */
  broadcast(topic: string, now: number): Summary {
    const summary = this.summary(topic);
    const room = this.rooms.get(topic);
    if (room !== undefined) {
      room.sent = summary;
      room.sentAt = now;
    }
    return summary;
  }

  /** The large rooms whose summary changed and whose interval has passed at `now`. */
  due(now: number): string[] {
    return [...this.large].filter((topic) => {
      const at = this.dueAt(topic);
      return at !== undefined && at <= now;
    });
  }

  /** When the earliest changed summary may go out, or undefined when none changed. */
  nextDue(): number | undefined {
    let next: number | undefined;
    for (const topic of this.large) {
      const at = this.dueAt(topic);
      if (at !== undefined && (next === undefined || at < next)) next = at;
    }
    return next;
  }

  private dueAt(topic: string): number | undefined {
    const room = this.rooms.get(topic);
    if (room === undefined || room.mode !== 'large') return undefined;
    if (room.sent !== undefined && sameSummary(room.sent, this.summary(topic))) return undefined;
    return room.sentAt + summaryIntervalMs(room.count);
  }
}
