import { z } from 'zod';
import { err, ok, type Result } from '../../supervision/result.js';
import { payloadSchema, type Payload } from './broadcast.js';

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
 *
 * Anyone who can connect to the database can NOTIFY on the channel, so what
 * arrives is parsed, never trusted: the Reassembler below is pure (the clock is
 * passed in) and bounded in parts, bytes, reassemblies in flight and their age.
 */

export const MAX_NOTIFY_BYTES = 7_900;
/** Room left for the `kind|node|seq|index|count|` header (a node name is at most 80 characters). */
const HEADER_BYTES = 120;
export const PART_CHARS = MAX_NOTIFY_BYTES - HEADER_BYTES;

/**
 * Bounds on what a node puts back together. A broadcast's JSON is at most 16 MiB
 * (a whole node's presence state at 20,000 sessions is ~3 MB); at most 32
 * reassemblies (64 MiB of parts) are held at once, each for at most 30 s.
 */
export interface ReassemblyLimits {
  readonly maxBroadcastBytes: number;
  readonly maxInFlight: number;
  readonly maxInFlightBytes: number;
  readonly timeoutMs: number;
}

export const DEFAULT_LIMITS: ReassemblyLimits = {
  maxBroadcastBytes: 16 * 1024 * 1024,
  maxInFlight: 32,
  maxInFlightBytes: 64 * 1024 * 1024,
  timeoutMs: 30_000,
};

/** How many parts a broadcast of `bytes` JSON takes at most (its base64, sliced). */
export const partsFor = (bytes: number): number => Math.ceil(Math.ceil(bytes / 3) * 4 / PART_CHARS);

export type FrameKind = 'b' | 'c';

interface RemoteBroadcast {
  /** How it was sent: `b` or `c` (see above). */
  readonly via: FrameKind;
  readonly node: string;
  readonly topic: string;
  readonly event: string;
  readonly payload: Payload;
}

/** Why a notification was dropped; `pending` counts the reassemblies given up with it. */
export type NotifyError =
  | { readonly reason: 'bad_header' }
  | { readonly reason: 'oversized_part'; readonly bytes: number }
  | { readonly reason: 'too_many_parts'; readonly count: number; readonly max: number }
  | { readonly reason: 'bad_json' }
  | { readonly reason: 'not_a_broadcast' }
  | { readonly reason: 'out_of_order'; readonly index: number; readonly expected: number }
  | { readonly reason: 'part_count_changed' }
  | { readonly reason: 'too_large'; readonly bytes: number; readonly max: number }
  | { readonly reason: 'too_many_in_flight'; readonly inFlight: number; readonly bytes: number }
  | { readonly reason: 'expired'; readonly dropped: number };

export type NotifyErrorReason = NotifyError['reason'];

/** What each drop says in the log: the sender's bug or a stranger on the channel (warn), or a sender that died mid-way (info). */
export function describeNotifyError(error: NotifyError): { readonly level: 'warn' | 'info'; readonly message: string } {
  switch (error.reason) {
    case 'bad_header':
      return { level: 'warn', message: 'dropped a notification without a broadcast header' };
    case 'oversized_part':
      return { level: 'warn', message: 'dropped a notification part larger than any node sends' };
    case 'too_many_parts':
      return { level: 'warn', message: 'dropped a broadcast announcing more parts than allowed' };
    case 'bad_json':
      return { level: 'warn', message: 'dropped a broadcast whose body is not JSON' };
    case 'not_a_broadcast':
      return { level: 'warn', message: 'dropped a notification whose body is not a broadcast' };
    case 'out_of_order':
      return { level: 'warn', message: 'dropped a broadcast whose parts came out of order (duplicate or missing)' };
    case 'part_count_changed':
      return { level: 'warn', message: 'dropped a broadcast whose part count changed' };
    case 'too_large':
      return { level: 'warn', message: 'dropped a broadcast larger than allowed' };
    case 'too_many_in_flight':
      return { level: 'warn', message: 'dropped a broadcast: too many being put back together' };
    case 'expired':
      return { level: 'info', message: 'dropped broadcasts whose parts stopped coming' };
  }
}

const body = z.object({ t: z.string().min(1).max(1_024), e: z.string().min(1).max(256), p: payloadSchema });
const digits = (max: number) => z.string().regex(new RegExp(`^\\d{1,${max}}$`)).transform(Number);
const header = z.tuple([z.enum(['b', 'c']), z.string().regex(/^[^|]{1,80}$/), digits(16), digits(6), digits(6)]);
const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

type EncodeError =
  | { readonly reason: 'unserializable'; readonly detail: string }
  | { readonly reason: 'too_large'; readonly bytes: number; readonly max: number };

