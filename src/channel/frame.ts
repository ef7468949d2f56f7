/**
 * Decoding of client -> server frames of the Phoenix Channels V2 wire protocol (PROTOCOL.md §2, §3).
 *
 * Pure: no sockets, no actors, and it never throws. Every failure is a `FrameError` value that
 * still carries whatever join_ref / ref / topic could be read, so the caller can answer with a
 * `phx_reply` error instead of dropping the socket when that is possible (see `errors.ts`).
 *
 * uWS hands the message as an ArrayBuffer that is only valid during its callback, so everything
 * here reads it synchronously and keeps nothing of it but decoded strings.
 *
 * Payloads are JSON only: a binary frame (which the stock client sends for an ArrayBuffer
 * payload) is read as far as its header, to address the refusal, and always refused.
 */
import { z } from 'zod';
import { err, ok, type Result } from '../../supervision/result.js';
import { payloadSchema } from '../pubsub/broadcast.js';

/** A channel payload. Phoenix only ever exchanges JSON objects (maps) on text frames (§2.1, §10.5). */
export type Payload = Record<string, unknown>;

/** The topic and events the protocol itself reserves (§10.6). */
export const PHOENIX_TOPIC = 'phoenix';
export const Events = {
  join: 'phx_join',
  leave: 'phx_leave',
  reply: 'phx_reply',
  error: 'phx_error',
  close: 'phx_close',
  heartbeat: 'heartbeat',
} as const;

/** Byte 0 of a client's binary push (§2.2); replies and broadcasts only travel server -> client. */
const BINARY_PUSH = 0;

interface FrameHeader {
  /** The channel's join ref; null on heartbeats. Kept as the exact string: the client compares with `===`. */
  readonly joinRef: string | null;
  /** The request ref the reply must echo; null means nobody waits for a reply. */
  readonly ref: string | null;
  readonly topic: string;
  readonly event: string;
}

export type TextFrame = FrameHeader & { readonly payload: Payload };

/** Which element of the frame was wrong. `frame` means the frame as a whole (not an array, too short...). */
export type FrameField = 'frame' | 'join_ref' | 'ref' | 'topic' | 'event' | 'payload';

export type BinaryProblem =
  | 'empty'
  | 'unknown_kind'
  | 'truncated_header'
  | 'truncated_fields'
  | 'invalid_utf8'
  | 'empty_field';

/**
 * What could be read of a rejected frame. `ref` and `topic` are only set when they were valid,
 * so `ref !== null && topic !== null` is exactly "a phx_reply can reach the pushing client".
 */
export interface FrameContext {
  readonly joinRef: string | null;
  readonly ref: string | null;
  readonly topic: string | null;
}

export type FrameError = FrameContext &
  (
    | { readonly reason: 'too_large'; readonly size: number; readonly limit: number; readonly message: string }
    | { readonly reason: 'invalid_utf8'; readonly message: string }
    | { readonly reason: 'malformed_json'; readonly message: string }
    | { readonly reason: 'bad_frame'; readonly field: FrameField; readonly message: string }
    | {
        readonly reason: 'bad_binary';
        readonly problem: BinaryProblem;
        readonly field: FrameField | null;
        readonly message: string;
      }
    | { readonly reason: 'binary_not_supported'; readonly message: string }
  );

export interface DecodeOptions {
  /** Largest frame accepted, in bytes. Checked before any parsing so a huge frame costs O(1). */
  readonly maxBytes: number;
}

export type DecodeResult = Result<TextFrame, FrameError>;

const UNKNOWN: FrameContext = { joinRef: null, ref: null, topic: null };

// `fatal` so that bad UTF-8 is reported rather than silently turned into U+FFFD, which
// would make a corrupted ref or topic look valid.
const strictUtf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });
const lenientUtf8 = new TextDecoder('utf-8', { fatal: false, ignoreBOM: true });

const refSchema = z.union([z.string(), z.null()]);
const nameSchema = z.string().min(1);

