import { z } from 'zod';
import type { Payload } from '../channel/frame.js';

/**
 * Broadcasts as PostgreSQL NOTIFY payloads. A payload must stay under 8000
 * bytes, so a larger broadcast is cut into parts that the receiving nodes put
 * back together. A part is `kind|node|seq|index|count|data`: for a broadcast that
 * fits in one part, data is its JSON; for a larger one, a slice of that JSON's
 * base64 (base64 never grows under any escaping, and any slice of it is plain
 * ASCII).
 *
 * Kind `b`: its sender dispatched it locally when it made it, so only the other
 * nodes deliver it. Kind `c`: it was NOTIFYed inside the transaction that
 * stored it, and every node, its sender too, delivers it when it arrives: that
 * way all nodes deliver these in commit order.
 */

export const MAX_NOTIFY_BYTES = 7_900;
/** Room left for the `kind|node|seq|index|count|` header (a node name is at most 64 characters). */
const HEADER_BYTES = 120;
const PART_CHARS = MAX_NOTIFY_BYTES - HEADER_BYTES;

export type FrameKind = 'b' | 'c';

export interface RemoteBroadcast {
  /** How it was sent: `b` or `c` (see above). */
  readonly via: FrameKind;
  readonly node: string;
  readonly topic: string;
  readonly event: string;
  readonly payload: Payload;
}

const body = z.object({ t: z.string().min(1), e: z.string().min(1), p: z.record(z.string(), z.unknown()) });
const header = z.tuple([z.enum(['b', 'c']), z.string().min(1), z.coerce.number().int().nonnegative(), z.coerce.number().int().nonnegative(), z.coerce.number().int().positive()]);

/** `seq` tells one broadcast's parts from another's of the same node and kind. */
export function encodeParts(kind: FrameKind, node: string, seq: number, topic: string, event: string, payload: Payload): string[] {
  const json = JSON.stringify({ t: topic, e: event, p: payload });
  const prefix = `${kind}|${node}|${seq}`;
  if (Buffer.byteLength(json) <= PART_CHARS) return [`${prefix}|0|1|${json}`];
  const base64 = Buffer.from(json).toString('base64');
  const count = Math.ceil(base64.length / PART_CHARS);
  return Array.from({ length: count }, (_, index) => `${prefix}|${index}|${count}|${base64.slice(index * PART_CHARS, (index + 1) * PART_CHARS)}`);
}

export type DecodeError = { readonly kind: 'malformed_notify'; readonly detail: string };

interface Partial {
  readonly parts: string[];
  received: number;
  readonly since: number;
}

/**
 * Puts parts back together; parts of one broadcast come in order from one
 * sender's connection, but may interleave with other senders' parts. A
 * broadcast whose parts stop coming (its sender died mid-way) is dropped after
 * `timeoutMs`.
 */
export class Reassembler {
  private readonly partial = new Map<string, Partial>();

  constructor(private readonly timeoutMs = 30_000) {}

  /** The whole broadcast once its last part arrived; undefined while parts are missing; an error for a part that is not ours. */
  add(text: string, now = Date.now()): RemoteBroadcast | undefined | DecodeError {
    const fields = splitHeader(text);
    const parsed = header.safeParse(fields?.slice(0, 5));
    if (fields === undefined || !parsed.success || parsed.data[3] >= parsed.data[4]) return { kind: 'malformed_notify', detail: 'bad header' };
    const [kind, node, seq, index, count] = parsed.data;
    const data = fields[5] as string;
    if (count === 1) return decodeBody(kind, node, data);
    const key = `${kind}|${node}|${seq}`;
    let entry = this.partial.get(key);
    if (entry === undefined) {
      entry = { parts: new Array<string>(count).fill(''), received: 0, since: now };
      this.partial.set(key, entry);
    }
    if (entry.parts.length !== count) return { kind: 'malformed_notify', detail: 'part count changed' };
    if (entry.parts[index] === '') entry.received += 1;
    entry.parts[index] = data;
    if (entry.received < count) return undefined;
    this.partial.delete(key);
    return decodeBody(kind, node, Buffer.from(entry.parts.join(''), 'base64').toString('utf8'));
  }

  /** Drops broadcasts whose parts stopped coming; returns how many. */
  sweep(now = Date.now()): number {
    let dropped = 0;
    for (const [key, entry] of this.partial) {
      if (now - entry.since < this.timeoutMs) continue;
      this.partial.delete(key);
      dropped += 1;
    }
    return dropped;
  }

  get pending(): number {
    return this.partial.size;
  }
}

function splitHeader(text: string): string[] | undefined {
  const fields: string[] = [];
  let start = 0;
  for (let i = 0; i < 5; i++) {
    const bar = text.indexOf('|', start);
    if (bar < 0) return undefined;
    fields.push(text.slice(start, bar));
    start = bar + 1;
  }
  fields.push(text.slice(start));
  return fields;
}

function decodeBody(kind: FrameKind, node: string, json: string): RemoteBroadcast | DecodeError {
  let value: unknown;
  try {
    value = JSON.parse(json);
  } catch {
    return { kind: 'malformed_notify', detail: 'body is not JSON' };
  }
  const parsed = body.safeParse(value);
  if (!parsed.success) return { kind: 'malformed_notify', detail: 'body is not a broadcast' };
  return { via: kind, node, topic: parsed.data.t, event: parsed.data.e, payload: parsed.data.p };
}
