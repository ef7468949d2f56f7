import assert from 'node:assert/strict';
import { WebSocket, type RawData } from 'ws';

/**
 * A WebSocket client with no protocol logic: it sends exactly the bytes a test gives it and keeps
 * every frame the server sends, as received, so tests can assert exact frames, refs echoed as
 * strings, ordering, silence and close codes (things the stock phoenix.js client hides or cannot
 * produce).
 */

/** A V2 text frame as parsed from the wire: `[join_ref, ref, topic, event, payload]`. */
export type WireFrame = [string | null, string | null, string, string, Record<string, unknown>];

export interface Received {
  /** The frame exactly as it came off the wire (text frames), for byte-exact comparisons. */
  readonly text: string;
  readonly frame: WireFrame;
  readonly at: number;
}

export interface Closed {
  readonly code: number;
  readonly reason: string;
  readonly at: number;
}

export interface OpenOptions {
  /** Query string after `/websocket`; default `vsn=2.0.0`. */
  readonly query?: string;
  readonly headers?: Record<string, string>;
  readonly timeoutMs?: number;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export class RawSocket {
  readonly received: Received[] = [];
  /** Binary frames from the server (this server never sends any; kept to prove it). */
  readonly binary: Buffer[] = [];
  readonly openedAt = Date.now();
  /** When this client last sent a frame (the upgrade counts as the first). */
  lastSentAt = Date.now();
  closedWith: Closed | undefined = undefined;
  readonly closed: Promise<Closed>;
  /** Which text frames to keep in `received` (all by default); a flood test can drop broadcasts. */
  keep: (frame: WireFrame) => boolean = () => true;
  private refCounter = 0;
  private readonly waiters = new Set<() => void>();

  private constructor(readonly ws: WebSocket) {
    this.closed = new Promise((resolve) => {
      ws.on('close', (code, reason) => {
        this.closedWith = { code, reason: reason.toString(), at: Date.now() };
        resolve(this.closedWith);
        this.wake();
      });
    });
    ws.on('error', () => {}); // an abrupt close is reported by 'close' (1006); nothing to throw
    ws.on('message', (data: RawData, isBinary: boolean) => {
      const buffer = Array.isArray(data) ? Buffer.concat(data) : Buffer.from(data as ArrayBuffer);
      if (isBinary) {
        this.binary.push(buffer);
      } else {
        const text = buffer.toString('utf8');
        const frame = JSON.parse(text) as WireFrame;
        if (this.keep(frame)) this.received.push({ text, frame, at: Date.now() });
      }
      this.wake();
    });
  }

  /** Opens `${wsUrl}/websocket?vsn=2.0.0` and resolves once the upgrade succeeded. */
  static open(wsUrl: string, options: OpenOptions = {}): Promise<RawSocket> {
    const ws = new WebSocket(`${wsUrl}/websocket?${options.query ?? 'vsn=2.0.0'}`, { headers: options.headers ?? {} });
    const socket = new RawSocket(ws);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        ws.terminate();
        reject(new Error('raw socket did not open in time'));
      }, options.timeoutMs ?? 3_000);
      ws.once('open', () => {
        clearTimeout(timer);
        resolve(socket);
      });
      ws.once('unexpected-response', (_req, res) => {
        clearTimeout(timer);
        reject(new Error(`upgrade refused with HTTP ${res.statusCode}`));
        ws.terminate();
      });
      ws.once('close', () => {
        clearTimeout(timer);
        reject(new Error('raw socket closed before it opened'));
      });
    });
  }

  /** A fresh ref, unique on this socket ("r1", "r2"... so it never collides with a test's own). */
  ref(): string {
    this.refCounter += 1;
    return `r${this.refCounter}`;
  }

  get isOpen(): boolean {
    return this.ws.readyState === WebSocket.OPEN;
  }

  send(frame: readonly unknown[]): void {
    this.sendText(JSON.stringify(frame));
  }

  sendText(text: string): void {
    if (this.isOpen) this.lastSentAt = Date.now();
    this.ws.send(text, { binary: false });
  }

  sendBinary(data: ArrayBuffer | Uint8Array): void {
    if (this.isOpen) this.lastSentAt = Date.now();
    this.ws.send(data instanceof ArrayBuffer ? Buffer.from(data) : data, { binary: true });
  }

  private wake(): void {
    for (const waiter of [...this.waiters]) waiter();
  }

  /** The first frame (received so far or later) matching `match`; fails after `timeoutMs`. */
  waitFor(match: (frame: WireFrame) => boolean, what: string, timeoutMs = 3_000): Promise<Received> {
    const found = this.received.find((r) => match(r.frame));
    if (found !== undefined) return Promise.resolve(found);
    return new Promise((resolve, reject) => {
      const done = () => {
        clearTimeout(timer);
        this.waiters.delete(check);
      };
      const check = () => {
        const hit = this.received.find((r) => match(r.frame));
        if (hit !== undefined) {
          done();
          resolve(hit);
        } else if (this.closedWith !== undefined) {
          done();
          reject(new Error(`socket closed (${this.closedWith.code} ${this.closedWith.reason}) while waiting for ${what}`));
        }
      };
      const timer = setTimeout(() => {
        done();
        reject(new Error(`no ${what} within ${timeoutMs} ms; received: ${this.received.map((r) => r.text).join('\n  ') || '(nothing)'}`));
      }, timeoutMs);
      this.waiters.add(check);
    });
  }

  /** The reply to `ref` (any phx_reply whose ref slot equals it). */
  reply(ref: string, timeoutMs = 3_000): Promise<Received> {
    return this.waitFor((f) => f[1] === ref && f[3] === 'phx_reply', `phx_reply to ref ${ref}`, timeoutMs);
  }

  /** Every frame received, in order, for which `match` holds. */
  all(match: (frame: WireFrame) => boolean): Received[] {
    return this.received.filter((r) => match(r.frame));
  }

  /** Asserts that no frame matching `match` arrives during `ms` (nor has arrived already). */
  async expectNone(match: (frame: WireFrame) => boolean, what: string, ms = 300): Promise<void> {
    await sleep(ms); // a quiet window: a frame that never comes has no event to wait for
    const hits = this.all(match);
    assert.equal(hits.length, 0, `expected no ${what}, got: ${hits.map((h) => h.text).join(' | ')}`);
  }

  /** Joins `topic` with `params`; resolves with the join ref and the reply frame. */
  async join(topic: string, params: Record<string, unknown>): Promise<{ joinRef: string; reply: Received }> {
    const joinRef = this.ref();
    this.send([joinRef, joinRef, topic, 'phx_join', params]);
    return { joinRef, reply: await this.reply(joinRef) };
  }

  /** Sends an event and resolves with its reply. */
  async push(joinRef: string | null, topic: string, event: string, payload: Record<string, unknown>): Promise<Received> {
    const ref = this.ref();
    this.send([joinRef, ref, topic, event, payload]);
    return this.reply(ref);
  }

  /** A heartbeat and its exact expected reply. */
  async heartbeat(): Promise<string> {
    const ref = this.ref();
    this.send([null, ref, 'phoenix', 'heartbeat', {}]);
    return (await this.reply(ref)).text;
  }

  async close(): Promise<void> {
    if (this.closedWith !== undefined) return;
    const socket = (this.ws as unknown as { _socket?: { isPaused(): boolean; resume(): void } })._socket;
    if (socket?.isPaused() === true) socket.resume();
    if (this.ws.readyState === WebSocket.CONNECTING || this.ws.readyState === WebSocket.OPEN) this.ws.close(1000);
    await Promise.race([this.closed, sleep(1_000)]); // a deadline for the close handshake
    if (this.closedWith === undefined) this.ws.terminate();
  }
}

/** The outcome of an upgrade attempt: the HTTP status and body when refused, 101 when it was accepted. */
export function tryUpgrade(wsUrl: string, options: OpenOptions = {}): Promise<{ status: number; body: string }> {
  const ws = new WebSocket(`${wsUrl}/websocket?${options.query ?? 'vsn=2.0.0'}`, { headers: options.headers ?? {} });
  ws.on('error', () => {});
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      ws.terminate();
      reject(new Error('upgrade attempt got no answer in time'));
    }, options.timeoutMs ?? 3_000);
    ws.once('open', () => {
      clearTimeout(timer);
      ws.close(1000);
      resolve({ status: 101, body: '' });
    });
    ws.once('unexpected-response', (_req, res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => {
        clearTimeout(timer);
        resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') });
        ws.terminate();
      });
    });
  });
}
