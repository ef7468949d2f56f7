import { z } from 'zod';
import { err, ok, type Result } from '../../supervision/result.js';
import { Broadcast } from '../pubsub/broadcast.js';
import * as PubSub from '../pubsub/pubsub.js';
import * as Repo from '../repo/repo.js';
import { messageRow, type MessageRow } from '../repo/rows.js';
import type { User } from './accounts.js';
import { fromRepo, invalid, type ChatError } from './errors.js';
import { messageBody, messageId, messageNonce, roomName, searchQuery } from './schemas.js';

/** The messages context: what is stored, who may delete it, how history is read. */

/** A message as clients see it. */
export interface ChatMessage {
  readonly id: number;
  readonly room: string;
  readonly user: string;
  readonly body: string;
  readonly inserted_at: string;
}

/** A first join's history: the room's newest messages, at most this many. */
export const RECENT_LIMIT = 500;
export const PAGE_LIMIT = 50;

const toChat = (row: MessageRow): ChatMessage => ({
  id: row.id,
  room: row.room,
  user: row.user_name,
  body: row.body,
  inserted_at: row.inserted_at.toISOString(),
});

const rows = z.array(messageRow);

const newMessage = z.object({ room: roomName, body: messageBody, nonce: messageNonce.optional() });

export const ROOM_PREFIX = 'room:';
/** The broadcasts after which a room's history reads differently. */
export const HISTORY_EVENTS: ReadonlySet<string> = new Set(['new_msg', 'msg_deleted']);

const announcedPayload = z.object({ id: messageId, user: z.string(), body: z.string(), inserted_at: z.string() });
const deletion = z.object({ id: messageId });

/** What a room's `new_msg` broadcast announced, as its history lists it; undefined if the payload is not one. */
export function announcedMessage(topic: string, payload: Readonly<Record<string, unknown>>): ChatMessage | undefined {
  const parsed = announcedPayload.safeParse(payload);
  if (!parsed.success || !topic.startsWith(ROOM_PREFIX)) return undefined;
  const { id, user, body, inserted_at } = parsed.data;
  return { id, room: topic.slice(ROOM_PREFIX.length), user, body, inserted_at };
}

/** The message a `msg_deleted` broadcast names; undefined if the payload is not one. */
export function deletedId(payload: Readonly<Record<string, unknown>>): number | undefined {
  const parsed = deletion.safeParse(payload);
  return parsed.success ? parsed.data.id : undefined;
}
/** A room's topic: where its messages, deletes and presences are told. */
export const roomTopic = (room: string): string => `${ROOM_PREFIX}${room}`;

/**
 * Stores a message. Once it is committed, the Repo's sink (see application.ts)
 * announces it (`announcement`), in id order with the room's other messages, on
 * every node; on any error nothing is stored and nothing goes out. A `nonce`
 * the user already sent with makes nothing new: the first message comes back,
 * and is not announced again (a retry after a lost reply).
 */
export async function createMessage(
  user: User,
  input: { readonly room: unknown; readonly body: unknown; readonly nonce?: unknown },
): Promise<Result<ChatMessage, ChatError>> {
  const parsed = newMessage.safeParse(input);
  if (!parsed.success) return err(invalid(parsed.error));
  const { room, body, nonce } = parsed.data;
  const stored = await Repo.insertMessage({ room, userId: user.id, userName: user.name, body, author: user.credential, nonce });
  if (!stored.ok) return err(fromRepo(stored.error));
  return ok(toChat({ ...stored.value, user_name: user.name }));
}

/** The broadcast that tells a room of a stored message. */
export function announcement(row: MessageRow): Broadcast {
  const { id, user, body, inserted_at } = toChat(row);
  return new Broadcast(roomTopic(row.room), 'new_msg', { id, user, body, inserted_at });
}

/**
 * Resolves once this node has dispatched the announcement of every message
 * committed before the call: the Repo has handed it on, and PubSub (with
 * CLUSTER=1, its NOTIFY back through LISTEN) has dispatched it. A join calls it
 * after reading history, before it subscribes: nothing the history holds can
 * then come again by the fastlane.
 */
