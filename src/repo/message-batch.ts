import type postgres from 'postgres';
import { z } from 'zod';
import { err, ok, type Result } from '../../supervision/result.js';
import { classify, type RepoError } from './errors.js';
import { storedMessageRow, type StoredMessageRow } from './rows.js';

/** A pool or a transaction: what runs queries. */
type Queries = postgres.Sql | postgres.TransactionSql;

export interface NewMessage {
  readonly room: string;
  readonly userId: string;
  /** The author's name, for the sink (users holds it; the row does not). */
  readonly userName: string;
  readonly body: string;
  /** Hash of the credential that wrote it (see Accounts.User.credential). */
  readonly author?: string | undefined;
  /** The client's id for this send: one row per user and nonce, whatever the retries. */
  readonly nonce?: string | undefined;
}

const bigintId = z.union([z.string(), z.number()]).transform(Number);
const ids = z.array(z.object({ id: bigintId }));
const insertedRow = z.object({ id: bigintId, inserted_at: z.date() });

/**
 * What became of a message to store: its row, and whether it is one stored
 * before under the same user and nonce (nothing new was written: it must not
 * be announced again).
 */
export type Stored = StoredMessageRow & { readonly repeated?: true };

/**
 * NOTIFYs a batch sends inside its own transaction, made from the rows it
 * stored: listeners get them only if the rows are committed, and in commit order.
 */
export interface InCommitNotify {
  readonly channel: string;
  /** One entry per message of the batch, undefined where it was not stored. */
  readonly payloads: (stored: ReadonlyArray<Stored | undefined>) => readonly string[];
}

/** Advisory locks of the messages table's rooms: the first key of pg_advisory_xact_lock(int, int). */
const ROOM_LOCKS = 0x6d736773;

/** A room's lock key: 32-bit FNV-1a of its name, as a signed int. */
function roomKey(room: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < room.length; i++) hash = Math.imul(hash ^ room.charCodeAt(i), 0x01000193);
  return hash | 0;
}

/**
 * Holds each room of the batch until commit, so that within a room ids are
 * taken, and rows become visible, in one order on every node: a reader who has
 * seen id N of a room has seen every lower id of it, and catch-up by id is exact.
 * Keys are taken in ascending order, so two batches never wait on each other
 * crosswise.
 */
async function lockRooms(tx: postgres.TransactionSql, batch: readonly NewMessage[]): Promise<void> {
  const keys = [...new Set(batch.map((m) => roomKey(m.room)))].sort((a, b) => a - b);
  await tx`SELECT pg_advisory_xact_lock(${ROOM_LOCKS}, k::int) FROM jsonb_array_elements_text(${JSON.stringify(keys)}::text::jsonb) AS t(k)`;
}

/** Takes `count` ids from the messages sequence, in increasing order. */
async function reserveIds(tx: postgres.TransactionSql, count: number): Promise<number[]> {
  const rows = await tx`SELECT nextval(pg_get_serial_sequence('messages', 'id')) AS id FROM generate_series(1, ${count})`;
  return ids.parse(rows).map((row) => row.id).sort((a, b) => a - b);
}

async function sendNotifications(
  tx: postgres.TransactionSql,
  notify: InCommitNotify | undefined,
  stored: ReadonlyArray<Stored | undefined>,
): Promise<void> {
  const payloads = notify === undefined ? [] : notify.payloads(stored);
  if (payloads.length === 0) return;
  await tx`SELECT pg_notify(${notify?.channel ?? ''}, p) FROM jsonb_array_elements_text(${JSON.stringify(payloads)}::text::jsonb) AS t(p)`;
}

/** The rows stored before under the batch's (user, nonce) pairs that the INSERT skipped, by `user nonce`. */
async function repeatsOf(sql: Queries, skipped: readonly NewMessage[]): Promise<Map<string, StoredMessageRow>> {
  if (skipped.length === 0) return new Map();
  const json = JSON.stringify(skipped.map((m) => [m.userId, m.nonce]));
  const rows = await sql`
    SELECT m.id, m.room, m.user_id, m.body, m.inserted_at, m.nonce
    FROM jsonb_array_elements(${json}::text::jsonb) AS t(e)
    JOIN messages m ON m.user_id = (e->>0)::uuid AND m.nonce = e->>1`;
  const found = z.array(storedMessageRow.extend({ nonce: z.string() })).parse(rows);
  return new Map(found.map(({ nonce, ...row }) => [`${row.user_id} ${nonce}`, row]));
}

/**
 * Group commit: many messages, one statement, each with its reserved id. The
 * batch travels as one JSON parameter: postgres.js can mis-serialise text arrays
 * on a fresh connection, before it has fetched the array types. A message whose
 * user already stored one with its nonce is skipped by the unique index and
 * answered with that first one (its reserved id stays unused).
 */
