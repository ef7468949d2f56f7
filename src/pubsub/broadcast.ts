import { z } from 'zod';
import type { Pid } from '../../supervision/index.js';
import { err, ok, type Result } from '../../supervision/result.js';

/**
 * A socket of this node that publishes a frame to a topic's other subscribers
 * (uWS ws.publish skips the publisher): broadcastFrom's way to leave out the
 * sender's socket. False when it cannot (closed): then everyone gets it.
 */
export interface SenderSocket {
  publishToOthers(topic: string, frame: string): boolean;
}

/** What a broadcast carries: a JSON object, as sockets and other nodes get it. */
export type Payload = Record<string, unknown>;

const isPayload = (value: unknown): value is Payload => typeof value === 'object' && value !== null && !Array.isArray(value);
/**
 * A payload as it arrives (a frame, a notification). z.custom rather than z.record: a record
 * schema rebuilds the object key by key (slower, on every frame), and an own "__proto__" key
 * from JSON.parse would become a prototype assignment on the copy.
 */
export const payloadSchema = z.custom<Payload>(isPayload);

interface Unserializable {
  readonly reason: 'unserializable';
  readonly detail: string;
}

/**
 * One published event: a topic, an event and a payload; PubSub knows no wire
 * format. The payload's JSON is made at most once, on first use, and the same
 * string then serves every socket and node: 5,000 subscribers cost one
 * JSON.stringify, not 5,000.
 */
export class Broadcast {
  readonly type = 'broadcast';
  #json: string | undefined;

  constructor(
    readonly topic: string,
    readonly event: string,
    readonly payload: Payload,
    /** The sender left out by broadcastFrom. */
    readonly from: Pid | undefined = undefined,
    /** The sender's socket, left out by the fastlane on this node (other nodes know nothing of it). */
    readonly fromSocket: SenderSocket | undefined = undefined,
  ) {}

  /** The payload's JSON, or why it has none (a BigInt, a cycle, a getter or toJSON that throws, not an object). */
  json(): Result<string, Unserializable> {
    if (this.#json !== undefined) return ok(this.#json);
    let json: string | undefined;
    try {
      json = JSON.stringify(this.payload);
    } catch (cause) {
      return err({ reason: 'unserializable', detail: cause instanceof Error ? cause.message : String(cause) });
    }
    if (json === undefined || json.charCodeAt(0) !== 0x7b /* { */) return err({ reason: 'unserializable', detail: 'payload must serialize to a JSON object' });
    this.#json = json;
    return ok(json);
  }
}
