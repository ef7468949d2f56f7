import type { Conn } from '../transport/conn.js';

/**
 * The open sockets, by session id: what the admin API lists
 * (user, topics, since) and what /metrics counts.
 *
 * It also samples send buffers, for the slow-reader metric. uWS closes a socket
 * whose buffer passes SLOW_READER_BYTES on its own, later, at the transport,
 * and reports it as code 1006 exactly like a client that vanished; once closed,
 * the buffer can no longer be read. So a socket seen backed up (a quarter of
 * the limit) at the last sample before its 1006 close counts as a slow reader.
 * Fastlane broadcasts are written in C++ and never pass through JS per socket,
 * hence a timer, not a check per send: one native call per socket per second.
 * The price: a flood that fills a buffer from empty to the limit between two
 * samples closes that socket all the same, but is not counted here.
 */
const SAMPLE_MS = 1_000;

export class Conns {
  private readonly byId = new Map<string, Conn>();
  /** Open sockets per client address (MAX_SOCKETS_PER_IP). */
  private readonly byAddress = new Map<string, number>();

  /** Samples send buffers until the returned function is called (the listener owns it). */
  startSampling(slowReaderBytes: number): () => void {
    const timer = setInterval(() => this.sample(slowReaderBytes), SAMPLE_MS);
    timer.unref();
    return () => clearInterval(timer);
  }

  get size(): number {
    return this.byId.size;
  }

  add(conn: Conn): void {
    this.byId.set(conn.id, conn);
    this.byAddress.set(conn.remote, (this.byAddress.get(conn.remote) ?? 0) + 1);
  }

  delete(conn: Conn): void {
    if (!this.byId.delete(conn.id)) return;
    const left = (this.byAddress.get(conn.remote) ?? 1) - 1;
    if (left === 0) this.byAddress.delete(conn.remote);
    else this.byAddress.set(conn.remote, left);
  }

  openFrom(address: string): number {
    return this.byAddress.get(address) ?? 0;
  }

  get(id: string): Conn | undefined {
    return this.byId.get(id);
  }

  values(): IterableIterator<Conn> {
    return this.byId.values();
  }

  /** True when a socket closed with `code` was a slow reader closed by the backpressure limit. */
  closedAsSlowReader(conn: Conn, code: number): boolean {
    return code === 1006 && conn.backedUp;
  }

  private sample(slowReaderBytes: number): void {
    const threshold = slowReaderBytes / 4;
    for (const conn of this.byId.values()) {
      // A buffer that drained again clears the mark: a client that vanishes later is no slow reader.
      conn.backedUp = conn.bufferedBytes() > threshold;
    }
  }
}

/**
 * One registry for the process, not one per listener incarnation: an HTTP
 * keep-alive connection opened before an Endpoint restart is still served by
 * the old uWS app's routes, and those must see today's sockets too.
 */
export const conns = new Conns();
