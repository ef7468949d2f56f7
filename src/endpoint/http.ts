import type { HttpResponse } from '@btc-vision/uwebsockets.js';

/**
 * Writes a JSON response. uWS responses are dead after abort, so a route that
 * answers later must have marked itself aborted (see onAborted) and not call this.
 */
export function sendJson(res: HttpResponse, status: string, body: unknown): void {
  res.cork(() => {
    res.writeStatus(status).writeHeader('content-type', 'application/json').end(JSON.stringify(body));
  });
}

/** For handlers that answer asynchronously: returns a function telling whether the client went away. */
export function trackAbort(res: HttpResponse): () => boolean {
  let aborted = false;
  res.onAborted(() => {
    aborted = true;
  });
  return () => aborted;
}
