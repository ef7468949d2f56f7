import { z } from 'zod';
import type { Result } from '../../supervision/result.js';
import * as Announcements from '../chat/announcements.js';
import { Metrics } from '../metrics/registry.js';
import { bearerCheck } from './admin-auth.js';
import { adminPage } from './admin-page.js';
import { chaosParams } from './chaos.js';
import type { Conns } from './conns.js';
import { json, type Reply } from './http.js';
import { mailboxes } from './metrics-route.js';
import * as Observer from './observer.js';
import * as Ops from './operations.js';
import type { Routes } from './route.js';

/**
 * The admin API, under /admin, for people who run the server: see the tree,
 * the sessions and the observer's charts, kill sessions and core actors, kick
 * a user, run chaos, announce to everyone. It exists
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
const SESSIONS_PAGE = 50;
const MAX_SESSIONS_PAGE = 1_000;
const sessionQuery = z.object({
  q: z.string().max(100, 'q must be at most 100 characters').default(''),
  offset: z.coerce.number({ error: 'offset must be a number' }).int('offset must be a whole number').min(0, 'offset must be at least 0').max(10_000_000, 'offset is too large').default(0),
  limit: z.coerce
    .number({ error: 'limit must be a number' })
    .int('limit must be a whole number')
    .min(1, 'limit must be at least 1')
    .max(MAX_SESSIONS_PAGE, `limit must be at most ${MAX_SESSIONS_PAGE}`)
    .default(SESSIONS_PAGE),
});
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
    case 'unknown_user':
      return json('404 Not Found', { error: reason, ...details });
    case 'bad_request':
      return badRequest(result.error.why);
  }
}

/** A path segment as sent (percent-encoded); one that does not decode is kept raw, for the check to refuse. */
function decoded(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    return segment;
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
        params: Array.from({ length: params }, (_, i) => decoded(req.getParameter(i) ?? '')),
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
    const parsed = sessionQuery.safeParse({ q: query.get('q') ?? undefined, offset: query.get('offset') ?? undefined, limit: query.get('limit') ?? undefined });
    if (!parsed.success) return badRequest(parsed.error.issues[0]?.message ?? 'bad query');
    return fromOperation(await Ops.sessions(deps.conns, parsed.data), (page) => ({ ...page, limit: parsed.data.limit }));
  });

  // The observer's charts (one point a second, the last 5 minutes), every node's latest sample, mailboxes, chaos.
  route('get', '/admin/stats', 0, async () => {
    const depths = Object.fromEntries(Object.entries(mailboxes()).map(([actor, depth]) => [actor, depth ?? null]));
    return fromOperation(await Observer.stats(), (stats) => ({ ...stats, mailboxes: depths }));
  });

  route('get', '/admin/restarts', 0, () => ok({ restarts: Metrics.supervisorLog() }));

  route('post', '/admin/chaos', 0, async ({ query }) => {
    const parsed = chaosParams.safeParse({ rate: query.get('rate') ?? undefined, seconds: query.get('seconds') ?? undefined });
    if (!parsed.success) return badRequest(parsed.error.issues.map((issue) => issue.message).join('; '));
    return fromOperation(await Observer.startChaos(parsed.data), (chaos) => ({ chaos }));
  });

  route('post', '/admin/chaos/stop', 0, async () => fromOperation(await Observer.stopChaos(), (chaos) => ({ chaos })));

  // Every socket of the user, on every node (Phoenix's users_socket disconnect).
  route('post', '/admin/users/:name/disconnect', 1, async ({ params }) => {
    return fromOperation(await Ops.disconnectUser(deps.conns, params[0] ?? ''), (kicked) => kicked);
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
