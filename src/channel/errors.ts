/**
 * Error reasons and WebSocket close codes the server uses, and the policy that decides between
 * the two for a frame that could not be decoded.
 *
 * The rule: **answer with a `phx_reply` error whenever the offending frame's ref and topic are
 * known, close the socket only when nobody could receive a reply.** A reply fails just that push
 * (the app's `.receive("error")` fires) and keeps the user's other channels; a close errors every
 * channel and costs a reconnect + rejoin of all of them. Phoenix itself crashes the socket on any
 * undecodable frame (§2.1); replying where possible is our deliberate improvement.
 *
 * | decode error                         | ref + topic known        | otherwise              |
 * |--------------------------------------|--------------------------|------------------------|
 * | `too_large`                          | reply `frame_too_large`  | close 1009             |
 * | `binary_not_supported`               | reply `binary_not_supported` | close 1003         |
 * | `bad_frame` (shape, field types)     | reply `bad_frame`        | close 1007             |
 * | `bad_binary` (truncated, bad UTF-8)  | reply `bad_frame`        | close 1007             |
 * | `bad_binary` kind != 0               | (never known)            | close 1003             |
 * | `malformed_json`, `invalid_utf8`     | (never known)            | close 1007             |
 *
 * A reply to a malformed `phx_join` is an ordinary join error, so the client will retry it with
 * backoff forever (§4.3); the session may follow it with `phx_close` to stop that (§10.3).
 * Errors that need a decoded frame (unknown event, rate limit, bad params...) are decided by the
 * session and are always replies; see the reasons below.
 */
import type { FrameError } from './frame.js';

/** `response.reason` values of `{"status":"error"}` replies (and the `phx_error` payload reason). */
export const Reason = {
  // --- Phoenix's own, kept verbatim because clients written for Phoenix may match on them ---
  /** A push for a topic not joined on this socket; replied with join_ref null (§3, §10.8). */
  unmatchedTopic: 'unmatched topic',
  /** Join beyond the per-socket channel limit (Phoenix default 100) (§4.4). */
  tooManyChannels: 'too many channels joined',

  // --- ours ---
  /** `phx_error` payload reason when a session crashed and was restarted (§6.3); the client rejoins. */
  channelCrash: 'channel_crash',
  /** Text frame that is not JSON. Listed for completeness: no ref can be read, so this one closes (1007). */
  malformedJson: 'malformed_json',
  /** Frame with a readable ref/topic but a wrong shape (payload not an object, numeric join_ref...). */
  badFrame: 'bad_frame',
  /** A well-formed push whose event the channel does not handle (Phoenix would crash the channel). */
  unknownEvent: 'unknown_event',
  /** Push refused by the per-socket rate limit; the push is dropped, the channel stays joined. */
  rateLimited: 'rate_limited',
  /** Frame above the server's frame size limit but with a readable header. */
  frameTooLarge: 'frame_too_large',
  /** Binary push to a server that only speaks JSON payloads. */
  binaryNotSupported: 'binary_not_supported',
  /** Join refused: the name belongs to someone else (another browser's token, or another signed user). */
  usernameTaken: 'username_taken',
  /** Join refused for now: who holds the name could not be told (Presence did not answer); the client retries. */
  unavailable: 'unavailable',
  /**
   * Join refused for now: the node has as many joins in progress and waiting as it can answer in
   * time (a reconnect storm). Not followed by phx_close: phoenix.js rejoins after an error reply by
   * itself, with its backoff (1 s, 2 s, 5 s, then 10 s), and so does the load tester, with jitter.
   */
  overloaded: 'overloaded',
  /** Join refused: the name already has MAX_TABS_PER_USER tabs in this room (payload `limit`). */
  tooManyTabs: 'too_many_tabs',
  /** Join params or push payload failed validation (zod). */
  invalidParams: 'invalid_params',
  /** The database could not be reached or timed out; the operation may be retried by the user. */
  dbUnavailable: 'db_unavailable',
} as const;

