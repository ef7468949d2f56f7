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
// Made once: zod compiles an object schema's parser on its first use, per schema.
const batchRows = z.array(z.object({ n: bigintId, id: bigintId.nullable(), inserted_at: z.date().nullable() }));
const repeatedRows = z.array(storedMessageRow.extend({ nonce: z.string() }));

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
  /** `stored` has one entry per message of `messages`, undefined where it was not stored. */
  readonly payloads: (messages: readonly NewMessage[], stored: ReadonlyArray<Stored | undefined>) => readonly string[];
}

/** Advisory locks of the messages table's rooms: the first key of pg_advisory_xact_lock(int, int). */
const ROOM_LOCKS = 0x6d736773;

/** A room's lock key: 32-bit FNV-1a of its name, as a signed int. */
function roomKey(room: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < room.length; i++) hash = Math.imul(hash ^ room.charCodeAt(i), 0x01000193);
  return hash | 0;
}

async function sendNotifications(
  tx: postgres.TransactionSql,
  notify: InCommitNotify,
  messages: readonly NewMessage[],
  stored: ReadonlyArray<Stored | undefined>,
): Promise<void> {
  const payloads = notify.payloads(messages, stored);
  if (payloads.length === 0) return;
  await tx`SELECT pg_notify(${notify.channel}, p) FROM jsonb_array_elements_text(${JSON.stringify(payloads)}::text::jsonb) AS t(p)`;
}

/** The rows stored before under the batch's (user, nonce) pairs that the INSERT skipped, by `user nonce`. */
async function repeatsOf(sql: Queries, skipped: readonly NewMessage[]): Promise<Map<string, StoredMessageRow>> {
  if (skipped.length === 0) return new Map();
  const json = JSON.stringify(skipped.map((m) => [m.userId, m.nonce]));
  const rows = await sql`
    SELECT m.id, m.room, m.user_id, m.body, m.inserted_at, m.nonce
    FROM jsonb_array_elements(${json}::text::jsonb) AS t(e)
    JOIN messages m ON m.user_id = (e->>0)::uuid AND m.nonce = e->>1`;
  const found = repeatedRows.parse(rows);
  return new Map(found.map(({ nonce, ...row }) => [`${row.user_id} ${nonce}`, row]));
}

/**
 * Group commit: many messages, one statement, which is its own round trip. It
 * takes the batch's rooms' locks (held until commit, so that within a room ids
 * are taken, and rows become visible, in one order on every node: a reader who
 * has seen id N of a room has seen every lower id of it), then the ids, in the
 * batch's order, then inserts. Lock keys are taken in ascending order, so two
 * batches never wait on each other crosswise. The batch travels as one JSON
 * parameter: postgres.js can mis-serialise text arrays on a fresh connection,
 * before it has fetched the array types. A message whose user already stored
 * one with its nonce is skipped by the unique index and answered with that
 * first one (the id it took stays unused).
 */
async function insertBatch(sql: Queries, batch: readonly NewMessage[]): Promise<Stored[]> {
  const keys = JSON.stringify([...new Set(batch.map((m) => roomKey(m.room)))].sort((a, b) => a - b));
  const json = JSON.stringify(batch.map((m) => [m.room, m.userId, m.body, m.author ?? null, m.nonce ?? null]));
  // The ids' CTE reads the locks' (an aggregate, whole before its one row exists), so no id is taken before every lock is held.
  const rows = await sql`
    WITH locks AS MATERIALIZED (
      SELECT count(pg_advisory_xact_lock(${ROOM_LOCKS}, k::int)) AS held FROM jsonb_array_elements_text(${keys}::text::jsonb) AS t(k)
    ), input AS MATERIALIZED (
      SELECT e, n, nextval(pg_get_serial_sequence('messages', 'id')) AS id
      FROM locks, jsonb_array_elements(${json}::text::jsonb) WITH ORDINALITY AS t(e, n)
      ORDER BY n
    ), stored AS (
      INSERT INTO messages (id, room, user_id, body, author_token_hash, nonce) OVERRIDING SYSTEM VALUE
      SELECT id, e->>0, (e->>1)::uuid, e->>2, e->>3, e->>4 FROM input
      ON CONFLICT (user_id, nonce) WHERE nonce IS NOT NULL DO NOTHING
      RETURNING id, inserted_at
    )
    SELECT input.n, stored.id, stored.inserted_at FROM input LEFT JOIN stored USING (id) ORDER BY input.n`;
  // Only what the database decides comes back; the rest the caller already has.
  const stamped = batchRows.parse(rows);
  const repeats = await repeatsOf(sql, batch.filter((_, i) => stamped[i]?.id === null));
  return batch.map((message, i) => {
    const row = stamped[i];
    if (row === undefined || row.n !== i + 1) throw new Error(`batch insert answered ${String(row?.n)} for message ${String(i + 1)}`);
    if (row.id !== null && row.inserted_at !== null) return { id: row.id, room: message.room, user_id: message.userId, body: message.body, inserted_at: row.inserted_at };
    const first = repeats.get(`${message.userId} ${message.nonce ?? ''}`);
    if (first === undefined) throw new Error(`batch insert skipped message ${String(i + 1)}, and no row has its nonce`);
    return { ...first, repeated: true };
  });
}