async function insertBatch(sql: Queries, batch: readonly NewMessage[], reserved: readonly number[]): Promise<Stored[]> {
  const json = JSON.stringify(batch.map((m, i) => [reserved[i], m.room, m.userId, m.body, m.author ?? null, m.nonce ?? null]));
  // Only what the database decides comes back; the rest the caller already has.
  const rows = await sql`
    INSERT INTO messages (id, room, user_id, body, author_token_hash, nonce) OVERRIDING SYSTEM VALUE
    SELECT (e->>0)::bigint, e->>1, (e->>2)::uuid, e->>3, e->>4, e->>5
    FROM jsonb_array_elements(${json}::text::jsonb) AS t(e)
    ON CONFLICT (user_id, nonce) WHERE nonce IS NOT NULL DO NOTHING
    RETURNING id, inserted_at`;
  const stamped = new Map(z.array(insertedRow).parse(rows).map((row) => [row.id, row]));
  const repeats = await repeatsOf(sql, batch.filter((_, i) => !stamped.has(reserved[i] ?? -1)));
  return batch.map((message, i) => {
    const row = stamped.get(reserved[i] ?? -1);
    if (row !== undefined) return { id: row.id, room: message.room, user_id: message.userId, body: message.body, inserted_at: row.inserted_at };
    const first = repeats.get(`${message.userId} ${message.nonce ?? ''}`);
    if (first === undefined) throw new Error(`batch insert skipped the row of reserved id ${String(reserved[i])}, and no row has its nonce`);
    return { ...first, repeated: true };
  });
}

/** One INSERT per message: the baseline for bench:repo, and how a failed batch finds its bad row. */
export async function insertOne(sql: Queries, message: NewMessage, id?: number): Promise<Stored> {
  const [row] = await sql`
    INSERT INTO messages (id, room, user_id, body, author_token_hash, nonce) OVERRIDING SYSTEM VALUE
    VALUES (coalesce(${id ?? null}::bigint, nextval(pg_get_serial_sequence('messages', 'id'))),
      ${message.room}, ${message.userId}, ${message.body}, ${message.author ?? null}, ${message.nonce ?? null})
    ON CONFLICT (user_id, nonce) WHERE nonce IS NOT NULL DO NOTHING
    RETURNING id, room, user_id, body, inserted_at`;
  if (row !== undefined) return storedMessageRow.parse(row);
  const first = (await repeatsOf(sql, [message])).get(`${message.userId} ${message.nonce ?? ''}`);
  if (first === undefined) throw new Error('insert skipped a row, and no row has its nonce');
  return { ...first, repeated: true };
}

/**
 * Writes one batch in one transaction; one result per message, in order.
 * `onLocked` is called once the batch holds its rooms and its ids (or has
 * failed): the Repo starts the next batch only then, so batches take ids, and
 * commit within a room, in the order they were made. A row the database
 * refuses fails the whole INSERT, so then, back at a savepoint and still under
 * the same locks, the rows are written one by one and only the bad one fails.
 * A lost database fails them all.
 */
export async function writeBatch(
  sql: postgres.Sql,
  batch: readonly NewMessage[],
  notify: InCommitNotify | undefined,
  onLocked: () => void,
): Promise<Array<Result<Stored, RepoError>>> {
  try {
    return await sql.begin(async (tx) => {
      // Sent together, in one round trip: the ids are taken once the locks are held, and the
      // savepoint that a refused row rolls back to is set meanwhile.
      const locking = Promise.all([lockRooms(tx, batch), reserveIds(tx, batch.length)]);
      const inserted = tx.savepoint(async (savepoint) => insertBatch(savepoint, batch, (await locking)[1]));
      // Read below; if the locks fail instead, the transaction fails with their error and this one is moot.
      inserted.catch(() => undefined);
      const [, reserved] = await locking;
      onLocked();
      let results: Array<Result<Stored, RepoError>>;
      try {
        results = (await inserted).map((row) => ok(row));
      } catch (error) {
        const failure = classify(error);
        if (failure.reason === 'db_unavailable' || batch.length === 1) throw error;
        results = [];
        for (const [i, message] of batch.entries()) {
          try {
            results.push(ok(await tx.savepoint((savepoint) => insertOne(savepoint, message, reserved[i]))));
          } catch (rowError) {
            results.push(err(classify(rowError)));
          }
        }
      }
      await sendNotifications(tx, notify, results.map((result) => (result.ok ? result.value : undefined)));
      return results;
    });
  } catch (error) {
    const failure = classify(error);
    return batch.map(() => err(failure));
  } finally {
    onLocked();
  }
}
