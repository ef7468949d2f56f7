import { randomBytes } from 'node:crypto';
import type { Logger } from 'pino';
import type { HttpRequest, HttpResponse, WebSocketBehavior, us_socket_context_t } from '@btc-vision/uwebsockets.js';
import { send, startChild, type SupervisorPid } from '../../supervision/index.js';
import * as Encode from '../channel/encode.js';
import { CloseCode, CloseReason, Reason, dispositionFor } from '../channel/errors.js';
import { Events, PHOENIX_TOPIC, decodeFrame, peekHeader, stockHeartbeatRef, type TextFrame } from '../channel/frame.js';
import type { Config } from '../config.js';
import { Metrics } from '../metrics/registry.js';
import { sessionSpec } from '../session/session.js';
import { JoinGate } from '../session/join-gate.js';
import type { JoinLimits } from '../session/join-queue.js';
import type { Channel, SessionConfig } from '../session/state.js';
import { clientAddress, isLoopback } from './address.js';
import { Budget, budgetLimits, type FrameKind } from '../transport/budget.js';
import { Conn, type ConnData } from '../transport/conn.js';
import type { Conns } from './conns.js';
import type { Fastlane } from '../transport/fastlane.js';
import { REFUSALS, type VerifyToken } from './jwt.js';
import { checkOrigin } from './origin.js';

/**
 * The WebSocket route, /socket/websocket: the transport half of a Phoenix
 * socket. It refuses bad upgrades before they become sockets, answers
 * heartbeats itself, turns bytes into frames (a bad frame gets an error reply or
 * a close, and never reaches a Session), and hands every good frame to the
 * socket's Session actor.
 */

/** Past this uWS drops the connection outright (the client sees 1006); frames between MAX_FRAME_BYTES and it get a readable error reply instead. */
const HARD_FRAME_LIMIT = 1_048_576;
/** Frames kept for a Session being restarted; a client past it is not behaving like phoenix.js. */
const MAX_INBOX = 1_000;
/** Bytes of a socket's frames waiting for its Session (busy, or restarting); past it frames are refused. */
const MAX_QUEUED_BYTES = 1_048_576;

export interface SocketDeps {
  readonly config: Config;
  /** Set when sockets must bring a signed token (AUTH_JWT_*). */
  readonly verifyToken: VerifyToken | undefined;
  readonly sessions: SupervisorPid;
  readonly fastlane: Fastlane;
  readonly conns: Conns;
  readonly log: Logger;
}

let sequence = 0;
const nextSessionId = (): string => `${(++sequence).toString(36)}-${randomBytes(3).toString('hex')}`;

function refuse(res: HttpResponse, status: string, reason: string): void {
  res.cork(() => res.writeStatus(status).writeHeader('content-type', 'text/plain').end(reason));
}

function upgrade(config: Config, verifyToken: VerifyToken | undefined, conns: Conns) {
  return (res: HttpResponse, req: HttpRequest, context: us_socket_context_t): void => {
    const remote = clientAddress(Buffer.from(res.getRemoteAddressAsText()).toString(), req.getHeader('x-forwarded-for'), config.TRUST_PROXY);
    // Loopback is the load tester's and a local proxy's; behind TRUST_PROXY the forwarded address is counted.
    if (config.MAX_SOCKETS_PER_IP !== 0 && !isLoopback(remote) && conns.openFrom(remote) >= config.MAX_SOCKETS_PER_IP) {
      refuse(res, '429 Too Many Requests', `too many sockets from ${remote} (at most ${config.MAX_SOCKETS_PER_IP})`);
      return;
    }
    const query = new URLSearchParams(req.getQuery() ?? '');
    const vsn = query.get('vsn');
    const origin = req.getHeader('origin');
    const host = req.getHeader('host');
    const key = req.getHeader('sec-websocket-key');
    const protocols = req.getHeader('sec-websocket-protocol');
    const extensions = req.getHeader('sec-websocket-extensions');
    if (vsn === null || !/^2\.\d+\.\d+$/.test(vsn)) {
      refuse(res, '403 Forbidden', `unsupported protocol version ${vsn ?? '(none)'}: this server speaks Phoenix Channels vsn=2.0.0`);
      return;
    }
    if (!checkOrigin(origin, host, config.ORIGINS)) {
      refuse(res, '403 Forbidden', `origin ${origin} is not allowed`);
      return;
    }
    // phoenix.js with an authToken offers "phoenix" plus a token protocol; the answer must be "phoenix".
    const offered = protocols.split(',').map((p) => p.trim());
    const protocol = offered.includes('phoenix') ? 'phoenix' : '';
    if (verifyToken === undefined) {
      res.upgrade<ConnData>({ conn: undefined, remote, signed: undefined }, key, protocol, extensions, context);
      return;
    }
    // Verifying is asynchronous: req is gone after this returns, res lives until it is answered or aborted.
    let aborted = false;
    res.onAborted(() => {
      aborted = true;
    });
    void verifyToken(query.get('token')).then((verified) => {
      if (aborted) return;
      if (!verified.ok) {
        Metrics.authRefused(verified.error.reason);
        refuse(res, '403 Forbidden', `${verified.error.reason}: ${REFUSALS[verified.error.reason]}`);
        return;
      }
      res.cork(() => res.upgrade<ConnData>({ conn: undefined, remote, signed: verified.value }, key, protocol, extensions, context));
    });
  };
}

