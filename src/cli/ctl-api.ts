import { z } from 'zod';
import { err, ok, type Result } from '../../supervision/result.js';

/** The admin API as the ctl sees it: every answer parsed with zod, every failure a readable message. */

export interface TreeNode {
  readonly id: string;
  readonly path: string;
  readonly kind: string;
  readonly alive: boolean;
  readonly restarts: number;
  readonly strategy?: string | undefined;
  readonly childCount?: number | undefined;
  readonly children?: readonly TreeNode[] | undefined;
  readonly omitted?: number | undefined;
}

const treeNode: z.ZodType<TreeNode> = z.lazy(() =>
  z.object({
    id: z.string(),
    path: z.string(),
    kind: z.string(),
    alive: z.boolean(),
    restarts: z.number(),
    strategy: z.string().optional(),
    childCount: z.number().optional(),
    children: z.array(treeNode).optional(),
    omitted: z.number().optional(),
  }),
);

export const treeReply = z.object({ tree: treeNode });

export const sessionsReply = z.object({
  count: z.number(),
  total: z.number(),
  sessions: z.array(
    z.object({
      id: z.string(),
      path: z.string().nullable(),
      user: z.string().nullable(),
      topics: z.array(z.string()),
      restarts: z.number(),
      mailbox: z.number().nullable(),
      since: z.string().nullable(),
      remote: z.string().nullable(),
    }),
  ),
});
export type SessionsReply = z.infer<typeof sessionsReply>;

const killed = z.object({ id: z.string(), path: z.string() });
export const killSessionsReply = z.object({ killed: z.array(killed), requested: z.number().optional() });
export const killActorReply = z.object({ killed });

export const disconnectReply = z.object({ disconnected: z.string(), localSockets: z.number() });

const nodeRow = z.object({
  node: z.string(),
  sockets: z.number(),
  sessions: z.number(),
  joins: z.number(),
  messagesIn: z.number(),
  messagesOut: z.number(),
  restarts: z.number(),
  ageMs: z.number(),
});
export type NodeRow = z.infer<typeof nodeRow>;

export const statsReply = z.object({
  node: z.string(),
  nodes: z.array(nodeRow),
  mailboxes: z.record(z.string(), z.number().nullable()),
  chaos: z.object({ running: z.boolean(), rate: z.number(), until: z.number().nullable(), killed: z.number() }),
});
export type StatsReply = z.infer<typeof statsReply>;

const errorBody = z.object({
  error: z.string(),
  reason: z.string().optional(),
  detail: z.string().optional(),
  id: z.string().optional(),
  name: z.string().optional(),
  known: z.array(z.string()).optional(),
});

const REQUEST_TIMEOUT_MS = 15_000;

export interface Client {
  readonly url: string;
  readonly token: string;
}

function explain(status: number, body: unknown, url: string): string {
  const parsed = errorBody.safeParse(body);
  const error = parsed.success ? parsed.data : undefined;
  if (status === 401) return 'unauthorized: ADMIN_TOKEN does not match the server\'s';
  if (error?.error === 'unknown_session') return `no session with id ${error.id ?? '?'} (list them with: ctl sessions)`;
  if (error?.error === 'unknown_user') return `no user named ${error.name ?? '?'}`;
  if (error?.error === 'unknown_actor') return `no actor ${error.id ?? '?'}; killable actors: ${(error.known ?? []).join(', ')}`;
  if (status === 404) return `${url} has no admin API (is the server started with ADMIN_TOKEN set?)`;
  const detail = error?.reason ?? error?.detail ?? error?.error ?? 'no details';
  return `server answered ${status}: ${detail}`;
}

export async function request<T>(client: Client, method: 'GET' | 'POST', path: string, schema: z.ZodType<T>): Promise<Result<T, string>> {
  let res: Response;
  try {
    res = await fetch(new URL(path, client.url), {
      method,
      headers: { authorization: `Bearer ${client.token}` },
      signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
    });
  } catch (error) {
    const cause = error instanceof Error && error.cause instanceof Error ? error.cause.message : String(error);
    return err(`cannot reach the server at ${client.url}: ${cause}`);
  }
  const body: unknown = await res.json().catch(() => undefined);
  if (!res.ok) return err(explain(res.status, body, client.url));
  const parsed = schema.safeParse(body);
  return parsed.success ? ok(parsed.data) : err(`unexpected answer from ${client.url}${path}: ${parsed.error.issues[0]?.message ?? 'bad shape'}`);
}
