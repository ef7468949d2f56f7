import { isAlive, type Ctx, type Pid } from '../../supervision/index.js';
import * as Encode from '../channel/encode.js';
import type { Payload, TextFrame } from '../channel/frame.js';
import type { NamesMode, User } from '../chat/accounts.js';
import type { TypingThrottle } from '../chat/typing.js';
import type { Conn } from '../transport/conn.js';
import type { Joined } from '../transport/joined.js';
import type { Broadcast } from '../pubsub/broadcast.js';
import type { JoinGate } from './join-gate.js';

/** What a Session knows; all of it dies with the actor (the Conn keeps what must outlive it). */

export interface SessionConfig {
  readonly maxChannels: number;
  readonly names: NamesMode;
  /** Presence metas one name may hold in one topic. */
  readonly maxTabs: number;
  /** The node's room joins, bounded (one gate for every Session of the node). */
  readonly joins: JoinGate;
}

export interface Channel extends Joined {
  /** The room name for room channels; undefined for the lobby. */
  readonly room: string | undefined;
  /** Room channels: when this one last told its room its user is typing. */
  readonly typing?: TypingThrottle;
}

export interface SessionState {
  readonly conn: Conn<Channel>;
  /** This Session's own pid: a handler still running after its process was killed must not speak for its successor. */
  readonly self: Pid;
  readonly config: SessionConfig;
  user: User | undefined;
  /** Whether this session is counted online in the lobby (it is while it has a room joined). */
  inLobby: boolean;
  /** The phx_close of the join a new join of the same topic replaces: it goes right after the new reply (§4.5). */
  replaced: string | undefined;
}

export type SessionInfo =
  | { readonly type: 'frame'; readonly frame: TextFrame; readonly bytes: number }
  | { readonly type: 'closed' }
  | Broadcast;

export type SessionProtocol = { readonly call: never; readonly cast: never; readonly info: SessionInfo };
export type SessionCtx = Ctx<SessionProtocol>;

/** A successful join's reply and the frames that must follow it before the channel's own pushes. */
export function joinReply(state: SessionState, reply: string): string[] {
  const frames = state.replaced === undefined ? [reply] : [reply, state.replaced];
  state.replaced = undefined;
  return frames;
}

/**
 * Whether this Session still lives. JavaScript cannot stop a handler that a
 * kill interrupted at an await: what it would send after that is dropped, as a
 * dead Erlang process sends nothing (the socket is its successor's now).
 */
export const alive = (state: SessionState): boolean => isAlive(state.self);

/** Replies to a push: status ok with `response`, or error with a reason (and details for the client to show). */
export function replyOk(state: SessionState, frame: TextFrame, response: Payload = {}): void {
  if (frame.ref !== null && alive(state)) state.conn.send(Encode.reply(frame.joinRef, frame.ref, frame.topic, 'ok', response));
}

export function replyError(state: SessionState, frame: TextFrame, reason: string, details: Payload = {}): void {
  if (frame.ref !== null && alive(state)) state.conn.send(Encode.reply(frame.joinRef, frame.ref, frame.topic, 'error', { reason, ...details }));
}
