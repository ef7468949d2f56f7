import { WebSocket } from 'ws';
import { reconnectDelayMs, rejoinDelayMs } from './backoff.js';
import {
  decode,
  encodeHeartbeat,
  encodeJoin,
  encodePush,
  joinOkSchema,
  messageSchema,
  replySchema,
  type Frame,
  type Message,
} from './frames.js';

/**
 * A lean Phoenix V2 client for one socket in one room: what the load tester
 * needs of phoenix.js and nothing else (no timers per socket, no push buffers,
 * no channel objects). The worker owns the clock: it calls `heartbeat()` and
 * `expire()` for all its sockets from one timer.
 *
 * Exactly once is checked here: a room's broadcasts carry increasing ids, so a
 * message whose id is not above the highest seen is a double. After a
 * `phx_error` (the server's Session restarted) or a dropped socket it rejoins
 * with `last_seen_id`, as the browser client does, and the join reply's
 * messages count as deliveries. Reconnects and join retries back off as
 * phoenix.js's do, with jitter (backoff.ts), from zero again once joined.
 */

export interface ClientEvents {
  connected(ms: number): void;
  /** `held`: the messages the reply carried (a first join's history, a rejoin's catch-up). */
  joined(ms: number, rejoin: boolean, held: number): void;
  /** `final`: not retried (the reason is one retrying cannot fix). */
  joinFailed(reason: string, final: boolean): void;
  /** A message delivered once: by broadcast, or by a rejoin's catch-up. */
  message(message: Message, catchUp: boolean): void;
  doubled(message: Message): void;
  pushReply(tag: string, status: 'ok' | 'error' | 'timeout', response: Record<string, unknown>): void;
  /** phx_error on our topic: the server restarted our Session. */
  restarted(): void;
  /** An `announcement` event on our topic (its payload unparsed). */
  announcement?(payload: Record<string, unknown>): void;
  /** A presence frame (state, diff or summary) of this many bytes, parsed or not. */
  presence?(bytes: number): void;
  error(kind: string): void;
  /** Every decoded frame, for tests that compare clients. */
  frame?(frame: Frame): void;
}

interface ClientOptions {
  /** ws://host:port/socket/websocket?vsn=2.0.0 */
  readonly url: string;
  readonly localAddress?: string;
  readonly topic: string;
  readonly username: string;
  readonly token: string;
  /** Reconnect when the socket drops (the load tester does; a test may want to see the drop). */
  readonly reconnect: boolean;
  readonly pushTimeoutMs: number;
  /**
   * Wait before rejoining after phx_error (phoenix.js waits 1 s, then more). A
   * pause means messages are stored meanwhile, so the catch-up path is what gets tested.
   */
  readonly rejoinDelayMs?: number;
  /**
   * Read presence_state / presence_diff frames. The load tester does not: in a
   * room of N, joins send O(N^2) bytes of presence, and parsing them would make
   * the client, not the server, the bottleneck. Tests that compare clients do.
   */
  readonly parsePresence?: boolean;
}

