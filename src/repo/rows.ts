import { z } from 'zod';

/** Rows are data entering the program: parsed, never trusted as typed. */

// postgres.js returns int8 as a string; ids stay far below 2^53.
const bigintId = z.union([z.string().regex(/^\d+$/), z.number().int(), z.bigint()]).transform(Number);


/** A message as stored (the insert's RETURNING). */
export const storedMessageRow = z.object({
  id: bigintId,
  room: z.string(),
  user_id: z.string().uuid(),
  body: z.string(),
  inserted_at: z.date(),
});
export type StoredMessageRow = z.infer<typeof storedMessageRow>;

/** A message as listed, with its author's name. */
export const messageRow = storedMessageRow.extend({ user_name: z.string() });
export type MessageRow = z.infer<typeof messageRow>;
