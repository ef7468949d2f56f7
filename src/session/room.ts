import { err, ok, type Result } from '../../supervision/result.js';
import * as Encode from '../channel/encode.js';
import { Reason } from '../channel/errors.js';
import type { TextFrame } from '../channel/frame.js';
import * as Accounts from '../chat/accounts.js';
import { fieldErrors, type ChatError } from '../chat/errors.js';
import * as Messages from '../chat/messages.js';
import * as Typing from '../chat/typing.js';
import { roomName } from '../chat/schemas.js';
import { Metrics } from '../metrics/registry.js';
import * as Presence from '../presence/presence.js';
import type { Broadcast } from '../pubsub/broadcast.js';
import * as PubSub from '../pubsub/pubsub.js';
import { pageFloor } from '../transport/room-history.js';
import { deleteMsg, loadAround, loadOlder, roomJoin, signedRoomJoin, USER_SOCKETS_PREFIX } from './params.js';
import { alive, joinReply, replyError, replyOk, type Channel, type SessionCtx, type SessionState } from './state.js';

/**
 * The room channel: what `room:<name>` does on join and on each event. It
 * translates between frames and the chat contexts; the rules live there.
 */

function errorDetails(error: ChatError): Record<string, unknown> {
  return error.reason === 'invalid_params' ? { errors: error.errors } : {};
}

/** A join refused for a reason retrying cannot fix: the error reply, then phx_close so the client stops. */
function refuse(state: SessionState, frame: TextFrame, joinRef: string, reason: string, details: Record<string, unknown> = {}): void {
  if (!alive(state)) return;
  replyError(state, frame, reason, details);
  state.conn.send(Encode.phxClose(joinRef, frame.topic));
}

/** Who the join's params say signs in: the socket's signed user (the name, if sent, must be its), or a browser's name and token. */
function credentials(state: SessionState, frame: TextFrame): Result<Accounts.SignIn, Record<string, string>> {
  const signed = state.conn.signed;
  if (signed !== undefined) {
    const params = signedRoomJoin.safeParse(frame.payload);
    if (!params.success) return err(fieldErrors(params.error));
    const { username } = params.data;
    if (username !== undefined && username.toLowerCase() !== signed.name.toLowerCase()) {
      return err({ username: `does not match the signed-in user (${signed.name})` });
    }
    return ok(signed);
  }
  const params = roomJoin.safeParse(frame.payload);
  if (!params.success) return err(fieldErrors(params.error));
  return ok({ name: params.data.username, token: params.data.token, mode: state.config.names });
}

async function signIn(state: SessionState, frame: TextFrame, joinRef: string, ctx: SessionCtx): Promise<Accounts.User | undefined> {
  const given = credentials(state, frame);
  if (!given.ok) {
    refuse(state, frame, joinRef, Reason.invalidParams, { errors: given.error });
    return undefined;
  }
  const who = given.value;
  if (state.user !== undefined) {
    // One user per socket: later joins must sign in as the same one.
    const name = 'sub' in who ? who.name : String(who.name);
    if (state.user.name.toLowerCase() === name.toLowerCase() && state.user.credential === Accounts.credentialOf(who)) return state.user;
    refuse(state, frame, joinRef, Reason.invalidParams, { errors: { username: `this connection is signed in as ${state.user.name}` } });
    return undefined;
  }
  const account = await Accounts.signIn(who);
  if (!account.ok) {
    const { reason } = account.error;
    // Taken or invalid: retrying cannot help, so the client is told to stop. The rest it retries.
    if (reason === 'invalid_params' || reason === 'username_taken') refuse(state, frame, joinRef, reason, errorDetails(account.error));
    else replyError(state, frame, reason);
    return undefined;
  }
  const user = account.value;
  state.user = user;
  state.conn.user = user.name;
  // The user's sockets as a whole: a `disconnect` broadcast here closes all of them.
  await PubSub.subscribe(`${USER_SOCKETS_PREFIX}${user.name}`, ctx.self);
  return user;
}

/** A join's history, and the room's newest page if it read one (which it may leave for the next joins). */
interface Read {
  readonly history: Result<readonly Messages.ChatMessage[], ChatError>;
  readonly held: boolean;
  readonly page: readonly Messages.ChatMessage[] | undefined;
}

