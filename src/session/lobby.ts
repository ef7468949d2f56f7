import * as Encode from '../channel/encode.js';
import { Reason } from '../channel/errors.js';
import type { TextFrame } from '../channel/frame.js';
import * as Accounts from '../chat/accounts.js';
import * as Presence from '../presence/presence.js';
import { alive, joinReply, replyError, replyOk, type SessionState } from './state.js';

/**
 * The lobby channel (`users:lobby`), the landing page's view: the users most
 * recently seen, a page at a time (`load_users`), who is online, and the rooms
 * directory. The socket subscribes first and lists after, so a change in
 * between arrives as a diff the client applies on top (phoenix.js holds
 * presence diffs until the state; the page holds `rooms_diff` until the reply).
 */

const pageJson = (page: Accounts.UsersPage) => ({ users: page.users, total: page.total, ...(page.next === undefined ? {} : { next: page.next }) });

/** `load_users { after }`: the page after the cursor a previous page gave as `next`. */
export async function handleLobbyEvent(state: SessionState, frame: TextFrame): Promise<void> {
  if (frame.event !== 'load_users') return replyError(state, frame, Reason.unknownEvent, { event: frame.event });
  const page = await Accounts.listUsers(frame.payload['after']);
  if (!page.ok) return replyError(state, frame, page.error.reason, page.error.reason === 'invalid_params' ? { errors: page.error.errors } : {});
  replyOk(state, frame, pageJson(page.value));
}
export async function joinLobby(state: SessionState, frame: TextFrame, joinRef: string): Promise<void> {
  state.conn.subscribe(frame.topic);
  const [users, online, rooms] = await Promise.all([Accounts.listUsers(), Presence.joinState(frame.topic), Presence.rooms()]);
  if (!alive(state)) return;
  if (!users.ok || !online.ok || !rooms.ok) {
    state.conn.unsubscribe(frame.topic);
    replyError(state, frame, Reason.dbUnavailable);
    return;
  }
  state.conn.joined.set({ topic: frame.topic, joinRef, room: undefined });
  state.conn.sendAll([
    ...joinReply(state, Encode.reply(joinRef, frame.ref ?? joinRef, frame.topic, 'ok', { ...pageJson(users.value), rooms: rooms.value })),
    // Past PRESENCE_FULL_LIMIT online, a presence_summary (the count) instead of everyone.
    Encode.push(joinRef, frame.topic, online.value.event, Encode.asPayloadJson(online.value.json)),
  ]);
}
