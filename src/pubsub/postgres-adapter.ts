import type { Logger } from 'pino';
import postgres from 'postgres';
import type { Payload } from './broadcast.js';
import type { PubSubAdapter } from './adapter.js';
import type { Broadcast } from './broadcast.js';
import { DropLog } from './drop-log.js';
import { encodeParts, Reassembler } from './notify-frames.js';

/**
 * Broadcasts across nodes over PostgreSQL LISTEN/NOTIFY: the database the nodes
 * share already, nothing new to run. Every node LISTENs on one channel.
 *
 * - A broadcast made on a node is dispatched there at once and NOTIFYed on the
 *   adapter's one connection (kind `b`), so the others receive a node's
 *   broadcasts in the order it made them; a node skips its own.
 * - A stored message's broadcast is NOTIFYed by the Repo inside the
 *   transaction that stores it (kind `c`, `commitNotify`), and every node, the
 *   sender too, dispatches it when it arrives. PostgreSQL delivers
 *   notifications in commit order, and the Repo's room locks make that id
 *   order within a room: every node delivers a room's messages in id order,
 *   which is what makes catch-up by `last_seen_id` exact.
 *
 * A lost LISTEN connection is re-established; what was notified meanwhile is
 * gone, so `onGap` tells the node to have its clients catch up from the
 * messages table.
 */

const NOTIFY_CHANNEL = 'chat_pubsub';
const SWEEP_MS = 10_000;
/**
 * postgres.js LISTENs again after a lost connection, but only once: if the
 * database is still away at that moment, the node would stay deaf for good. So
 * each node NOTIFYs itself a probe this often, and LISTENs anew when two probes
 * in a row did not come back.
 */
const PROBE_MS = 2_000;
const PROBE_PREFIX = '~probe|';
/**
 * sync(): a marker NOTIFYed after the call comes back after every notification
 * committed before it. One marker is out at a time; the calls made meanwhile
 * wait for the next.
 */
const SYNC_PREFIX = '~sync|';

interface PostgresAdapterOptions {
  readonly url: string;
  readonly node: string;
  readonly log: Logger;
  /** Called when LISTEN was lost and is back: broadcasts of the gap never arrived here. */
  readonly onGap?: () => void;
}

export function postgresAdapter(options: PostgresAdapterOptions): PubSubAdapter {
  const { node, log } = options;
  let sql: postgres.Sql | undefined;
  const timers: NodeJS.Timeout[] = [];
  // Starts from the clock so that a restarted node's parts never join a dead incarnation's.
  let seq = Date.now();
  let listens = 0;
  const parts = new Reassembler();
  const drops = new DropLog(log);
  let inflight: { readonly marker: string; readonly waiters: Array<() => void> } | undefined;
  let next: Array<() => void> = [];
  let markers = 0;
  const sendMarker = (): void => {
    const connection = sql;
    if (inflight !== undefined || next.length === 0 || connection === undefined) return;
    inflight = { marker: `${SYNC_PREFIX}${node}|${++markers}`, waiters: next };
    next = [];
    connection.notify(NOTIFY_CHANNEL, inflight.marker).catch(() => setTimeout(resendMarker, PROBE_MS).unref());
  };
  // A marker lost with the LISTEN connection is sent again.
  const resendMarker = (): void => {
    if (inflight !== undefined) next = [...inflight.waiters, ...next];
    inflight = undefined;
    sendMarker();
  };

  return {
    name: 'postgres',
    async start(deliver: (topic: string, event: string, payload: Payload) => void) {
      const connection = postgres(options.url, { max: 1, onnotice: () => {}, connection: { application_name: `chat-pubsub ${node}` } });
      sql = connection;
      const probe = `${PROBE_PREFIX}${node}`;
      let probesUnanswered = 0;
      const onNotify = (text: string): void => {
        if (text.startsWith(PROBE_PREFIX)) {
          if (text === probe) probesUnanswered = 0;
          return;
        }
        if (text.startsWith(SYNC_PREFIX)) {
          if (text !== inflight?.marker) return;
          const { waiters } = inflight;
          inflight = undefined;
          for (const resolve of waiters) resolve();
          sendMarker();
          return;
        }
        const decoded = parts.add(text, Date.now());
        if (decoded === undefined) return;
        if ('reason' in decoded) {
          drops.dropped(decoded, Date.now());
          return;
        }
        if (decoded.via === 'c' || decoded.node !== node) deliver(decoded.topic, decoded.event, decoded.payload);
      };
      const onListen = (): void => {
        listens += 1;
        probesUnanswered = 0;
        if (listens === 1) return;
        log.warn({ channel: NOTIFY_CHANNEL }, 'LISTEN connection was lost and is back; closing the gap');
        options.onGap?.();
        resendMarker();
      };
      let listening = await connection.listen(NOTIFY_CHANNEL, onNotify, onListen);
      let relistening = false;
      const relisten = async (): Promise<void> => {
        relistening = true;
        log.warn({ channel: NOTIFY_CHANNEL }, 'no probe came back: listening again');
        try {
          await listening.unlisten().catch(() => undefined);
          listening = await connection.listen(NOTIFY_CHANNEL, onNotify, onListen);
        } catch (error) {
          log.warn({ err: error }, 'could not listen again yet; will retry');
        } finally {
          relistening = false;
        }
      };
      timers.push(
        setInterval(() => {
          const expired = parts.sweep(Date.now());
          if (expired !== undefined) drops.dropped(expired, Date.now());
        }, SWEEP_MS),
        setInterval(() => {
          if (probesUnanswered >= 2 && !relistening) void relisten();
          probesUnanswered += 1;
          connection.notify(NOTIFY_CHANNEL, probe).catch(() => undefined);
        }, PROBE_MS),
      );
      for (const timer of timers) timer.unref();
    },
    publish(topic, event, payload) {
      const connection = sql;
      if (connection === undefined) return;
      seq += 1;
      const encoded = encodeParts('b', node, seq, topic, event, payload);
      if (!encoded.ok) {
        log.error({ reason: encoded.error.reason, error: encoded.error, topic, event }, 'could not notify other nodes of a broadcast: dropped');
        return;
      }
      for (const part of encoded.value) {
        connection.notify(NOTIFY_CHANNEL, part).catch((error: unknown) => {
          log.warn({ err: error, topic, event }, 'could not notify other nodes of a broadcast');
        });
      }
    },
    sync() {
      return new Promise<void>((resolve) => {
        next.push(resolve);
        sendMarker();
      });
    },
    async stop() {
      for (const timer of timers.splice(0)) clearInterval(timer);
      await sql?.end({ timeout: 2 });
      sql = undefined;
    },
  };
}

/**
 * For the Repo with CLUSTER=1: what a stored message's broadcast NOTIFYs inside its transaction.
 * One that cannot be encoded NOTIFYs nothing (it must not fail the batch that stores it); the
 * message stays stored, and clients get it on their next catch-up.
 */
export function commitNotify(node: string): { readonly channel: string; readonly encode: (broadcast: Broadcast) => readonly string[] } {
  let seq = Date.now();
  return {
    channel: NOTIFY_CHANNEL,
    encode: (broadcast: Broadcast) => {
      const encoded = encodeParts('c', node, ++seq, broadcast.topic, broadcast.event, broadcast.payload);
      return encoded.ok ? encoded.value : [];
    },
  };
}
