import type { Logger } from 'pino';
import postgres from 'postgres';
import type { Payload } from '../channel/frame.js';
import type { PubSubAdapter } from './adapter.js';
import { encodeParts, Reassembler } from './notify-frames.js';

/**
 * Broadcasts across nodes over PostgreSQL LISTEN/NOTIFY: the database the nodes
 * share already, nothing new to run. Every node LISTENs on one channel and
 * NOTIFYs there what is broadcast on it; a node skips its own notifications
 * (they were dispatched locally already).
 *
 * Order: this node's notifications all go through one connection, so the
 * others receive them in the order they were broadcast (a room's messages in
 * id order). A lost LISTEN connection is re-established by postgres.js; what
 * was notified meanwhile is gone, so `onGap` tells the node to have its
 * clients catch up from the messages table.
 */

export const NOTIFY_CHANNEL = 'chat_pubsub';
const SWEEP_MS = 10_000;
/**
 * postgres.js LISTENs again after a lost connection, but only once: if the
 * database is still away at that moment, the node would stay deaf for good. So
 * each node NOTIFYs itself a probe this often, and LISTENs anew when two probes
 * in a row did not come back.
 */
const PROBE_MS = 2_000;
const PROBE_PREFIX = '~probe|';

export interface PostgresAdapterOptions {
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
  let seq = 0;
  let listens = 0;
  const parts = new Reassembler();

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
        const decoded = parts.add(text);
        if (decoded === undefined) return;
        if ('kind' in decoded) {
          log.warn({ reason: decoded.kind, detail: decoded.detail }, 'ignored a notification that is not a broadcast');
          return;
        }
        if (decoded.node !== node) deliver(decoded.topic, decoded.event, decoded.payload);
      };
      const onListen = (): void => {
        listens += 1;
        probesUnanswered = 0;
        if (listens === 1) return;
        log.warn({ channel: NOTIFY_CHANNEL }, 'LISTEN connection was lost and is back; closing the gap');
        options.onGap?.();
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
          const dropped = parts.sweep();
          if (dropped > 0) log.warn({ dropped }, 'dropped broadcasts whose parts stopped coming');
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
      for (const part of encodeParts(node, seq, topic, event, payload)) {
        connection.notify(NOTIFY_CHANNEL, part).catch((error: unknown) => {
          log.warn({ err: error, topic, event }, 'could not notify other nodes of a broadcast');
        });
      }
    },
    async stop() {
      for (const timer of timers.splice(0)) clearInterval(timer);
      await sql?.end({ timeout: 2 });
      sql = undefined;
    },
  };
}