/** Join errors retrying cannot fix (the server also sends phx_close for these); others are retried as phoenix.js does. */
const FINAL_JOIN_ERRORS = new Set(['invalid_params', 'username_taken', 'unmatched topic']);
/** The header of a presence frame: [join_ref, null, topic, "presence_...", */
const PRESENCE_HEADER = /^\[(?:null|"[^"]*"),null,"[^"]*","presence_(?:state|diff|summary)",/;

interface Pending {
  readonly tag: string;
  readonly sentAt: number;
}

export class LeanClient {
  private ws: WebSocket | undefined;
  private nextRef = 0;
  private joinRef: string | null = null;
  private joinSentAt = 0;
  private everJoined = false;
  private stopped = false;
  private readonly pending = new Map<string, Pending>();
  private joinAttempts = 0;
  private reconnectAttempts = 0;
  /** Highest message id seen on the topic: the rejoin's last_seen_id and the doubles check. */
  lastSeenId = 0;
  joined = false;
  connected = false;

  constructor(
    private readonly options: ClientOptions,
    private readonly events: ClientEvents,
  ) {}

  connect(): void {
    if (this.stopped) return;
    const started = performance.now();
    const ws = new WebSocket(this.options.url, {
      perMessageDeflate: false,
      handshakeTimeout: 30_000,
      ...(this.options.localAddress === undefined ? {} : { localAddress: this.options.localAddress }),
    });
    this.ws = ws;
    ws.on('open', () => {
      this.connected = true;
      this.events.connected(performance.now() - started);
      this.join();
    });
    ws.on('message', (data, isBinary) => {
      if (isBinary) return this.events.error('binary_frame');
      this.onText(data.toString());
    });
    ws.on('error', (error: Error & { code?: string }) => this.events.error(error.code ?? 'socket_error'));
    ws.on('close', () => {
      const wasConnected = this.connected;
      this.connected = false;
      this.joined = false;
      this.joinRef = null;
      if (this.ws === ws) this.ws = undefined;
      // No reply can come on another socket: what was in flight is unanswered now, not in PUSH_TIMEOUT.
      this.expire(Number.POSITIVE_INFINITY);
      if (this.stopped) return;
      if (wasConnected) this.events.error('closed_by_server');
      if (!this.options.reconnect) return;
      this.reconnectAttempts += 1;
      setTimeout(() => this.connect(), reconnectDelayMs(this.reconnectAttempts, Math.random()));
    });
  }

  /** Sends `new_msg`; the reply (or its absence) comes back through `pushReply` with `tag`. */
  push(body: string, tag: string): boolean {
    if (!this.joined || this.ws === undefined || this.joinRef === null) return false;
    const ref = this.ref();
    this.pending.set(ref, { tag, sentAt: performance.now() });
    this.ws.send(encodePush(this.joinRef, ref, this.options.topic, 'new_msg', { body }));
    return true;
  }

  heartbeat(): void {
    if (this.connected) this.ws?.send(encodeHeartbeat(this.ref()));
  }

  /** Pushes unanswered past the timeout are reported as such (a crashed Session loses its mailbox, as in Phoenix). */
  expire(now = performance.now()): void {
    for (const [ref, pending] of this.pending) {
      if (now - pending.sentAt < this.options.pushTimeoutMs) continue;
      this.pending.delete(ref);
      this.events.pushReply(pending.tag, 'timeout', {});
    }
  }

  /** Joined at least once: a member of its room, even while it rejoins. */
  get hasJoined(): boolean {
    return this.everJoined;
  }

  get inFlight(): number {
    return this.pending.size;
  }

  close(): void {
    this.stopped = true;
    this.ws?.close(1000);
    // terminate() if the close handshake does not finish: the run must end on time.
    const ws = this.ws;
    if (ws !== undefined) setTimeout(() => ws.terminate(), 2_000).unref();
  }

  private ref(): string {
    this.nextRef += 1;
    return String(this.nextRef);
  }

  private join(): void {
    if (this.ws === undefined || this.stopped || !this.connected) return;
    const joinRef = this.ref();
    this.joinRef = joinRef;
    this.joinSentAt = performance.now();
    const params: Record<string, unknown> = { username: this.options.username, token: this.options.token };
    if (this.everJoined) params['last_seen_id'] = this.lastSeenId;
    this.ws.send(encodeJoin(joinRef, this.options.topic, params));
  }

  private onText(text: string): void {
    if (PRESENCE_HEADER.test(text.slice(0, 160))) {
      this.events.presence?.(Buffer.byteLength(text));
      if (this.options.parsePresence !== true) return;
    }
    const frame = decode(text);
    if (typeof frame === 'string') return this.events.error('bad_frame');
    this.events.frame?.(frame);
    if (frame.topic === 'phoenix') return; // heartbeat replies
    if (frame.topic !== this.options.topic) return this.events.error('unexpected_topic');
    switch (frame.event) {
      case 'new_msg':
        return this.onBroadcast(frame.payload);
      case 'phx_reply':
        return this.onReply(frame);
      case 'announcement':
        return this.events.announcement?.(frame.payload);
      case 'phx_error':
        if (frame.joinRef !== this.joinRef) return;
        this.joined = false;
        this.events.restarted();
        if ((this.options.rejoinDelayMs ?? 0) === 0) return this.join();
        setTimeout(() => this.join(), this.options.rejoinDelayMs);
        return;
      case 'phx_close':
        if (frame.joinRef !== this.joinRef) return;
        this.joined = false;
        this.joinRef = null;
        return this.events.error('channel_closed');
      default:
        // presence_state, presence_diff, msg_deleted: not what the load tester measures.
        return;
    }
  }

  private onBroadcast(payload: Record<string, unknown>): void {
    const message = messageSchema.safeParse(payload);
    if (!message.success) return this.events.error('bad_message');
    this.deliver(message.data, false);
  }

  private deliver(message: Message, catchUp: boolean): void {
    if (message.id <= this.lastSeenId) return this.events.doubled(message);
    this.lastSeenId = message.id;
    this.events.message(message, catchUp);
  }

  private onReply(frame: Frame): void {
    const reply = replySchema.safeParse(frame.payload);
    if (!reply.success || frame.ref === null) return this.events.error('bad_reply');
    if (frame.ref === this.joinRef) return this.onJoinReply(reply.data.status, reply.data.response);
    const pending = this.pending.get(frame.ref);
    if (pending === undefined) return; // a reply to a push already counted as timed out, or to an old join
    this.pending.delete(frame.ref);
    this.events.pushReply(pending.tag, reply.data.status, reply.data.response);
  }

  private onJoinReply(status: 'ok' | 'error', response: Record<string, unknown>): void {
    if (status === 'error') {
      this.joinRef = null;
      const reason = typeof response['reason'] === 'string' ? response['reason'] : 'unknown';
      const final = FINAL_JOIN_ERRORS.has(reason);
      this.events.joinFailed(reason, final);
      if (!final) {
        this.joinAttempts += 1;
        // A join sent on an older socket is not retried: the reconnect joins afresh.
        const ws = this.ws;
        setTimeout(() => {
          if (this.ws === ws) this.join();
        }, rejoinDelayMs(this.joinAttempts, Math.random()));
      }
      return;
    }
    this.joinAttempts = 0;
    this.reconnectAttempts = 0;
    const ok = joinOkSchema.safeParse(response);
    if (!ok.success) return this.events.error('bad_join_reply');
    const rejoin = this.everJoined;
    if (rejoin) {
      // The catch-up: what this socket missed while its Session restarted, oldest first.
      for (const message of ok.data.messages) this.deliver(message, true);
    } else {
      // History from before this run is not a delivery; it only sets where "new" starts.
      for (const message of ok.data.messages) this.lastSeenId = Math.max(this.lastSeenId, message.id);
    }
    this.everJoined = true;
    this.joined = true;
    this.events.joined(performance.now() - this.joinSentAt, rejoin, ok.data.messages.length);
  }
}
