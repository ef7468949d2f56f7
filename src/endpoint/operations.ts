import {
  crashProcess,
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
  | { readonly reason: 'unknown_actor'; readonly id: string; readonly known: readonly string[] };

interface SessionView {
  readonly id: string;
  readonly path: string | null;
  readonly user: string | null;
  readonly topics: readonly string[];
  readonly restarts: number;
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

export async function sessions(conns: Conns, limit: number): Promise<Result<{ count: number; sessions: SessionView[] }, OperationError>> {
  const listed = await children(whereis(SESSIONS), 'the Sessions supervisor');
  if (!listed.ok) return listed;
  const views = listed.value.slice(0, limit).map((child): SessionView => {
    const conn = conns.get(child.id);
    return {
      id: child.id,
      path: child.pid?.path ?? null,
      user: conn?.user ?? null,
      topics: conn === undefined ? [] : [...conn.joined.keys()],
      restarts: child.restarts,
      since: conn === undefined ? null : new Date(conn.since).toISOString(),
      remote: conn?.remote ?? null,
    };
  });
  return ok({ count: listed.value.length, sessions: views });
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
export async function killRandomSessions(count: number): Promise<Result<Killed[], OperationError>> {
  const listed = await children(whereis(SESSIONS), 'the Sessions supervisor');
  if (!listed.ok) return listed;
  const alive = listed.value.filter((child) => child.pid !== undefined);
  // A partial Fisher-Yates shuffle: the first `count` are a uniform random pick.
  const picks = Math.min(count, alive.length);
  for (let i = 0; i < picks; i += 1) {
    const j = i + Math.floor(Math.random() * (alive.length - i));
    [alive[i], alive[j]] = [alive[j] as ChildInfo, alive[i] as ChildInfo];
  }
  return ok(alive.slice(0, picks).flatMap((child) => crash(child) ?? []));
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