/** One INSERT per message, without locks: the baseline for bench:repo. */
export async function insertOne(sql: Queries, message: NewMessage): Promise<Stored> {
  const [row] = await sql`
    INSERT INTO messages (room, user_id, body, author_token_hash, nonce)
    VALUES (${message.room}, ${message.userId}, ${message.body}, ${message.author ?? null}, ${message.nonce ?? null})
    ON CONFLICT (user_id, nonce) WHERE nonce IS NOT NULL DO NOTHING
    RETURNING id, room, user_id, body, inserted_at`;
  if (row !== undefined) return storedMessageRow.parse(row);
  const first = (await repeatsOf(sql, [message])).get(`${message.userId} ${message.nonce ?? ''}`);
  if (first === undefined) throw new Error('insert skipped a row, and no row has its nonce');
  return { ...first, repeated: true };
}

/**
 * Writes one batch in one transaction; one result per message, in order.
 * Three round trips: BEGIN, the insert (which takes the locks and ids), then
 * COMMIT, with the batch's NOTIFYs if any. `onLocked` is called once the batch
 * holds its rooms and ids (or has ended): the Repo starts the next batch only
 * then, so batches take ids, and commit within a room, in the order they were
 * made. A row the database refuses fails the whole insert; the rows are then
 * written one by one, each in a transaction of its own, before the next batch
 * may start, and only the bad one fails. A lost database fails them all.
 */
export async function writeBatch(
  sql: postgres.Sql,
  batch: readonly NewMessage[],
  notify: InCommitNotify | undefined,
  onLocked: () => void,
): Promise<Array<Result<Stored, RepoError>>> {
  let inserted = false;
  try {
    try {
      const stored = await storeBatch(sql, batch, notify, () => {
        inserted = true;
        onLocked();
      });
      return stored.map((row) => ok(row));
    } catch (error) {
      const failure = classify(error);
      // Past the insert (its commit failed), the next batch may have begun: no retry could keep the order.
      if (failure.reason === 'db_unavailable' || batch.length === 1 || inserted) return batch.map(() => err(failure));
    }
    const results: Array<Result<Stored, RepoError>> = [];
    for (const message of batch) {
      try {
        const [row] = await storeBatch(sql, [message], notify, () => {});
        results.push(row === undefined ? err({ reason: 'query_failed', detail: 'no row' }) : ok(row));
      } catch (rowError) {
        results.push(err(classify(rowError)));
      }
    }
    return results;
  } finally {
    onLocked();
  }
}

/** All or nothing; `onLocked` once stored (not yet committed). */
async function storeBatch(sql: postgres.Sql, batch: readonly NewMessage[], notify: InCommitNotify | undefined, onLocked: () => void): Promise<Stored[]> {
  let notified: Promise<unknown> = Promise.resolve();
  const stored = await sql.begin(async (tx) => {
    const rows = await insertBatch(tx, batch);
    onLocked();
    // Not awaited, so that COMMIT leaves with it; a failed NOTIFY turns that COMMIT into a rollback, told below.
    if (notify !== undefined) notified = sendNotifications(tx, notify, batch, rows).then(() => undefined, (error: unknown) => error);
    return rows;
  });
  const failed = await notified;
  if (failed !== undefined) throw failed;
  return stored;
}