function route(conn: Conn, frame: TextFrame, bytes: number): void {
  conn.queuedBytes += bytes;
  const session = conn.session();
  if (session !== undefined) send(session, { type: 'frame', frame, bytes });
  else if (!conn.hold(frame, bytes, MAX_INBOX)) conn.close(CloseCode.policyViolation, 'too many frames while the session restarts');
}

const kindOf = (topic: string | null, event: string | null): FrameKind =>
  topic === PHOENIX_TOPIC && event === Events.heartbeat ? 'heartbeat' : event === Events.join ? 'join' : 'push';

/**
 * A throw inside a uWS callback would reach the process guard and stop the
 * node: a bug met by one socket closes that socket (1011) and is logged, as a
 * crashed Phoenix socket process would take only its own connection down.
 */
function contained<A extends unknown[]>(log: Logger, what: string, run: (...args: A) => void, onError: (...args: A) => void): (...args: A) => void {
  return (...args) => {
    try {
      run(...args);
    } catch (error) {
      log.error({ reason: 'socket_callback_failed', callback: what, err: error }, 'a socket callback failed; closing that socket');
      try {
        onError(...args);
      } catch {
        // The socket is already gone.
      }
    }
  };
}

/**
 * A join makes two queries one after the other (sign-in, history) and, between
 * and after them, waits on actors that are not the database (Presence, the
 * Repo's settled): four joins per pooled connection keep the pool busy with a
 * short queue in the Repo. Measured in a storm of 2,000 rejoins: two per
 * connection ran ~285 joins/s (a third of each join's time the pool sat idle),
 * four ~510/s, eight (pool 20) no more, the two cores being the limit by then.
 * The waiting room holds a whole node's storm (19,000 sessions: a few MB of
 * waiters), so a join is shed only once it has waited as long as a query may
 * take (its client would soon give up on it), not at once: every shed join
 * comes back after its backoff and costs the node again. Holding 5,000, a
 * storm of 19,000 made ~56,000 sheds and took 48-58 s; holding 20,000, ~25,000 and 40 s.
 */
const JOINS_PER_CONNECTION = 4;
const JOINS_WAITING = 20_000;

function joinLimits(config: Config): JoinLimits {
  return { concurrent: JOINS_PER_CONNECTION * config.DB_POOL_SIZE, waiting: JOINS_WAITING, maxWaitMs: config.DB_TIMEOUT_MS };
}

