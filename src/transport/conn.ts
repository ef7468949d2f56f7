import type { WebSocket } from '@btc-vision/uwebsockets.js';
import { isAlive, type Pid } from '../../supervision/index.js';
import { CloseCode, CloseReason } from '../channel/errors.js';
import type { TextFrame } from '../channel/frame.js';
import type { SignedUser } from '../chat/accounts.js';
import { Metrics } from '../metrics/registry.js';
import type { Budget } from './budget.js';
import type { Fastlane } from './fastlane.js';
import { JoinedChannels, type Joined } from './joined.js';

/**
 * One WebSocket connection, as the Endpoint holds it: the transport half of a
 * Phoenix socket. It outlives the Session actors that serve it. When a Session
 * crashes, the fresh one finds here which topics the client believes joined
 * (to send them phx_error), and frames that came in while no Session was alive
 * wait in `inbox`.
 *
 * uWS objects are invalid once closed: every access goes through `closed`.
 */
export interface ConnData {
  conn: Conn | undefined;
  /** The client's address as the upgrade saw it (X-Forwarded-For behind TRUST_PROXY). */
  readonly remote: string;
  /** Who the socket's signed token says it is (AUTH_JWT_*), verified at the upgrade. */
  readonly signed: SignedUser | undefined;
}

export class Conn<C extends Joined = Joined> {
  closed = false;
  /** The last Session to serve this socket; see session(). */
  pid: Pid | undefined = undefined;
  /** Frames that came while no Session was alive, with their sizes. */
  private inbox: Array<{ readonly frame: TextFrame; readonly bytes: number }> | undefined = undefined;
  /** Bytes of frames routed to the Session (or the inbox) and not yet taken by it. */
  queuedBytes = 0;
  /**
   * topic -> what the client has joined, as the client sees it. The Session's
   * channels are these (a second table per socket would be memory per session for
   * nothing); a fresh Session reads what its predecessor left here, then clears it.
   */
  readonly joined = new JoinedChannels<C>();
  /** topic -> untap, for joins still catching up (a crashed Session's taps are removed by its successor); made on first join. */
  private taps: Map<string, () => void> | undefined = undefined;
  /** For the admin API: who signed in on this socket (set by the Session; kept across its restarts) and since when it is open. */
  user: string | undefined = undefined;
  readonly since = Date.now();
  /**
   * The server saw this socket's send buffer back up (a dropped send, or the
   * sampler in conns.ts). uWS closes a socket over SLOW_READER_BYTES at the
   * transport and reports it as 1006, as it does a client that vanished: this
   * tells the two apart for the slow-reader metric.
   */
  backedUp = false;
  /** Set by fence(): no broadcast may reach this socket until a fresh Session recovers it. */
  fenced = false;
  /** Closes the socket when its signed token expires. */
  private expiry: NodeJS.Timeout | undefined = undefined;

  constructor(
    readonly id: string,
    private readonly ws: WebSocket<ConnData>,
    readonly fastlane: Fastlane,
    readonly remote: string,
    /** What this socket may still send (checked before a frame is decoded). */
    readonly budget: Budget,
    readonly signed: SignedUser | undefined = undefined,
  ) {
    if (signed?.exp !== undefined) this.expireAt(signed.exp * 1000);
  }

  /** The client reconnects (phoenix.js does after any close it did not make) and brings a fresh token. */
  private expireAt(ms: number): void {
    // Timers cap at 2^31-1 ms (~24.8 days): a longer token is looked at again then.
    const wait = Math.min(Math.max(0, ms - Date.now()), 2 ** 31 - 1);
    this.expiry = setTimeout(() => (Date.now() >= ms ? this.close(CloseCode.policyViolation, CloseReason.tokenExpired) : this.expireAt(ms)), wait);
  }

  /**
   * The Session serving this socket now; undefined between a crash and the restart.
   * Asked at each frame rather than cleared by an exit hook: a hook per socket is a closure per session.
   */
  session(): Pid | undefined {
    return this.pid !== undefined && isAlive(this.pid) ? this.pid : undefined;
  }

  /** Writes one frame; false when the socket is gone or the frame was dropped for backpressure. */
  send(frame: string): boolean {
    if (this.closed) return false;
    Metrics.messagesOut(1);
    // uWS: 1 sent, 0 sent but buffered (backpressure), 2 dropped.
    if (this.ws.send(frame, false) !== 2) return true;
    this.backedUp = true;
    return false;
  }

  /** Writes several frames in one syscall. */
  sendAll(frames: readonly string[]): void {
    if (this.closed || frames.length === 0) return;
    Metrics.messagesOut(frames.length);
    this.ws.cork(() => {
      for (const frame of frames) this.ws.send(frame, false);
    });
  }

  /** To every other socket subscribed to `topic` (uWS leaves the publisher out): PubSub.broadcastFrom's SenderSocket. */
  publishToOthers(topic: string, frame: string): boolean {
    if (this.closed) return false;
    this.ws.publish(topic, frame, false);
    return true;
  }

  /** Keeps a join's catch-up tap until it is done (removeTap) or the Session goes (untapAll). */
  addTap(topic: string, untap: () => void): void {
    (this.taps ??= new Map()).set(topic, untap);
  }

  removeTap(topic: string): void {
    const untap = this.taps?.get(topic);
    this.taps?.delete(topic);
    if (this.taps?.size === 0) this.taps = undefined;
    untap?.();
  }

  untapAll(): void {
    for (const untap of this.taps?.values() ?? []) untap();
    this.taps = undefined;
  }

  /** From now on broadcasts on `topic` reach this socket by the fastlane (uWS topic publish). */
  subscribe(topic: string): void {
    if (this.closed || this.fenced) return;
    this.ws.subscribe(topic);
    this.fastlane.subscribed(topic);
  }

  /**
   * Broadcasts were lost on their way to this node: from now until the Session
   * is restarted, none reaches this socket, not even a join's. Else a client
   * could see a message from after the gap and rejoin with its id as
   * last_seen_id, skipping what the gap lost.
   */
  fence(): void {
    this.fenced = true;
    this.untapAll();
    this.unsubscribeAll();
  }

  unsubscribe(topic: string): void {
    if (!this.closed) this.ws.unsubscribe(topic);
  }

  /** Every fastlane subscription off (a fresh Session starts from a clean socket). */
  unsubscribeAll(): void {
    if (this.closed) return;
    for (const topic of this.ws.getTopics()) this.ws.unsubscribe(topic);
  }

  /** Keeps a frame for the next Session; false when `max` are waiting already. */
  hold(frame: TextFrame, bytes: number, max: number): boolean {
    this.inbox ??= [];
    if (this.inbox.length >= max) return false;
    this.inbox.push({ frame, bytes });
    return true;
  }

  /** The inbox's frames, leaving none (made on first use: most sockets never see their Session restart). */
  takeInbox(): ReadonlyArray<{ readonly frame: TextFrame; readonly bytes: number }> {
    const frames = this.inbox ?? [];
    this.inbox = undefined;
    return frames;
  }

  bufferedBytes(): number {
    return this.closed ? 0 : this.ws.getBufferedAmount();
  }

  close(code: number, reason: string): void {
    if (this.closed) return;
    this.markClosed();
    this.ws.end(code, reason);
  }

  /** Called from the uWS close callback: the ws object must not be touched again. */
  markClosed(): void {
    this.closed = true;
    clearTimeout(this.expiry);
  }
}
