import {
  crashProcess,
  mailboxLength,
  name,
  snapshot,
  whereis,
  whichChildren,
  type ChildInfo,
  type Pid,
  type SupervisorPid,
  type TreeSnapshot,
} from '../../supervision/index.js';
import { err, ok, type Result } from '../../supervision/result.js';
import { canonicalName } from '../chat/user-names.js';
import * as PubSub from '../pubsub/pubsub.js';
import { USER_SOCKETS_PREFIX } from '../session/params.js';
import type { Conns } from './conns.js';

/**
 * What the admin API does to the running tree, without HTTP: read it, list the
 * sessions, and crash actors for real (crashProcess: the actor's next message
 * throws in its own handler, and its supervisor handles it like any bug).
 */

/** The root supervisor's registered name (src/application.ts registers it). */
export const APP = name('app');
const SESSIONS = name('sessions');

/** The root's children an operator may kill. */
const KILLABLE_ACTORS = ['repo', 'pubsub', 'presence', 'endpoint'] as const;
type KillableActor = (typeof KILLABLE_ACTORS)[number];

export type OperationError =
  | { readonly reason: 'unavailable'; readonly detail: string }
  | { readonly reason: 'unknown_session'; readonly id: string }
  | { readonly reason: 'unknown_actor'; readonly id: string; readonly known: readonly string[] }
  | { readonly reason: 'unknown_user'; readonly name: string }
  | { readonly reason: 'bad_request'; readonly why: string };

interface SessionView {
  readonly id: string;
  readonly path: string | null;
  readonly user: string | null;
  readonly topics: readonly string[];
  readonly restarts: number;
  /** Messages waiting in the Session's mailbox; null between a crash and its restart. */
  readonly mailbox: number | null;
  /** When the socket opened (the session's first incarnation), ISO-8601. */
  readonly since: string | null;
  readonly remote: string | null;
}

interface Killed {
  readonly id: string;
  readonly path: string;
}

const KILL_MESSAGE = 'killed by the admin API';

async function children(sup: Pid | undefined, what: string): Promise<Result<ChildInfo[], OperationError>> {
  if (sup === undefined) return err({ reason: 'unavailable', detail: `${what} is not running (restarting?)` });
  const result = await whichChildren(sup as SupervisorPid);
  return result.ok ? result : err({ reason: 'unavailable', detail: `${what} did not answer: ${result.error.reason}` });
}

/** The whole tree; each supervisor lists at most `limit` children (sessions may be tens of thousands). */
export async function tree(limit: number): Promise<Result<TreeSnapshot, OperationError>> {
  const root = whereis(APP);
  if (root === undefined) return err({ reason: 'unavailable', detail: 'the application is not running' });
  const result = await snapshot(root as SupervisorPid, limit);
  return result.ok ? result : err({ reason: 'unavailable', detail: `the tree did not answer: ${result.error.reason}` });
}

/** Which sessions to list: `q` matches a user name, a topic (room) or an id, ignoring case; then a page of them. */
export interface SessionQuery {
  readonly q: string;
  readonly offset: number;
  readonly limit: number;
}

export interface SessionPage {
  /** Sessions that match `q` (all of them without one). */
  readonly count: number;
  /** Sessions on this node. */
  readonly total: number;
  readonly offset: number;
  readonly sessions: SessionView[];
}

function view(child: ChildInfo, conns: Conns): SessionView {
  const conn = conns.get(child.id);
  return {
    id: child.id,
    path: child.pid?.path ?? null,
    user: conn?.user ?? null,
    topics: conn === undefined ? [] : conn.joined.values().map((channel) => channel.topic),
    restarts: child.restarts,
    mailbox: child.pid === undefined ? null : (mailboxLength(child.pid) ?? null),
    since: conn === undefined ? null : new Date(conn.since).toISOString(),
    remote: conn?.remote ?? null,
  };
}

function matches(child: ChildInfo, conns: Conns, q: string): boolean {
  if (child.id.toLowerCase().includes(q)) return true;
  const conn = conns.get(child.id);
  if (conn === undefined) return false;
  if (conn.user?.toLowerCase().includes(q) === true) return true;
  for (const { topic } of conn.joined.values()) if (topic.toLowerCase().includes(q)) return true;
  return false;
}

