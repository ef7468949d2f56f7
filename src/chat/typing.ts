import type { Pid } from '../../supervision/index.js';
import * as Presence from '../presence/presence.js';
import * as PubSub from '../pubsub/pubsub.js';
import type { User } from './accounts.js';
import { roomTopic } from './messages.js';

/**
 * "Someone is typing": told to the room's other members, never stored, at
 * most once per TYPING_INTERVAL_MS per channel (one tab in one room). The
 * throttle is pure data with the clock passed in, kept by the channel.
 */

export const TYPING_INTERVAL_MS = 2_000;

export interface TypingThrottle {
  /** When this channel last told its room; undefined until it first does. */
  last: number | undefined;
}

export const typingThrottle = (): TypingThrottle => ({ last: undefined });

/** Whether a typing at `now` goes out; if it does, the next one waits TYPING_INTERVAL_MS from now. */
export function admitTyping(throttle: TypingThrottle, now: number): boolean {
  if (throttle.last !== undefined && now - throttle.last < TYPING_INTERVAL_MS) return false;
  throttle.last = now;
  return true;
}

/**
 * Tells `room` that `user` is typing, unless the throttle drops it (silently:
 * a dropped one loses nothing the next will not say). Every other socket in the
 * room gets `typing { user }`, on every node; `sender` and its socket do not.
 * A large room (past PRESENCE_FULL_LIMIT) is told nothing: it lists nobody
 * either, and its typings would be members x typists frames a second.
 */
export async function typing(
  user: User,
  room: string,
  throttle: TypingThrottle,
  now: number,
  sender: { readonly pid: Pid; readonly socket: PubSub.SenderSocket },
): Promise<boolean> {
  if (!admitTyping(throttle, now)) return false;
  if (await Presence.isLarge(roomTopic(room))) return false;
  PubSub.broadcastFrom(sender.pid, roomTopic(room), 'typing', { user: user.name }, sender.socket);
  return true;
}