/**
 * The V2 text frame. Phoenix ignores elements after the 5th, so `.rest` accepts them too; the
 * length is checked by hand first because zod reports missing tuple items as per-item type errors.
 */
const textFrameSchema = z.tuple([refSchema, refSchema, nameSchema, nameSchema, payloadSchema]).rest(z.unknown());

const FIELD_BY_INDEX: readonly FrameField[] = ['join_ref', 'ref', 'topic', 'event', 'payload'];

const FIELD_RULE: Readonly<Record<FrameField, string>> = {
  frame: 'a 5-element JSON array',
  join_ref: 'a string or null',
  ref: 'a string or null',
  topic: 'a non-empty string',
  event: 'a non-empty string',
  payload: 'a JSON object',
};

/**
 * Decodes one WebSocket message. `message` is read synchronously and never retained, so it is
 * safe to pass uWS's callback-scoped ArrayBuffer. Node Buffers / other views work too.
 */
export function decodeFrame(message: ArrayBuffer | ArrayBufferView, isBinary: boolean, options: DecodeOptions): DecodeResult {
  const bytes =
    message instanceof ArrayBuffer ? new Uint8Array(message) : new Uint8Array(message.buffer, message.byteOffset, message.byteLength);
  return isBinary ? decodeBinary(bytes, options) : decodeTextBytes(bytes, options);
}

/** Text frame from raw bytes: size check, strict UTF-8, then the JSON shape. */
function decodeTextBytes(bytes: Uint8Array, options: DecodeOptions): DecodeResult {
  if (bytes.byteLength > options.maxBytes) {
    return err(tooLarge(bytes.byteLength, options.maxBytes, textHeaderFromPrefix(bytes)));
  }
  let text: string;
  try {
    text = strictUtf8.decode(bytes);
  } catch {
    return err({ ...UNKNOWN, reason: 'invalid_utf8', message: 'text frame is not valid UTF-8' });
  }
  return parseText(text);
}

function parseText(text: string): DecodeResult {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (cause) {
    const detail = cause instanceof Error ? cause.message : String(cause);
    return err({ ...UNKNOWN, reason: 'malformed_json', message: `frame is not valid JSON: ${detail}` });
  }
  if (!Array.isArray(json)) {
    return err(badFrame('frame', `frame must be ${FIELD_RULE.frame}, got ${describe(json)}`, UNKNOWN));
  }
  const items: readonly unknown[] = json;
  if (items.length < 5) {
    return err(badFrame('frame', `frame must be ${FIELD_RULE.frame}, got ${items.length} elements`, contextOf(items)));
  }
  const parsed = textFrameSchema.safeParse(items);
  if (!parsed.success) {
    const index = parsed.error.issues[0]?.path[0];
    const field = (typeof index === 'number' ? FIELD_BY_INDEX[index] : undefined) ?? 'frame';
    const got = typeof index === 'number' ? describe(items[index]) : describe(items);
    return err(badFrame(field, `${field} must be ${FIELD_RULE[field]}, got ${got}`, contextOf(items)));
  }
  const [joinRef, ref, topic, event, payload] = parsed.data;
  return ok({ joinRef, ref, topic, event, payload });
}

/**
 * C->S binary push (§2.2): kind 0, then join_ref_len, ref_len, topic_len, event_len (one byte each),
 * the four fields, then the raw payload. Only the header is read, to address the refusal.
 *
 * A zero-length join_ref or ref is kept as "" rather than mapped to null: that is what Phoenix does,
 * and it keeps a binary frame from posing as a null-join_ref frame (which any channel instance accepts).
 */
