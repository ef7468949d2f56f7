import { z } from 'zod';
import type { Result } from '../../supervision/result.js';
import * as Announcements from '../chat/announcements.js';
import { bearerCheck } from './admin-auth.js';
import { adminPage } from './admin-page.js';
import type { Conns } from './conns.js';
import { json, type Reply } from './http.js';
import * as Ops from './operations.js';
import type { Routes } from './route.js';

/**
 * The admin API, under /admin, for people who run the server: see the tree and
 * the sessions, kill sessions and core actors, announce to everyone. It exists
 * only when ADMIN_TOKEN is set (otherwise /admin/* falls through to the 404 route); every data route
 * wants `Authorization: Bearer <ADMIN_TOKEN>` and answers 401 without it. The
 * page at GET /admin is served without the token: it holds no data, asks the
 * person for the token and sends it on each call.
 */

interface Request {
  readonly params: readonly string[];
  readonly query: URLSearchParams;
}
type Handler = (request: Request) => Reply | Promise<Reply>;

const DEFAULT_LIMIT = 1_000;
const MAX_KILL = 100_000;

const limitParam = z.coerce.number().int().min(1).max(100_000).default(DEFAULT_LIMIT);
const countParam = z.coerce
  .number({ error: 'count must be a number' })
  .int('count must be a whole number')
  .min(1, 'count must be at least 1')
  .max(MAX_KILL, `count must be at most ${MAX_KILL}`);

const ok = (body: unknown): Reply => json('200 OK', body);
const badRequest = (reason: string): Reply => json('400 Bad Request', { error: 'bad_request', reason });
const UNAUTHORIZED = json('401 Unauthorized', { error: 'unauthorized', reason: 'send Authorization: Bearer <ADMIN_TOKEN>' }, [
  ['www-authenticate', 'Bearer realm="admin"'],
]);

function fromOperation<T>(result: Result<T, Ops.OperationError>, body: (value: T) => unknown): Reply {
  if (result.ok) return ok(body(result.value));
  // The admin API's bodies name the error `error`, as its other refusals do.
  const { reason, ...details } = result.error;
  switch (reason) {
    case 'unavailable':
      return json('503 Service Unavailable', { error: reason, ...details });
    case 'unknown_session':
    case 'unknown_actor':
      return json('404 Not Found', { error: reason, ...details });
  }
}

function limitOf(query: URLSearchParams): number | Reply {
  const parsed = limitParam.safeParse(query.get('limit') ?? undefined);
  return parsed.success ? parsed.data : badRequest('limit must be a whole number from 1 to 100000');
}

export function adminRoutes(routes: Routes, deps: { readonly token: string; readonly conns: Conns }): void {
  const authorized = bearerCheck(deps.token);

  const route = (method: 'get' | 'post', pattern: string, params: number, handler: Handler): void => {
    routes[method](pattern, (req) => {
      // uWS: everything in req must be read before the handler returns.
      const authorization = req.getHeader('authorization');
      const request: Request = {
        params: Array.from({ length: params }, (_, i) => req.getParameter(i) ?? ''),
        query: new URLSearchParams(req.getQuery() ?? ''),
      };
      return authorized(authorization) ? handler(request) : UNAUTHORIZED;
    });
  };

  adminPage(routes);

  route('get', '/admin/tree', 0, async ({ query }) => {
    const limit = limitOf(query);
    if (typeof limit !== 'number') return limit;
    return fromOperation(await Ops.tree(limit), (tree) => ({ tree }));
  });

  route('get', '/admin/sessions', 0, async ({ query }) => {
    const limit = limitOf(query);
    if (typeof limit !== 'number') return limit;
    return fromOperation(await Ops.sessions(deps.conns, limit), (listed) => listed);
  });

  route('post', '/admin/sessions/kill', 0, async ({ query }) => {
    const count = countParam.safeParse(query.get('count') ?? undefined);
    if (!count.success) return badRequest(query.has('count') ? (count.error.issues[0]?.message ?? 'bad count') : 'count is required: ?count=N');
    return fromOperation(await Ops.killRandomSessions(count.data), (killed) => ({ requested: count.data, killed }));
  });

  route('post', '/admin/sessions/:id/kill', 1, async ({ params }) => {
    return fromOperation(await Ops.killSession(params[0] ?? ''), (killed) => ({ killed: [killed] }));
  });

  // Every socket of every node, in each room it joined.
  route('post', '/admin/announce', 0, ({ query }) => {
    const made = Announcements.announce({ body: query.get('body') ?? undefined });
    if (!made.ok) return badRequest(made.error.reason === 'invalid_params' ? `body ${made.error.errors['body'] ?? 'is invalid'}: ?body=<text>` : made.error.reason);
    return ok({ announced: made.value });
  });

  route('post', '/admin/actors/:id/kill', 1, async ({ params }) => {
    return fromOperation(await Ops.killActor(params[0] ?? ''), (killed) => ({ killed }));
  });
}