export async function announced(): Promise<Result<void, ChatError>> {
  const settled = await Repo.settled();
  if (!settled.ok) return err(fromRepo(settled.error));
  const synced = await PubSub.sync();
  return synced.ok ? ok(undefined) : err({ reason: 'db_unavailable' });
}

type Sql = Parameters<Repo.Job<unknown>>[0];

async function list(query: (sql: Sql) => Promise<unknown>): Promise<Result<ChatMessage[], ChatError>> {
  const result = await Repo.run(async (sql) => rows.parse(await query(sql)));
  if (!result.ok) return err(fromRepo(result.error));
  return ok(result.value.map(toChat));
}

/** The newest `limit` live messages of a room matching `condition`, returned oldest first. */
function newestOfRoom(roomInput: unknown, limit: number, condition: (sql: Sql) => ReturnType<Sql>) {
  const parsed = roomName.safeParse(roomInput);
  if (!parsed.success) return Promise.resolve(err(invalid(parsed.error)));
  return list(
    (sql) => sql`
      SELECT * FROM (
        SELECT m.id, m.room, m.user_id, m.body, m.inserted_at, u.name AS user_name
        FROM messages m JOIN users u ON u.id = m.user_id
        WHERE m.room = ${parsed.data} AND m.deleted_at IS NULL ${condition(sql)}
        ORDER BY m.id DESC LIMIT ${limit}) newest
      ORDER BY id`,
  );
}

/** The last `limit` messages of a room, oldest first. */
export function recent(roomInput: unknown, limit = RECENT_LIMIT): Promise<Result<ChatMessage[], ChatError>> {
  return newestOfRoom(roomInput, limit, (sql) => sql``);
}

/** What a client missed: the messages after `afterId` (the newest `limit` of them), oldest first. */
export function since(roomInput: unknown, afterId: unknown, limit = RECENT_LIMIT): Promise<Result<ChatMessage[], ChatError>> {
  const id = z.number({ error: 'must be a number' }).int().nonnegative().safeParse(afterId);
  if (!id.success) return Promise.resolve(err(invalid(id.error)));
  return newestOfRoom(roomInput, limit, (sql) => sql`AND m.id > ${id.data}`);
}

/** Paging back: the `limit` messages before `beforeId`, oldest first. */
export function before(roomInput: unknown, beforeId: unknown, limit = PAGE_LIMIT): Promise<Result<ChatMessage[], ChatError>> {
  const id = messageId.safeParse(beforeId);
  if (!id.success) return Promise.resolve(err(invalid(id.error)));
  return newestOfRoom(roomInput, limit, (sql) => sql`AND m.id < ${id.data}`);
}

const authorRow = z.object({ room: z.string(), user_id: z.string(), author_token_hash: z.string().nullable() }).optional();

/**
 * Whether `user` wrote the message: the same credential signed in (the same
 * browser token, or the same signed user). A message from before authors were
 * recorded is its user's, where the name is owned for good (not NAMES=open).
 */
const wrote = (user: User, row: NonNullable<z.infer<typeof authorRow>>): boolean =>
  row.author_token_hash === null ? user.ownsName && row.user_id === user.id : row.author_token_hash === user.credential;

/** Deletes (softly) a message, and tells its room; only its author may. Returns the room it was in. */
export async function deleteMessage(user: User, idInput: unknown): Promise<Result<{ id: number; room: string }, ChatError>> {
  const id = messageId.safeParse(idInput);
  if (!id.success) return err(invalid(id.error));
  const result = await Repo.run(async (sql) => {
    const found = authorRow.parse((await sql`SELECT room, user_id, author_token_hash FROM messages WHERE id = ${id.data} AND deleted_at IS NULL`)[0]);
    if (found === undefined) return 'not_found' as const;
    if (!wrote(user, found)) return 'forbidden' as const;
    const deleted = await sql`
      UPDATE messages SET deleted_at = now(), updated_at = now()
      WHERE id = ${id.data} AND deleted_at IS NULL RETURNING id`;
    return deleted.length === 1 ? { id: id.data, room: found.room } : ('not_found' as const);
  });
  if (!result.ok) return err(fromRepo(result.error));
  if (typeof result.value === 'string') return err({ reason: result.value });
  PubSub.broadcast(roomTopic(result.value.room), 'msg_deleted', { id: result.value.id });
  return ok(result.value);
}

