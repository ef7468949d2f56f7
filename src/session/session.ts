import { send, startServer, type ChildSpec, type GenServer, type Parent, type Pid, type Result, type StartError } from '../../supervision/index.js';
import * as Encode from '../channel/encode.js';
import { CloseCode, CloseReason, Reason } from '../channel/errors.js';
import { Events, type TextFrame } from '../channel/frame.js';
import { USERS_TOPIC } from '../chat/accounts.js';
import { ROOM_PREFIX } from '../chat/messages.js';
import type { Conn } from '../transport/conn.js';
import { Metrics } from '../metrics/registry.js';
import * as Presence from '../presence/presence.js';
import { handleLobbyEvent, joinLobby } from './lobby.js';
import { handleRoomEvent, joinRoom } from './room.js';
import {
  alive,
  replyError,
  replyOk,
  type Channel,
  type SessionConfig,
  type SessionCtx,
  type SessionInfo,
  type SessionProtocol,
  type SessionState,
} from './state.js';

/**
 * The Session: one actor per WebSocket, which signs its user in and joins and
 * serves its channels (their list, like its budget, is kept on the Conn, which
 * outlives a crash). It handles the socket's frames one at a time, in order, as
 * a Phoenix socket process does.
 *
 * When it crashes, the Sessions supervisor starts a fresh one on the same Conn:
 * the fresh one tells the client phx_error on every topic it had joined, the
 * stock client rejoins with its last_seen_id, and catches up. Its old presences
 * and subscriptions went with the dead process (monitors).
 */

interface SessionArgs {
  readonly conn: Conn<Channel>;
  readonly config: SessionConfig;
}

/** A crashed predecessor leaves the socket as the client sees it: say so, and start clean. */
function recover(conn: Conn): void {
  conn.fenced = false;
  conn.untapAll();
  conn.unsubscribeAll();
  conn.sendAll(conn.joined.values().map(({ topic, joinRef }) => Encode.phxError(joinRef, topic, Reason.channelCrash)));
  conn.joined.clear();
}

async function leave(state: SessionState, channel: Channel, ctx: SessionCtx): Promise<void> {
  state.conn.joined.delete(channel.topic);
  state.conn.unsubscribe(channel.topic);
  if (state.user !== undefined && channel.room !== undefined) {
    await Presence.untrack(ctx.self, channel.topic, state.user.name);
    const roomsLeft = state.conn.joined.values().some((other) => other.room !== undefined);
    if (!roomsLeft && state.inLobby) {
      await Presence.untrack(ctx.self, USERS_TOPIC, state.user.name);
      state.inLobby = false;
    }
  }
}

/** A room join in its turn at the node's gate (its queries are the database's load), or refused for now with overloaded. */
async function admitted(state: SessionState, run: () => Promise<void>, frame: TextFrame): Promise<void> {
  const turn = await state.config.joins.enter();
  if (!turn.ok) {
    Metrics.joinShed();
    replyError(state, frame, Reason.overloaded);
    return;
  }
  try {
    // The socket may have closed while the join waited: its turn goes to the next one.
    if (!state.conn.closed && alive(state)) await run();
  } finally {
    turn.value();
  }
}

async function join(state: SessionState, frame: TextFrame, ctx: SessionCtx): Promise<void> {
  // A join's join_ref is its own ref.
  const joinRef = frame.ref ?? frame.joinRef;
  if (joinRef === null) return;
  const existing = state.conn.joined.get(frame.topic);
  if (existing !== undefined) {
    // The same topic joined again on this socket: the old instance goes, as in Phoenix (§4.5).
    await leave(state, existing, ctx);
    state.replaced = Encode.phxClose(existing.joinRef, existing.topic);
  } else if (state.conn.joined.size >= state.config.maxChannels) {
    replyError(state, { ...frame, joinRef }, Reason.tooManyChannels);
    return;
  }
  const withRef = { ...frame, joinRef };
  if (frame.topic.startsWith(ROOM_PREFIX)) await admitted(state, () => joinRoom(state, withRef, joinRef, ctx), withRef);
  else if (frame.topic === USERS_TOPIC) await joinLobby(state, withRef, joinRef);
  else if (frame.ref !== null) state.conn.send(Encode.errorReply(null, frame.ref, frame.topic, Reason.unmatchedTopic));
  if (state.conn.joined.get(frame.topic)?.joinRef === joinRef) Metrics.join();
  // A failed join replied without it; the old instance is gone all the same.
  if (state.replaced !== undefined) state.conn.send(state.replaced);
  state.replaced = undefined;
}

