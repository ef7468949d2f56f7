import type { HttpRequest, HttpResponse, TemplatedApp } from '@btc-vision/uwebsockets.js';
import type { Logger } from 'pino';
import { INTERNAL_ERROR, type Reply } from './http.js';
import { securityHeaders } from './security-headers.js';

/**
 * Every HTTP route goes through `guard`: the handler returns a Reply (or a
 * promise of one) and the guard writes it, so that
 * - a handler that throws or rejects answers 500 with a JSON body, logged with
 *   its stack, instead of hanging the request or (a throw inside uWS) the process;
 * - nothing is written to a response the client aborted (uWS objects are dead
 *   after abort), and nothing is written twice;
 * - every answer carries its kind's security headers.
 *
 * uWS: `req` is valid only until the handler's synchronous part returns, so a
 * handler reads what it needs from it before its first await.
 */
type Handler = (req: HttpRequest) => Reply | Promise<Reply>;

function guard(log: Logger, name: string, handler: Handler): (res: HttpResponse, req: HttpRequest) => void {
  return (res, req) => {
    let done = false;
    res.onAborted(() => {
      if (!done) log.debug({ route: name }, 'client went away before the answer');
      done = true;
    });
    const answer = (reply: Reply): void => {
      if (done) return;
      done = true;
      try {
        res.cork(() => write(res, reply));
      } catch (error) {
        // Past writeStatus nothing better can be sent; uWS closes what it cannot finish.
        log.error({ reason: 'write_failed', route: name, err: error }, 'could not write an answer');
      }
    };
    const fail = (error: unknown): void => {
      log.error({ reason: 'route_failed', route: name, err: error }, 'route failed; answered 500');
      answer(INTERNAL_ERROR);
    };
    let result: Reply | Promise<Reply>;
    try {
      result = handler(req);
    } catch (error) {
      fail(error);
      return;
    }
    if (result instanceof Promise) result.then(answer, fail);
    else answer(result);
  };
}

function write(res: HttpResponse, reply: Reply): void {
  res.writeStatus(reply.status).writeHeader('content-type', reply.contentType);
  for (const [header, value] of securityHeaders(reply.kind)) res.writeHeader(header, value);
  for (const [header, value] of reply.headers ?? []) res.writeHeader(header, value);
  res.end(reply.body);
}

/** The app's routes, each through `guard`, named by method and pattern in the log. */
export interface Routes {
  get(pattern: string, handler: Handler): void;
  post(pattern: string, handler: Handler): void;
  any(pattern: string, handler: Handler): void;
}

export function routes(app: TemplatedApp, log: Logger): Routes {
  return {
    get: (pattern, handler) => void app.get(pattern, guard(log, `GET ${pattern}`, handler)),
    post: (pattern, handler) => void app.post(pattern, guard(log, `POST ${pattern}`, handler)),
    any: (pattern, handler) => void app.any(pattern, guard(log, `ANY ${pattern}`, handler)),
  };
}