export type Reason = (typeof Reason)[keyof typeof Reason];

/**
 * WebSocket close codes (RFC 6455 §7.4.1). The stock client reconnects after every close it did
 * not start, whatever the code (§6.5), so the code is for logs and other clients, not for control.
 */
export const CloseCode = {
  /** Node shutting down, or a user's sockets kicked (Phoenix's "disconnect" uses 1001, §6.5). */
  goingAway: 1001,
  /** Data the server cannot accept at all: binary frame of a kind clients never send. */
  unsupportedData: 1003,
  /** Frame that cannot be read: bad JSON, bad UTF-8, wrong shape with no ref to reply to. */
  invalidPayload: 1007,
  /** Policy violation: e.g. a client that keeps exceeding the rate limit after error replies. */
  policyViolation: 1008,
  /** Frame too big and no readable header to reply to (past the 1 MiB hard limit uWS drops the connection instead: 1006). */
  messageTooBig: 1009,
  /** The session actor crashed more often than its restart intensity allows; it is not restarted. */
  internalError: 1011,
  /** No Session could be started for the socket (the node is at its session limit): try again later. */
  tryAgainLater: 1013,
} as const;

export type CloseCode = (typeof CloseCode)[keyof typeof CloseCode];

/** Close reasons are limited to 123 bytes by RFC 6455; these are short, ASCII, and stable for logs. */
export const CloseReason = {
  malformedJson: 'malformed_json',
  invalidUtf8: 'invalid_utf8',
  badFrame: 'bad_frame',
  unsupportedBinary: 'unsupported_binary_kind',
  binaryNotSupported: 'binary_not_supported',
  frameTooLarge: 'frame_too_large',
  rateLimited: 'rate_limited',
  /** The signed token the socket connected with expired: the client reconnects with a fresh one. */
  tokenExpired: 'token_expired',
  /** The user's sockets were closed as a whole (the admin API's kick): the browser client says so and waits. */
  kicked: 'kicked',
} as const;

export type CloseReason = (typeof CloseReason)[keyof typeof CloseReason];

/** What to do with a frame that failed to decode. */
export type FrameDisposition =
  | {
      readonly action: 'reply';
      /** Echoed as read (null if unreadable): a stale one makes the client drop the reply, as Phoenix would ignore it. */
      readonly joinRef: string | null;
      readonly ref: string;
      readonly topic: string;
      readonly reason: Reason;
    }
  | { readonly action: 'close'; readonly code: CloseCode; readonly reason: CloseReason };

/** Applies the policy in the table at the top of this file. */
export function dispositionFor(error: FrameError): FrameDisposition {
  const { joinRef, ref, topic } = error;
  const replyWith = (reason: Reason, code: CloseCode, closeReason: CloseReason): FrameDisposition =>
    ref !== null && topic !== null
      ? { action: 'reply', joinRef, ref, topic, reason }
      : { action: 'close', code, reason: closeReason };

  switch (error.reason) {
    case 'too_large':
      return replyWith(Reason.frameTooLarge, CloseCode.messageTooBig, CloseReason.frameTooLarge);
    case 'binary_not_supported':
      return replyWith(Reason.binaryNotSupported, CloseCode.unsupportedData, CloseReason.binaryNotSupported);
    case 'bad_frame':
      return replyWith(Reason.badFrame, CloseCode.invalidPayload, CloseReason.badFrame);
    case 'bad_binary':
      // A kind other than push means the peer is not speaking this protocol: nothing to reply to.
      if (error.problem === 'unknown_kind') {
        return { action: 'close', code: CloseCode.unsupportedData, reason: CloseReason.unsupportedBinary };
      }
      return replyWith(Reason.badFrame, CloseCode.invalidPayload, CloseReason.badFrame);
    case 'malformed_json':
      return { action: 'close', code: CloseCode.invalidPayload, reason: CloseReason.malformedJson };
    case 'invalid_utf8':
      return { action: 'close', code: CloseCode.invalidPayload, reason: CloseReason.invalidUtf8 };
  }
}