/** One page of the sessions: 19,000 of them are filtered here and only the page is described. */
export async function sessions(conns: Conns, query: SessionQuery): Promise<Result<SessionPage, OperationError>> {
  const listed = await children(whereis(SESSIONS), 'the Sessions supervisor');
  if (!listed.ok) return listed;
  const q = query.q.trim().toLowerCase();
  const found = q === '' ? listed.value : listed.value.filter((child) => matches(child, conns, q));
  const page = found.slice(query.offset, query.offset + query.limit).map((child) => view(child, conns));
  return ok({ count: found.length, total: listed.value.length, offset: query.offset, sessions: page });
}

/**
 * Every socket of `user` on every node closes, as Phoenix's `users_socket:`
 * disconnect: one broadcast (crossing nodes with CLUSTER=1) to the topic each
 * of the user's Sessions subscribed to when it signed in. Fire-and-forget; how
 * many of the sockets are on this node is known here.
 */
export async function disconnectUser(conns: Conns, name: string): Promise<Result<{ disconnected: string; localSockets: number }, OperationError>> {
  const found = await canonicalName(name);
  if (!found.ok) {
    switch (found.error.reason) {
      case 'invalid_params':
        return err({ reason: 'bad_request', why: `name ${Object.values(found.error.errors)[0] ?? 'is invalid'}` });
      case 'not_found':
        return err({ reason: 'unknown_user', name });
      case 'db_unavailable':
        return err({ reason: 'unavailable', detail: `who ${name} is could not be read: the database is unavailable` });
    }
  }
  const user = found.value;
  let localSockets = 0;
  for (const conn of conns.values()) if (conn.user === user && !conn.closed) localSockets += 1;
  PubSub.broadcast(`${USER_SOCKETS_PREFIX}${user}`, 'disconnect', {});
  return ok({ disconnected: user, localSockets });
}

function crash(child: ChildInfo, message = KILL_MESSAGE): Killed | undefined {
  return child.pid !== undefined && crashProcess(child.pid, message) ? { id: child.id, path: child.pid.path } : undefined;
}

/**
 * Every session restarted, for a reason the node cannot repair in place
 * (broadcasts lost while LISTEN was down): each fresh Session sends phx_error,
 * its client rejoins with last_seen_id and catches up from the messages table,
 * the path every session crash already takes.
 */
export async function restartAllSessions(conns: Conns, reason: string): Promise<Result<number, OperationError>> {
  // At once, before any broadcast that arrives after this call is dispatched; the restarts take a while.
  for (const conn of conns.values()) conn.fence();
  const listed = await children(whereis(SESSIONS), 'the Sessions supervisor');
  if (!listed.ok) return listed;
  return ok(listed.value.filter((child) => crash(child, reason) !== undefined).length);
}

export async function killSession(id: string): Promise<Result<Killed, OperationError>> {
  const listed = await children(whereis(SESSIONS), 'the Sessions supervisor');
  if (!listed.ok) return listed;
  const child = listed.value.find((c) => c.id === id);
  const killed = child === undefined ? undefined : crash(child);
  return killed === undefined ? err({ reason: 'unknown_session', id }) : ok(killed);
}

/** Up to `count` live sessions chosen at random (fewer when fewer are alive). */
export async function killRandomSessions(count: number, message = KILL_MESSAGE): Promise<Result<Killed[], OperationError>> {
  const listed = await children(whereis(SESSIONS), 'the Sessions supervisor');
  if (!listed.ok) return listed;
  const alive = listed.value.filter((child) => child.pid !== undefined);
  // A partial Fisher-Yates shuffle: the first `count` are a uniform random pick.
  const picks = Math.min(count, alive.length);
  for (let i = 0; i < picks; i += 1) {
    const j = i + Math.floor(Math.random() * (alive.length - i));
    [alive[i], alive[j]] = [alive[j] as ChildInfo, alive[i] as ChildInfo];
  }
  return ok(alive.slice(0, picks).flatMap((child) => crash(child, message) ?? []));
}

const isKillableActor = (id: string): id is KillableActor => (KILLABLE_ACTORS as readonly string[]).includes(id);

export async function killActor(id: string): Promise<Result<Killed, OperationError>> {
  if (!isKillableActor(id)) return err({ reason: 'unknown_actor', id, known: KILLABLE_ACTORS });
  const listed = await children(whereis(APP), 'the application supervisor');
  if (!listed.ok) return listed;
  const child = listed.value.find((c) => c.id === id);
  const killed = child === undefined ? undefined : crash(child);
  return killed === undefined ? err({ reason: 'unavailable', detail: `${id} is not running (restarting?)` }) : ok(killed);
}