/** `seq` tells one broadcast's parts from another's of the same node and kind. Never throws: a payload JSON refuses is an error. */
export function encodeParts(
  kind: FrameKind,
  node: string,
  seq: number,
  topic: string,
  event: string,
  payload: Payload,
  maxBroadcastBytes = DEFAULT_LIMITS.maxBroadcastBytes,
): Result<string[], EncodeError> {
  let json: string;
  try {
    json = JSON.stringify({ t: topic, e: event, p: payload });
  } catch (cause) {
    return err({ reason: 'unserializable', detail: cause instanceof Error ? cause.message : String(cause) });
  }
  const bytes = Buffer.byteLength(json);
  // Receivers drop these anyway: refusing here says so on the node that made it.
  if (bytes > maxBroadcastBytes) return err({ reason: 'too_large', bytes, max: maxBroadcastBytes });
  const prefix = `${kind}|${node}|${seq}`;
  if (bytes <= PART_CHARS) return ok([`${prefix}|0|1|${json}`]);
  const base64 = Buffer.from(json).toString('base64');
  const count = Math.ceil(base64.length / PART_CHARS);
  return ok(Array.from({ length: count }, (_, index) => `${prefix}|${index}|${count}|${base64.slice(index * PART_CHARS, (index + 1) * PART_CHARS)}`));
}

interface InFlight {
  readonly count: number;
  readonly parts: string[];
  readonly since: number;
  chars: number;
}

/**
 * Puts parts back together. A broadcast's parts come in order from one sender's
 * connection (PostgreSQL keeps a session's notifications in order), so a part
 * that is not the next one (a duplicate, a gap, an index past the count) gives
 * up that broadcast. Parts are kept as they arrive, never allocated ahead from
 * the count a notification claims.
 */
export class Reassembler {
  private readonly inFlight = new Map<string, InFlight>();
  private chars = 0;
  private readonly maxParts: number;

  constructor(private readonly limits: ReassemblyLimits = DEFAULT_LIMITS) {
    this.maxParts = partsFor(limits.maxBroadcastBytes);
  }

  /** The whole broadcast once its last part arrived; undefined while parts are missing; an error value for a dropped one. */
  add(text: string, now: number): RemoteBroadcast | undefined | NotifyError {
    // Postgres refuses NOTIFY payloads of 8000 bytes or more; this also bounds the regexes below.
    if (text.length > 8_000) return { reason: 'oversized_part', bytes: Buffer.byteLength(text) };
    const fields = splitHeader(text);
    const parsed = header.safeParse(fields?.slice(0, 5));
    if (fields === undefined || !parsed.success || parsed.data[3] >= parsed.data[4]) return { reason: 'bad_header' };
    const [kind, node, seq, index, count] = parsed.data;
    const data = fields[5] as string;
    if (count === 1) return decodeBody(kind, node, data);
    if (count > this.maxParts) return { reason: 'too_many_parts', count, max: this.maxParts };
    if (data.length > PART_CHARS || !BASE64.test(data)) return { reason: 'not_a_broadcast' };
    const key = `${kind}|${node}|${seq}`;
    let entry = this.inFlight.get(key);
    if (entry === undefined) {
      if (index !== 0) return { reason: 'out_of_order', index, expected: 0 };
      this.expire(now);
      if (this.inFlight.size >= this.limits.maxInFlight) return { reason: 'too_many_in_flight', inFlight: this.inFlight.size, bytes: this.chars };
      entry = { count, parts: [], since: now, chars: 0 };
      this.inFlight.set(key, entry);
    }
    if (entry.count !== count) return this.giveUp(key, entry, { reason: 'part_count_changed' });
    if (index !== entry.parts.length) return this.giveUp(key, entry, { reason: 'out_of_order', index, expected: entry.parts.length });
    if (this.chars + data.length > this.limits.maxInFlightBytes) {
      return this.giveUp(key, entry, { reason: 'too_many_in_flight', inFlight: this.inFlight.size, bytes: this.chars });
    }
    entry.parts.push(data);
    entry.chars += data.length;
    this.chars += data.length;
    if (entry.parts.length < count) return undefined;
    this.remove(key, entry);
    const json = Buffer.from(entry.parts.join(''), 'base64');
    if (json.length > this.limits.maxBroadcastBytes) return { reason: 'too_large', bytes: json.length, max: this.limits.maxBroadcastBytes };
    return decodeBody(kind, node, json.toString('utf8'));
  }

  /** Gives up broadcasts older than the timeout; an `expired` error when there were any. */
  sweep(now: number): NotifyError | undefined {
    const dropped = this.expire(now);
    return dropped > 0 ? { reason: 'expired', dropped } : undefined;
  }

  /** Reassemblies in flight. */
  get pending(): number {
    return this.inFlight.size;
  }

  /** Characters of parts held. */
  get heldChars(): number {
    return this.chars;
  }

  private expire(now: number): number {
    let dropped = 0;
    for (const [key, entry] of this.inFlight) {
      // Entries are in arrival order, so the first young one ends the scan (and a clock that went back expires nothing).
      if (now - entry.since < this.limits.timeoutMs) break;
      this.remove(key, entry);
      dropped += 1;
    }
    return dropped;
  }

  private giveUp(key: string, entry: InFlight, error: NotifyError): NotifyError {
    this.remove(key, entry);
    return error;
  }

  private remove(key: string, entry: InFlight): void {
    this.inFlight.delete(key);
    this.chars -= entry.chars;
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

function decodeBody(kind: FrameKind, node: string, json: string): RemoteBroadcast | NotifyError {
  let value: unknown;
  try {
    value = JSON.parse(json);
  } catch {
    return { reason: 'bad_json' };
  }
  const parsed = body.safeParse(value);
  if (!parsed.success) return { reason: 'not_a_broadcast' };
  return { via: kind, node, topic: parsed.data.t, event: parsed.data.e, payload: parsed.data.p };
}
