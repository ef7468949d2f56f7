/**
 * Encoding of server -> client frames of the Phoenix Channels V2 wire protocol (PROTOCOL.md §2, §5, §6, §7).
 *
 * Text encoders return the exact wire string. They build it by concatenation so the payload is
 * serialized once and no intermediate 5-element array is allocated; a broadcast string is meant to
 * be encoded once and handed as-is to every subscriber (the fastlane, §5.3).
 *
 * Refs are passed through as the strings the client sent: the client compares them with `===`
 * (§2.1), so a number or "" where null belongs would silently break matching.
 */
import { Events, PHOENIX_TOPIC, type Payload } from './frame.js';

// JSON.stringify of a string is the cheapest correct escaper V8 has (quotes, backslashes,
// control characters, lone surrogates); topics and events are validated input but still user text.
const str = JSON.stringify as (value: string) => string;
const nullableStr = (value: string | null): string => (value === null ? 'null' : str(value));

/**
 * Serializes a payload, refusing anything that is not a JSON object: the client reads
 * `payload.status` on every frame and would throw on null or a scalar (§10.5). The check is one
 * character, so it is kept on the hot path rather than trusted to the type system.
 *
 * Throws TypeError on a non-serializable payload (BigInt, cycle, toJSON returning a non-object).
 * That is a bug in the caller: data the server does not own (broadcasts) comes here already
 * serialized (PayloadJson), checked by PubSub before anyone gets it.
 */
function payloadJson(payload: Payload): string {
  const json: string | undefined = JSON.stringify(payload);
  if (json === undefined || json.charCodeAt(0) !== 0x7b /* { */) {
    throw new TypeError('channel payload must serialize to a JSON object');
  }
  return json;
}

/** A payload serialized ahead (a cached `presence_state`); asPayloadJson is its only maker, so it is always a JSON object. */
export type PayloadJson = string & { readonly __brand: 'PayloadJson' };

/** Brands JSON serialized elsewhere, with the same one-character check payloadJson makes. */
export function asPayloadJson(json: string): PayloadJson {
  if (json.charCodeAt(0) !== 0x7b /* { */) throw new TypeError('channel payload must serialize to a JSON object');
  return json as PayloadJson;
}

const REPLY_EVENT = str(Events.reply);

/**
 * `[join_ref, ref, topic, "phx_reply", {"status": status, "response": response}]` (§5.1).
 * `ref` is the request's ref. `joinRef` is the channel's join ref, or null where Phoenix uses null
 * (the `unmatched topic` reply, §3). Join replies must use status "ok" or "error" (§4.3).
 */
export function reply(joinRef: string | null, ref: string, topic: string, status: string, response: Payload): string {
  return `[${nullableStr(joinRef)},${str(ref)},${str(topic)},${REPLY_EVENT},{"status":${str(status)},"response":${payloadJson(response)}}]`;
}

/** `reply(..., "error", {reason})`: the shape of every error the server reports to a request. */
export function errorReply(joinRef: string | null, ref: string, topic: string, reason: string): string {
  return `[${nullableStr(joinRef)},${str(ref)},${str(topic)},${REPLY_EVENT},{"status":"error","response":{"reason":${str(reason)}}}]`;
}

/** A push to one channel: `[join_ref, null, topic, event, payload]` (§5.2), e.g. `presence_state`. */
export function push(joinRef: string, topic: string, event: string, payload: Payload | PayloadJson): string {
  const json = typeof payload === 'string' ? payload : payloadJson(payload);
  return `[${str(joinRef)},null,${str(topic)},${str(event)},${json}]`;
}

// Broadcasts repeat a few (topic, event) pairs endlessly, so their escaped prefix is cached: that
// leaves one JSON.stringify (the payload) per broadcast. Bounded by topic count, because rooms can
// be created by users (and per topic by event count, in case events ever are); clearing everything
// when full is crude but O(1) and rare.
const PREFIX_CACHE_MAX_TOPICS = 1024;
const PREFIX_CACHE_MAX_EVENTS = 64;
const broadcastPrefixes = new Map<string, Map<string, string>>();

function broadcastPrefix(topic: string, event: string): string {
  let byEvent = broadcastPrefixes.get(topic);
  if (byEvent === undefined) {
    if (broadcastPrefixes.size >= PREFIX_CACHE_MAX_TOPICS) broadcastPrefixes.clear();
    byEvent = new Map();
    broadcastPrefixes.set(topic, byEvent);
  }
  let prefix = byEvent.get(event);
  if (prefix === undefined) {
    if (byEvent.size >= PREFIX_CACHE_MAX_EVENTS) byEvent.clear();
    prefix = `[null,null,${str(topic)},${str(event)},`;
    byEvent.set(event, prefix);
  }
  return prefix;
}

/**
 * `[null, null, topic, event, payload]` (§5.3). join_ref is null so that every channel instance on
 * the topic accepts it, which is what lets one encoded string go to every subscriber.
 */
export function broadcast(topic: string, event: string, payload: Payload | PayloadJson): string {
  return broadcastPrefix(topic, event) + (typeof payload === 'string' ? payload : payloadJson(payload)) + ']';
}

const ERROR_EVENT = str(Events.error);
const CLOSE_EVENT = str(Events.close);

/**
 * `[join_ref, join_ref, topic, "phx_error", {reason?}]` (§6.3): the channel crashed; the client
 * marks it errored and rejoins with backoff. Phoenix puts the join_ref in the ref slot too (§13).
 */
export function phxError(joinRef: string, topic: string, reason?: string): string {
  const jr = str(joinRef);
  const body = reason === undefined ? '{}' : `{"reason":${str(reason)}}`;
  return `[${jr},${jr},${str(topic)},${ERROR_EVENT},${body}]`;
}

/**
 * `[join_ref, join_ref, topic, "phx_close", {}]` (§6.2): the channel ended on purpose. The client
 * removes the channel and does not rejoin, so this is also how a single channel is kicked.
 */
export function phxClose(joinRef: string, topic: string): string {
  const jr = str(joinRef);
  return `[${jr},${jr},${str(topic)},${CLOSE_EVENT},{}]`;
}

const HEARTBEAT_REPLY_HEAD = `[null,`;
const HEARTBEAT_REPLY_TAIL = `,${str(PHOENIX_TOPIC)},${REPLY_EVENT},{"status":"ok","response":{}}]`;

/** `[null, ref, "phoenix", "phx_reply", {"status":"ok","response":{}}]` (§7); the client matches only `ref`. */
export function heartbeatReply(ref: string): string {
  return HEARTBEAT_REPLY_HEAD + str(ref) + HEARTBEAT_REPLY_TAIL;
}
