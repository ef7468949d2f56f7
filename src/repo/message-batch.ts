import type postgres from 'postgres';
import { z } from 'zod';
import { storedMessageRow, type StoredMessageRow } from './rows.js';

export interface NewMessage {
  readonly room: string;
  readonly userId: string;
  readonly body: string;
}

/**
 * Group commit: many messages, one statement. Rows are inserted in the order
 * given (ORDER BY ordinality), so identity ids increase in that order and each
 * caller's row is found by position after sorting the RETURNING rows by id.
 * The batch travels as one JSON parameter: postgres.js can mis-serialise text
 * arrays on a fresh connection, before it has fetched the array types.
 */
export async function insertBatch(sql: postgres.Sql, batch: readonly NewMessage[]): Promise<StoredMessageRow[]> {
  const json = JSON.stringify(batch.map((m) => [m.room, m.userId, m.body]));
  const rows = await sql`
    INSERT INTO messages (room, user_id, body)
    SELECT e->>0, (e->>1)::uuid, e->>2
    FROM jsonb_array_elements(${json}::text::jsonb) WITH ORDINALITY AS t(e, n)
    ORDER BY n
    RETURNING id, room, user_id, body, inserted_at`;
  const parsed = z.array(storedMessageRow).parse(rows);
  if (parsed.length !== batch.length) throw new Error(`batch insert returned ${parsed.length} rows for ${batch.length}`);
  return parsed.sort((a, b) => a.id - b.id);
}

/** One INSERT per message: the baseline for bench:repo, and the fallback that isolates a bad row. */
export async function insertOne(sql: postgres.Sql, message: NewMessage): Promise<StoredMessageRow> {
  const [row] = await sql`
    INSERT INTO messages (room, user_id, body)
    VALUES (${message.room}, ${message.userId}, ${message.body})
    RETURNING id, room, user_id, body, inserted_at`;
  return storedMessageRow.parse(row);
}