export function socketBehavior(deps: SocketDeps): WebSocketBehavior<ConnData> {
  const { config, log } = deps;
  const sessionConfig: SessionConfig = {
    maxChannels: config.MAX_CHANNELS,
    names: config.NAMES,
    maxTabs: config.MAX_TABS_PER_USER,
    joins: new JoinGate(joinLimits(config)),
  };
  const decodeOptions = { maxBytes: config.MAX_FRAME_BYTES };
  const limits = budgetLimits(
    { perSecond: config.RATE_LIMIT_PER_SEC, burst: config.RATE_LIMIT_BURST },
    { perSecond: config.JOIN_RATE_PER_SEC, burst: config.JOIN_BURST },
  );
  /** A frame over the socket's budget: a rate_limited reply where it can be addressed; past the socket's patience, the socket goes. */
  const overBudget = (conn: Conn, verdict: 'refuse' | 'close', header: ReturnType<typeof peekHeader>): void => {
    Metrics.rateLimited();
    if (verdict === 'close') {
      Metrics.abusiveDisconnect();
      log.warn({ session: conn.id, remote: conn.remote }, 'closing a socket that keeps sending past its limits');
      conn.close(CloseCode.policyViolation, CloseReason.rateLimited);
    } else if (header.ref !== null && header.topic !== null && header.event !== Events.heartbeat) {
      // A join is answered on its own ref, as its join_ref.
      conn.send(Encode.errorReply(header.event === Events.join ? header.ref : header.joinRef, header.ref, header.topic, Reason.rateLimited));
    }
  };
  return {
    maxPayloadLength: HARD_FRAME_LIMIT,
    // uWS checks idleness every 4 s and may fire up to one tick early: the extra tick makes IDLE_TIMEOUT_S a floor.
    idleTimeout: config.IDLE_TIMEOUT_S + 4,
    // Phoenix's idle timeout counts what the client sends; server pings would keep a silent client alive.
    sendPingsAutomatically: false,
    maxBackpressure: config.SLOW_READER_BYTES,
    closeOnBackpressureLimit: true,
    upgrade: contained(log, 'upgrade', upgrade(config, deps.verifyToken, deps.conns), (res) => refuse(res, '500 Internal Server Error', 'internal error')),
    open: contained(log, 'open', (ws) => {
      const { remote, signed } = ws.getUserData();
      const conn = new Conn<Channel>(nextSessionId(), ws, deps.fastlane, remote, new Budget(limits, Date.now()), signed);
      ws.getUserData().conn = conn;
      deps.conns.add(conn);
      void startChild(deps.sessions, sessionSpec(conn, sessionConfig)).then((started) => {
        if (started.ok) return;
        log.warn({ session: conn.id, reason: started.error.reason }, 'session did not start; closing the socket');
        conn.close(CloseCode.tryAgainLater, 'server busy');
      });
    }, (ws) => ws.end(CloseCode.internalError, 'internal error')),
    message: contained(log, 'message', (ws, message, isBinary) => {
      const conn = ws.getUserData().conn;
      if (conn === undefined) return;
      Metrics.messageIn();
      // Heartbeats are answered here, whatever the Session is doing (§7); phoenix.js's own without decoding them.
      const beat = isBinary ? undefined : stockHeartbeatRef(message);
      if (beat !== undefined) {
        const verdict = conn.budget.admit('heartbeat', Date.now());
        if (verdict !== 'admit') return overBudget(conn, verdict, { joinRef: null, ref: beat, topic: PHOENIX_TOPIC, event: Events.heartbeat });
        conn.send(Encode.heartbeatReply(beat));
        return;
      }
      // The budget first: a frame over it is refused from its first bytes, never decoded or queued.
      const header = isBinary ? { joinRef: null, ref: null, topic: null, event: null } : peekHeader(new Uint8Array(message));
      const verdict = conn.budget.admit(kindOf(header.topic, header.event), Date.now());
      if (verdict !== 'admit') return overBudget(conn, verdict, header);
      if (conn.queuedBytes + message.byteLength > MAX_QUEUED_BYTES) return overBudget(conn, conn.budget.refusal(Date.now()), header);
      const decoded = decodeFrame(message, isBinary, decodeOptions);
      if (!decoded.ok) {
        const disposition = dispositionFor(decoded.error);
        if (disposition.action === 'reply') {
          conn.send(Encode.errorReply(disposition.joinRef, disposition.ref, disposition.topic, disposition.reason));
        } else {
          conn.close(disposition.code, disposition.reason);
        }
        return;
      }
      const frame = decoded.value;
      // Heartbeats are answered here, whatever the Session is doing (§7).
      if (frame.topic === PHOENIX_TOPIC && frame.event === Events.heartbeat) {
        if (frame.ref !== null) conn.send(Encode.heartbeatReply(frame.ref));
        return;
      }
      route(conn, frame, message.byteLength);
    }, (ws) => ws.getUserData().conn?.close(CloseCode.internalError, 'internal error')),
    drain: () => {},
    close: (ws, code) => {
      const conn = ws.getUserData().conn;
      if (conn === undefined) return;
      conn.markClosed();
      deps.conns.delete(conn);
      if (deps.conns.closedAsSlowReader(conn, code)) Metrics.slowReaderDisconnect();
      const session = conn.session();
      if (session !== undefined) send(session, { type: 'closed' });
    },
  };
}