/**
 * History held by the node (read in the same step as the join's tap is made),
 * or the room's newest page from the database; a rejoin takes its catch-up
 * from that page when the page reaches back to its last_seen_id, and reads its
 * own only when it does not.
 */
async function readHistory(state: SessionState, topic: string, room: string, since: number | undefined): Promise<Read> {
  const { history } = state.conn.fastlane;
  const held = since === undefined ? history.recent(topic) : history.since(topic, since);
  if (held !== undefined) return { history: ok(held), held: true, page: undefined };
  const page = await Messages.recent(room);
  if (!page.ok || since === undefined) return { history: page, held: false, page: page.ok ? page.value : undefined };
  const reaches = since >= pageFloor(page.value, Messages.RECENT_LIMIT);
  const caughtUp = reaches ? ok(page.value.filter((message) => message.id > since)) : await Messages.since(room, since);
  return { history: caughtUp, held: false, page: page.value };
}

function lastSeen(frame: TextFrame): number | undefined {
  const parsed = signedRoomJoin.shape.last_seen_id.safeParse(frame.payload['last_seen_id']);
  return parsed.success && parsed.data !== null ? parsed.data : undefined;
}

/**
 * Join: sign in, then catch up exactly once. Broadcasts on the room are tapped
 * before the history query starts, and the join waits (Messages.announced)
 * until the broadcasts of all the history holds have been dispatched here; once
 * the reply is out, the tapped ones the history did not hold follow in order,
 * and only then does the socket switch to the fastlane, all in one synchronous
 * step, so nothing is missed or doubled.
 *
 * History the fastlane holds (RoomHistory) is read in the same step as the tap
 * is made, and is what has been dispatched here up to then: no query, no wait.
 * A first join that read the database leaves its page there, if nothing was said
 * or deleted in the room while it read.
 */
export async function joinRoom(state: SessionState, frame: TextFrame, joinRef: string, ctx: SessionCtx): Promise<void> {
  const room = roomName.safeParse(frame.topic.slice(Messages.ROOM_PREFIX.length));
  if (!room.success) {
    refuse(state, frame, joinRef, Reason.invalidParams, { errors: { topic: `room name ${room.error.issues[0]?.message ?? 'is invalid'}` } });
    return;
  }
  const user = await signIn(state, frame, joinRef, ctx);
  if (user === undefined) return;

  const tapped: Array<{ readonly broadcast: Broadcast; readonly frame: string }> = [];
  state.conn.addTap(frame.topic, state.conn.fastlane.tap(frame.topic, (broadcast, encoded) => tapped.push({ broadcast, frame: encoded })));
  const since = lastSeen(frame);
  const read = await readHistory(state, frame.topic, room.data, since);
  if (read.held) Metrics.historyHeld();
  const { history } = read;
  const tk = Accounts.presenceTag(user.credential);
  const tracked = history.ok ? await Presence.track(ctx.self, frame.topic, user.name, { online_at: Date.now(), tk }, state.config.maxTabs) : undefined;
  if (tracked?.ok === false && tracked.error.reason === 'too_many_metas') {
    state.conn.removeTap(frame.topic);
    refuse(state, frame, joinRef, Reason.tooManyTabs, { limit: state.config.maxTabs });
    return;
  }
  if (!state.inLobby && tracked?.ok === true) {
    await Presence.track(ctx.self, Accounts.USERS_TOPIC, user.name, { online_at: Date.now(), tk });
    state.inLobby = true;
  }
  const presence = tracked?.ok === true ? await Presence.joinState(frame.topic) : undefined;
  // Every message the history holds has come by the tap now (or before it): none can come again by the fastlane.
  // Most joins read a history this node has dispatched already, and need not wait for anything.
  // The page read, if any: what the join leaves for the next ones must have been dispatched here too.
  const newest = Math.max(0, ...(read.page ?? (history.ok ? history.value : [])).map((message) => message.id));
  const dispatched = read.held || newest <= state.conn.fastlane.dispatchedThrough(frame.topic);
  const synced = presence?.ok === true ? (dispatched ? ok(undefined) : await Messages.announced()) : undefined;
  if (!history.ok || presence === undefined || !presence.ok || synced?.ok !== true) {
    state.conn.removeTap(frame.topic);
    if (tracked?.ok === true) await Presence.untrack(ctx.self, frame.topic, user.name);
    replyError(state, frame, Reason.dbUnavailable);
    return;
  }

  if (!alive(state)) return;
  const messages = history.value;
  const lastId = Math.max(since ?? 0, newest);
  const frames = [
    ...joinReply(state, Encode.reply(joinRef, frame.ref ?? joinRef, frame.topic, 'ok', { messages, user: { id: user.id, name: user.name } })),
    Encode.push(joinRef, frame.topic, presence.value.event, Encode.asPayloadJson(presence.value.json)),
  ];
  // A large room sends no diffs, so tapped ones ahead of a state predate the summary: phoenix.js would hold them
  // until the next presence_state and apply them on top of it, bringing back who has left since.
  let stateless = presence.value.event === Presence.PresenceEvent.summary;
  let changed = false;
  for (const { broadcast, frame: encoded } of tapped) {
    changed ||= Messages.HISTORY_EVENTS.has(broadcast.event);
    const id = broadcast.payload['id'];
    if (broadcast.event === 'new_msg' && typeof id === 'number' && id <= lastId) continue;
    if (broadcast.event === Presence.PresenceEvent.state) stateless = false;
    if (stateless && broadcast.event === Presence.PresenceEvent.diff) continue;
    frames.push(encoded);
  }
  if (read.page !== undefined && !changed) state.conn.fastlane.history.remember(frame.topic, read.page);
  state.conn.joined.set({ topic: frame.topic, joinRef, room: room.data, typing: Typing.typingThrottle() });
  state.conn.sendAll(frames);
  state.conn.subscribe(frame.topic);
  state.conn.removeTap(frame.topic);
}

