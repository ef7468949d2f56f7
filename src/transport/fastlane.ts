import type { TemplatedApp } from '@btc-vision/uwebsockets.js';
import * as Encode from '../channel/encode.js';
import { ANNOUNCEMENTS_TOPIC } from '../chat/announcements.js';
import { USERS_TOPIC, USER_RENAMED } from '../chat/accounts.js';
import { announcedMessage, deletedId, HISTORY_EVENTS, RECENT_LIMIT, ROOM_PREFIX, type ChatMessage } from '../chat/messages.js';
import { Metrics } from '../metrics/registry.js';
import type { Broadcast } from '../pubsub/broadcast.js';
import { RoomHistory } from './room-history.js';

/**
 * The fastlane, as in Phoenix: a broadcast's frame, encoded once, goes to every
 * subscribed socket through uWS topic publish, in C++, with no actor message per
 * socket. A socket whose Session is still catching up on a join is not yet
 * subscribed; the Session taps the topic instead, so nothing published meanwhile
 * is missed, and subscribes once it has sent what it buffered.
 */
type Tap = (broadcast: Broadcast, frame: string) => void;

/** Messages of history held for joins, over every room (~300 bytes each): 1,000 rooms of 50. */
const HISTORY_CAPACITY = 50_000;

export class Fastlane {
  private readonly taps = new Map<string, Set<Tap>>();
  /** Rooms this node's sockets subscribed to; one found empty by an announcement is forgotten. */
  private readonly rooms = new Set<string>();
  /** The highest message id dispatched here per room with sockets or taps here (a room's ids come in order). */
  private readonly newest = new Map<string, number>();
  /** Rooms' newest messages as dispatched here, which a join reads instead of the database; kept up to date here. */
  readonly history = new RoomHistory<ChatMessage>(RECENT_LIMIT, HISTORY_CAPACITY);

  constructor(private readonly app: TemplatedApp) {}

  /** PubSub hands over only broadcasts whose payload serializes. */
  publish(broadcast: Broadcast): void {
    this.keepHistory(broadcast);
    if (broadcast.topic === ANNOUNCEMENTS_TOPIC) return this.announce(broadcast);
    const started = performance.now();
    const taps = this.taps.get(broadcast.topic);
    const sockets = this.app.numSubscribers(broadcast.topic);
    this.note(broadcast, taps !== undefined || sockets > 0);
    // Encoding is skipped altogether when nobody listens.
    const json = taps === undefined && sockets === 0 ? undefined : broadcast.json();
    if (json?.ok === true) {
      const frame = Encode.broadcast(broadcast.topic, broadcast.event, Encode.asPayloadJson(json.value));
      if (taps !== undefined) for (const tap of taps) tap(broadcast, frame);
      if (sockets > 0) {
        // broadcastFrom: published on the sender's own socket, which uWS leaves out.
        const skipped = broadcast.fromSocket?.publishToOthers(broadcast.topic, frame) === true;
        if (!skipped) this.app.publish(broadcast.topic, frame, false);
        Metrics.messagesOut(skipped ? sockets - 1 : sockets);
      }
    }
    Metrics.fanout((performance.now() - started) / 1_000);
  }

  /**
   * Every message of `topic` up to this id has been dispatched here (0: none
   * known). A join whose history goes no further needs not wait for the
   * broadcasts of its history: they have all come by its tap or before it.
   */
  dispatchedThrough(topic: string): number {
    return this.newest.get(topic) ?? 0;
  }

  /** Before anyone is sent the broadcast: a join that reads the history after it must find it there. */
  private keepHistory({ topic, event, payload }: Broadcast): void {
    if (topic === USERS_TOPIC && event === USER_RENAMED) return this.history.clear();
    if (!HISTORY_EVENTS.has(event) || !this.history.holds(topic)) return;
    const message = event === 'new_msg' ? announcedMessage(topic, payload) : undefined;
    const deleted = event === 'msg_deleted' ? deletedId(payload) : undefined;
    if (message !== undefined) this.history.said(topic, message);
    else if (deleted !== undefined) this.history.deleted(topic, deleted);
    else this.history.forget(topic);
  }

  private note(broadcast: Broadcast, listened: boolean): void {
    const id = broadcast.payload['id'];
    if (broadcast.event !== 'new_msg' || typeof id !== 'number') return;
    // Kept only while someone here listens, so the map is as big as the rooms in use here.
    if (listened) this.newest.set(broadcast.topic, Math.max(id, this.newest.get(broadcast.topic) ?? 0));
    else this.newest.delete(broadcast.topic);
  }

  subscribed(topic: string): void {
    if (topic.startsWith(ROOM_PREFIX)) this.rooms.add(topic);
  }

  /** An announcement goes to every room with a socket here, on the room's own topic: Phoenix clients route frames by topic. */
  private announce(broadcast: Broadcast): void {
    const json = broadcast.json();
    if (!json.ok) return;
    const payload = Encode.asPayloadJson(json.value);
    for (const topic of this.rooms) {
      const sockets = this.app.numSubscribers(topic);
      if (sockets === 0) {
        this.rooms.delete(topic);
        continue;
      }
      this.app.publish(topic, Encode.broadcast(topic, broadcast.event, payload), false);
      Metrics.messagesOut(sockets);
    }
  }

  /** Calls `tap` with every broadcast on `topic` until the returned function is called. */
  tap(topic: string, tap: Tap): () => void {
    let taps = this.taps.get(topic);
    if (taps === undefined) {
      taps = new Set();
      this.taps.set(topic, taps);
    }
    taps.add(tap);
    return () => {
      const current = this.taps.get(topic);
      current?.delete(tap);
      if (current?.size === 0) this.taps.delete(topic);
    };
  }
}