async function handleFrame(state: SessionState, frame: TextFrame, ctx: SessionCtx): Promise<void> {
  if (frame.event === Events.join) return join(state, frame, ctx);
  const channel = state.conn.joined.get(frame.topic);
  if (channel === undefined) {
    // Phoenix answers a leave of what is not joined with ok, and anything else with unmatched topic.
    if (frame.ref === null) return;
    const leaveOk = frame.event === Events.leave;
    state.conn.send(
      leaveOk
        ? Encode.reply(frame.joinRef, frame.ref, frame.topic, 'ok', {})
        : Encode.errorReply(null, frame.ref, frame.topic, Reason.unmatchedTopic),
    );
    return;
  }
  // A message for an older join of this topic is ignored, without a reply (§3).
  if (frame.joinRef !== null && frame.joinRef !== channel.joinRef) return;
  if (frame.event === Events.leave) {
    await leave(state, channel, ctx);
    replyOk(state, frame);
    state.conn.send(Encode.phxClose(channel.joinRef, channel.topic));
    return;
  }
  if (channel.room !== undefined) return handleRoomEvent(state, channel, frame);
  return handleLobbyEvent(state, frame);
}

const session: GenServer<SessionArgs, SessionState, SessionProtocol> = {
  init({ conn, config }, ctx) {
    recover(conn);
    conn.pid = ctx.self;
    // Frames that came while no Session was alive, in order, ahead of any new ones.
    for (const { frame, bytes } of conn.takeInbox()) send(ctx.self, { type: 'frame', frame, bytes });
    if (conn.closed) send(ctx.self, { type: 'closed' });
    return {
      conn,
      self: ctx.self,
      config,
      user: undefined,
      inLobby: false,
      replaced: undefined,
    };
  },
  async handleInfo(message: SessionInfo | { type: 'DOWN' }, state, ctx) {
    switch (message.type) {
      case 'frame':
        state.conn.queuedBytes -= message.bytes;
        await handleFrame(state, message.frame, ctx);
        break;
      case 'closed':
        ctx.stop({ kind: 'normal' });
        break;
      case 'broadcast':
        // users_socket:<name>: the user's sockets are being disconnected as a whole.
        if (message.event === 'disconnect') {
          ctx.log.info({ user: state.user?.name }, "closing the socket: the user's sockets were disconnected (kicked)");
          state.conn.close(CloseCode.goingAway, CloseReason.kicked);
          ctx.stop({ kind: 'normal' });
        }
        break;
      case 'DOWN':
        break;
    }
    return state;
  },
  terminate(reason, state) {
    state.conn.untapAll();
    // The node is stopping: say so to the client, which will come back (to this node or another).
    if (reason.kind === 'shutdown') state.conn.close(CloseCode.goingAway, 'server shutting down');
  },
};

/**
 * A Session for `conn`, restarted after a crash (transient), given up past its own restart intensity.
 * A class so that one spec per socket costs fields, not two closures (see onNactCrash in supervision).
 */
class SessionSpec implements ChildSpec {
  readonly restart = 'transient';
  readonly shutdown = 5_000;
  readonly id: string;

  constructor(
    private readonly conn: Conn<Channel>,
    private readonly config: SessionConfig,
  ) {
    this.id = conn.id;
  }

  start(parent: Parent): Promise<Result<Pid, StartError>> {
    return startServer(session, { conn: this.conn, config: this.config }, { parent, id: this.id, logBindings: { session: this.id } });
  }

  onGiveUp(): void {
    this.conn.close(CloseCode.internalError, 'session crashed repeatedly');
  }
}

export function sessionSpec(conn: Conn<Channel>, config: SessionConfig): ChildSpec {
  return new SessionSpec(conn, config);
}