export async function handleRoomEvent(state: SessionState, channel: Channel, frame: TextFrame): Promise<void> {
  const user = state.user;
  const room = channel.room;
  if (user === undefined || room === undefined) return replyError(state, frame, Reason.unknownEvent);
  switch (frame.event) {
    case 'new_msg': {
      const created = await Messages.createMessage(user, { room, body: frame.payload['body'], nonce: frame.payload['nonce'] });
      if (!created.ok) return replyError(state, frame, created.error.reason, errorDetails(created.error));
      Presence.spokeIn(channel.topic, user.name);
      return replyOk(state, frame, { id: created.value.id });
    }
    case 'delete_msg': {
      const input = deleteMsg.safeParse(frame.payload);
      if (!input.success) return replyError(state, frame, Reason.invalidParams, { errors: fieldErrors(input.error) });
      const deleted = await Messages.deleteMessage(user, input.data.id);
      if (!deleted.ok) return replyError(state, frame, deleted.error.reason, errorDetails(deleted.error));
      return replyOk(state, frame);
    }
    case 'load_older': {
      const input = loadOlder.safeParse(frame.payload);
      if (!input.success) return replyError(state, frame, Reason.invalidParams, { errors: fieldErrors(input.error) });
      const page = await Messages.before(room, input.data.before_id);
      if (!page.ok) return replyError(state, frame, page.error.reason, errorDetails(page.error));
      return replyOk(state, frame, { messages: page.value });
    }
    case 'search': {
      const found = await Messages.search(frame.payload['q'], { room, beforeId: frame.payload['before_id'] });
      if (!found.ok) return replyError(state, frame, found.error.reason, errorDetails(found.error));
      return replyOk(state, frame, { messages: found.value });
    }
    case 'load_around': {
      const input = loadAround.safeParse(frame.payload);
      if (!input.success) return replyError(state, frame, Reason.invalidParams, { errors: fieldErrors(input.error) });
      const context = await Messages.around(room, input.data.id);
      if (!context.ok) return replyError(state, frame, context.error.reason, errorDetails(context.error));
      return replyOk(state, frame, { messages: context.value });
    }
    case 'typing':
      // Always ok, sent on or not: a client typing fast is not doing anything wrong.
      if (channel.typing !== undefined) await Typing.typing(user, room, channel.typing, Date.now(), { pid: state.self, socket: state.conn });
      return replyOk(state, frame);
    default:
      return replyError(state, frame, Reason.unknownEvent, { event: frame.event });
  }
}