function decodeBinary(bytes: Uint8Array, options: DecodeOptions): Result<never, FrameError> {
  const size = bytes.byteLength;
  if (size === 0) return err(badBinary('empty', null, 'binary frame is empty', UNKNOWN));
  const kind = bytes[0];
  if (kind !== BINARY_PUSH) {
    return err(badBinary('unknown_kind', null, `binary frame kind ${String(kind)} is not a client push (0)`, UNKNOWN));
  }
  if (size < 5) {
    return err(badBinary('truncated_header', 'frame', `binary frame has ${size} bytes, the header alone needs 5`, UNKNOWN));
  }

  // Walk the four header fields; stop at the first one that is cut off or not UTF-8, but keep the
  // ones already read so a reply can still be addressed.
  const names = ['join_ref', 'ref', 'topic', 'event'] as const;
  const values: string[] = [];
  let offset = 5;
  let failure: { problem: BinaryProblem; field: FrameField; message: string } | null = null;
  for (let i = 0; i < names.length; i++) {
    const name = names[i]!;
    const length = bytes[1 + i]!;
    if (offset + length > size) {
      failure = { problem: 'truncated_fields', field: name, message: `binary frame ends inside ${name} (needs ${offset + length} bytes, has ${size})` };
      break;
    }
    let value: string;
    try {
      value = strictUtf8.decode(bytes.subarray(offset, offset + length));
    } catch {
      failure = { problem: 'invalid_utf8', field: name, message: `binary frame ${name} is not valid UTF-8` };
      break;
    }
    if (length === 0 && (name === 'topic' || name === 'event')) {
      failure = { problem: 'empty_field', field: name, message: `binary frame ${name} is empty` };
      break;
    }
    values.push(value);
    offset += length;
  }

  const [joinRef = null, ref = null, topic = null, event] = values;
  if (failure !== null || topic === null || event === undefined) {
    const f = failure ?? { problem: 'truncated_fields' as const, field: 'frame' as const, message: 'binary frame header is incomplete' };
    return err(badBinary(f.problem, f.field, f.message, { joinRef, ref, topic }));
  }
  // Checked after the header so that an oversized frame can still be answered by ref (the header is
  // at most 1 + 4 + 4 * 255 bytes, so reading it is bounded however big the frame is).
  if (size > options.maxBytes) return err(tooLarge(size, options.maxBytes, { joinRef, ref, topic }));
  return err({ joinRef, ref, topic, reason: 'binary_not_supported', message: 'this server does not accept binary payloads' });
}

// --- helpers --------------------------------------------------------------------------------

function badFrame(field: FrameField, message: string, context: FrameContext): FrameError {
  return { ...context, reason: 'bad_frame', field, message };
}

function badBinary(problem: BinaryProblem, field: FrameField | null, message: string, context: FrameContext): FrameError {
  return { ...context, reason: 'bad_binary', problem, field, message };
}

function tooLarge(size: number, limit: number, context: FrameContext): FrameError {
  return { ...context, reason: 'too_large', size, limit, message: `frame of ${size} bytes exceeds the limit of ${limit} bytes` };
}

/** The parts of a rejected array frame that are individually valid, for addressing an error reply. */
function contextOf(items: readonly unknown[]): FrameContext {
  const [joinRef, ref, topic] = items;
  return {
    joinRef: typeof joinRef === 'string' ? joinRef : null,
    ref: typeof ref === 'string' ? ref : null,
    topic: typeof topic === 'string' && topic.length > 0 ? topic : null,
  };
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (value === undefined) return 'nothing';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'string') return value.length === 0 ? 'an empty string' : 'a string';
  return `a ${typeof value}`;
}

// Enough for the four header fields of any realistic frame; bounds the work spent on an
// oversized frame that is about to be refused anyway.
const HEADER_PREFIX_BYTES = 2048;

const JSON_WS = '[ \\t\\n\\r]*';
const JSON_STRING = '"(?:[^"\\\\\\u0000-\\u001f]|\\\\(?:["\\\\/bfnrt]|u[0-9a-fA-F]{4}))*"';
const REF_TOKEN = `(null|${JSON_STRING})`;
const HEADER_PATTERN = new RegExp(
  `^${JSON_WS}\\[${JSON_WS}${REF_TOKEN}${JSON_WS},${JSON_WS}${REF_TOKEN}${JSON_WS},${JSON_WS}(${JSON_STRING})${JSON_WS},`,
);