const wordCount = z.object({ nodes: z.number() });
// before_id null or absent: from the newest.
const searchInput = z.object({ q: searchQuery, room: roomName.optional(), before_id: messageId.nullable().optional() });

/**
 * Full-text search over bodies (websearch syntax: words, "a phrase", -not, or),
 * newest first; in one room or everywhere; `beforeId` pages back (only ids
 * below it). A query with no words in it (only punctuation, say) is refused
 * as invalid, not answered with nothing: it could never match. Errors name
 * the field: `q`, `room` or `before_id`.
 */
export async function search(
  queryInput: unknown,
  options: { readonly room?: unknown; readonly beforeId?: unknown; readonly limit?: number } = {},
): Promise<Result<ChatMessage[], ChatError>> {
  const parsed = searchInput.safeParse({ q: queryInput, room: options.room, before_id: options.beforeId });
  if (!parsed.success) return err(invalid(parsed.error));
  const { q, room, before_id: beforeId } = parsed.data;
  const limit = options.limit ?? PAGE_LIMIT;
  const result = await Repo.run(async (sql) => {
    const found = rows.parse(
      await sql`
        SELECT m.id, m.room, m.user_id, m.body, m.inserted_at, u.name AS user_name
        FROM messages m JOIN users u ON u.id = m.user_id
        WHERE m.search @@ websearch_to_tsquery('simple', ${q})
          AND m.deleted_at IS NULL
          ${room === undefined ? sql`` : sql`AND m.room = ${room}`}
          ${beforeId === undefined || beforeId === null ? sql`` : sql`AND m.id < ${beforeId}`}
        ORDER BY m.id DESC LIMIT ${limit}`,
    );
    // Only a search that found nothing asks whether its query had any words at all.
    if (found.length > 0) return found;
    const words = wordCount.parse((await sql`SELECT numnode(websearch_to_tsquery('simple', ${q})) AS nodes`)[0]);
    return words.nodes === 0 ? ('no_words' as const) : found;
  });
  if (!result.ok) return err(fromRepo(result.error));
  if (result.value === 'no_words') return err({ reason: 'invalid_params', errors: { q: 'must contain a word to search for' } });
  return ok(result.value.map(toChat));
}

/** Messages on each side of a message: the context a search hit opens in. */
export const AROUND_LIMIT = 25;

/**
 * A live message of `room` with up to `limit` live messages before it and
 * `limit` after it, oldest first; not_found when that room has no such live
 * message (deleted, unknown, or another room's).
 */
export async function around(roomInput: unknown, idInput: unknown, limit = AROUND_LIMIT): Promise<Result<ChatMessage[], ChatError>> {
  const parsed = z.object({ room: roomName, id: messageId }).safeParse({ room: roomInput, id: idInput });
  if (!parsed.success) return err(invalid(parsed.error));
  const { room, id } = parsed.data;
  const found = await list(
    (sql) => sql`
      WITH target AS (SELECT id FROM messages WHERE id = ${id} AND room = ${room} AND deleted_at IS NULL)
      SELECT m.id, m.room, m.user_id, m.body, m.inserted_at, u.name AS user_name
      FROM messages m JOIN users u ON u.id = m.user_id
      WHERE m.id IN (
        SELECT id FROM target
        UNION ALL
        (SELECT b.id FROM messages b, target t
         WHERE b.room = ${room} AND b.deleted_at IS NULL AND b.id < t.id ORDER BY b.id DESC LIMIT ${limit})
        UNION ALL
        (SELECT a.id FROM messages a, target t
         WHERE a.room = ${room} AND a.deleted_at IS NULL AND a.id > t.id ORDER BY a.id LIMIT ${limit}))
      ORDER BY m.id`,
  );
  if (!found.ok) return found;
  return found.value.some((message) => message.id === id) ? found : err({ reason: 'not_found' });
}
