import type postgres from 'postgres';
import { z } from 'zod';
import { err, ok, type Result } from '../../supervision/result.js';
import { classify, type RepoError } from './errors.js';
import { storedMessageRow, type StoredMessageRow } from './rows.js';

export interface NewMessage {
  readonly room: string;
  readonly userId: string;
  readonly body: string;
}

const bigintId = z.union([z.string(), z.number()]).transform(Number);
const ids = z.array(z.object({ id: bigintId }));
const insertedRow = z.object({ id: bigintId, inserted_at: z.date() });

/**
 * Takes `count` ids from the messages sequence, in increasing order. The Repo
 * reserves each batch's ids before the next batch's, so batches can be written
 * concurrently and still be published in id order.
 */
export async function reserveIds(sql: postgres.Sql, count: number): Promise<number[]> {
  const rows = await sql`SELECT nextval(pg_get_serial_sequence('messages', 'id')) AS id FROM generate_series(1, ${count})`;
  return ids.parse(rows).map((row) => row.id).sort((a, b) => a - b);
}

/**
 * Group commit: many messages, one statement, each with its reserved id. The
 * batch travels as one JSON parameter: postgres.js can mis-serialise text arrays
 * on a fresh connection, before it has fetched the array types.
 */
export async function insertBatch(sql: postgres.Sql, batch: readonly NewMessage[], reserved: readonly number[]): Promise<StoredMessageRow[]> {
  const json = JSON.stringify(batch.map((m, i) => [reserved[i], m.room, m.userId, m.body]));
  // Only what the database decides comes back; the rest the caller already has.
  const rows = await sql`
    INSERT INTO messages (id, room, user_id, body) OVERRIDING SYSTEM VALUE
    SELECT (e->>0)::bigint, e->>1, (e->>2)::uuid, e->>3
    FROM jsonb_array_elements(${json}::text::jsonb) AS t(e)
    RETURNING id, inserted_at`;
  const stamped = z.array(insertedRow).parse(rows).sort((a, b) => a.id - b.id);
  if (stamped.length !== batch.length) throw new Error(`batch insert returned ${stamped.length} rows for ${batch.length}`);
  return batch.map((message, i) => {
    const row = stamped[i];
    if (row === undefined || row.id !== reserved[i]) throw new Error('batch insert returned rows that do not match the reserved ids');
    return { id: row.id, room: message.room, user_id: message.userId, body: message.body, inserted_at: row.inserted_at };
  });
}

/** One INSERT per message: the baseline for bench:repo, and how a failed batch finds its bad row. */
export async function insertOne(sql: postgres.Sql, message: NewMessage, id?: number): Promise<StoredMessageRow> {
  const [row] =
    id === undefined
      ? await sql`
          INSERT INTO messages (room, user_id, body) VALUES (${message.room}, ${message.userId}, ${message.body})
          RETURNING id, room, user_id, body, inserted_at`
      : await sql`
          INSERT INTO messages (id, room, user_id, body) OVERRIDING SYSTEM VALUE
          VALUES (${id}, ${message.room}, ${message.userId}, ${message.body})
          RETURNING id, room, user_id, body, inserted_at`;
  return storedMessageRow.parse(row);
}

/**
 * Writes one batch with its reserved ids; one result per message, in order.
 * A row the database refuses fails the whole statement, so then the rows are
 * written one by one and only the bad one fails. A lost database fails them all.
 */
export async function writeBatch(
  sql: postgres.Sql,
  batch: readonly NewMessage[],
  reserved: readonly number[],
): Promise<Array<Result<StoredMessageRow, RepoError>>> {
  try {
    return (await insertBatch(sql, batch, reserved)).map((row) => ok(row));
  } catch (error) {
    const failure = classify(error);
    if (failure.kind === 'db_unavailable' || batch.length === 1) return batch.map(() => err(failure));
    const results: Array<Result<StoredMessageRow, RepoError>> = [];
    for (const [i, message] of batch.entries()) {
      try {
        results.push(ok(await insertOne(sql, message, reserved[i])));
      } catch (rowError) {
        results.push(err(classify(rowError)));
      }
    }
    return results;
  }
}