/**
 * Reads join_ref, ref and topic from the start of a text frame without parsing the rest, so a
 * frame refused for its size can still get an error reply instead of a close.
 */
function textHeaderFromPrefix(bytes: Uint8Array): FrameContext {
  // Lenient decoding: the cut may split a multi-byte character, which only affects the tail.
  return textHeaderFromString(lenientUtf8.decode(bytes.subarray(0, HEADER_PREFIX_BYTES)));
}

const PEEK_BYTES = 512;
const PEEK_PATTERN = new RegExp(`${HEADER_PATTERN.source}${JSON_WS}(${JSON_STRING})`);

/**
 * The header of a text frame (refs, topic, event) read from its first bytes
 * without decoding the frame: what a socket's budget needs to tell a heartbeat
 * or a join from a push, and to address a refusal, before paying for the rest.
 */
export function peekHeader(bytes: Uint8Array): FrameContext & { readonly event: string | null } {
  const match = PEEK_PATTERN.exec(lenientUtf8.decode(bytes.subarray(0, PEEK_BYTES)));
  if (match === null) return { ...UNKNOWN, event: null };
  const event = jsonToken(match[4]);
  return { ...contextOf([jsonToken(match[1]), jsonToken(match[2]), jsonToken(match[3])]), event: typeof event === 'string' ? event : null };
}

/** One JSON value the header pattern matched (a string or null); undefined when it does not parse. */
function jsonToken(raw: string | undefined): unknown {
  if (raw === undefined) return undefined;
  try {
    return JSON.parse(raw);
  } catch {
    return undefined;
  }
}

function textHeaderFromString(prefix: string): FrameContext {
  const match = HEADER_PATTERN.exec(prefix);
  if (match === null) return UNKNOWN;
  return contextOf([jsonToken(match[1]), jsonToken(match[2]), jsonToken(match[3])]);
}

const HEARTBEAT_HEAD = Buffer.from('[null,"');
const HEARTBEAT_TAIL = Buffer.from('","phoenix","heartbeat",{}]');
const MAX_HEARTBEAT_REF = 32;

/** A ref character that needs no JSON escaping and cannot end the string: [0-9A-Za-z_-]. */
const plainRefByte = (byte: number): boolean =>
  (byte >= 0x30 && byte <= 0x39) || (byte >= 0x41 && byte <= 0x5a) || (byte >= 0x61 && byte <= 0x7a) || byte === 0x5f || byte === 0x2d;

/**
 * The ref of a heartbeat exactly as phoenix.js sends it (`[null,"<ref>","phoenix","heartbeat",{}]`),
 * read from the bytes without decoding the frame; undefined for anything else, which takes the
 * full decode. An idle socket sends nothing but these, and with 19,000 sockets the full decode of
 * each was ~1 MB/s of garbage: enough that V8 never saw the node idle and never gave back the
 * memory of a join storm.
 */
export function stockHeartbeatRef(message: ArrayBuffer): string | undefined {
  const size = message.byteLength;
  const refBytes = size - HEARTBEAT_HEAD.length - HEARTBEAT_TAIL.length;
  if (refBytes < 1 || refBytes > MAX_HEARTBEAT_REF) return undefined;
  const bytes = new Uint8Array(message);
  for (let i = 0; i < HEARTBEAT_HEAD.length; i++) if (bytes[i] !== HEARTBEAT_HEAD[i]) return undefined;
  const tail = size - HEARTBEAT_TAIL.length;
  for (let i = 0; i < HEARTBEAT_TAIL.length; i++) if (bytes[tail + i] !== HEARTBEAT_TAIL[i]) return undefined;
  let ref = '';
  for (let i = HEARTBEAT_HEAD.length; i < tail; i++) {
    const byte = bytes[i] ?? 0;
    if (!plainRefByte(byte)) return undefined;
    ref += String.fromCharCode(byte);
  }
  return ref;
}
