import type { ContentKind } from './security-headers.js';

/**
 * What a route answers, as a value: handlers return one (or a promise of one)
 * and never touch the uWS response, which the route wrapper (route.ts) owns.
 */
export interface Reply {
  readonly status: string;
  readonly kind: ContentKind;
  readonly contentType: string;
  readonly body: string | Uint8Array;
  readonly headers?: ReadonlyArray<readonly [string, string]>;
}

/** A JSON answer. Serialized here, inside the handler, so that a body JSON refuses fails the handler (and gets a 500). */
export function json(status: string, body: unknown, headers?: ReadonlyArray<readonly [string, string]>): Reply {
  return { status, kind: 'data', contentType: 'application/json', body: JSON.stringify(body), ...(headers === undefined ? {} : { headers }) };
}

/** A file or page read ahead: no-cache, so a restarted server's new client is picked up at once. */
export function file(kind: ContentKind, contentType: string, body: string | Uint8Array): Reply {
  return { status: '200 OK', kind, contentType, body, headers: [['cache-control', 'no-cache']] };
}

/** The one answer to an unexpected error: no detail of it leaves the server (it is in the log). */
export const INTERNAL_ERROR: Reply = json('500 Internal Server Error', { error: 'internal_error', reason: 'the server failed to answer; this was logged' });
