import * as Encode from '../channel/encode.js';
import { Reason } from '../channel/errors.js';
import type { TextFrame } from '../channel/frame.js';
import * as Accounts from '../chat/accounts.js';
import * as Presence from '../presence/presence.js';
import { alive, joinReply, replyError, type SessionState } from './state.js';

/**
 * The lobby channel (`users:lobby`), the landing page's view: every user, and
 * who is online. The socket subscribes first and lists after, so a change in
 * between arrives as a diff the client applies on top (phoenix.js holds diffs
 * until the state).
 */
export async function joinLobby(state: SessionState, frame: TextFrame, joinRef: string): Promise<void> {
  state.conn.subscribe(frame.topic);
  const [users, online] = await Promise.all([Accounts.listUsers(), Presence.listJson(frame.topic)]);
  if (!alive(state)) return;
  if (!users.ok || !online.ok) {
    state.conn.unsubscribe(frame.topic);
    replyError(state, frame, Reason.dbUnavailable);
    return;
  }
  state.channels.set(frame.topic, { topic: frame.topic, joinRef, room: undefined });
  state.conn.joined.set(frame.topic, joinRef);
  state.conn.sendAll([
    ...joinReply(state, Encode.reply(joinRef, frame.ref ?? joinRef, frame.topic, 'ok', { users: users.value.map((user) => ({ name: user.name })) })),
    Encode.push(joinRef, frame.topic, 'presence_state', online.value),
  ]);
}
