import { z } from 'zod';
import { err, ok, type Result } from '../../supervision/result.js';
import * as Repo from '../repo/repo.js';
import { fieldErrors, type ChatError } from './errors.js';
import { userName } from './schemas.js';

export type NameError = Extract<ChatError, { readonly reason: 'invalid_params' | 'not_found' | 'db_unavailable' }>;

/**
 * A user's name as it was first signed in with: names are one user whatever
 * their case ("Alice" and "alice"), and what is keyed by name (the user's
 * sockets' topic) uses this spelling.
 */
export async function canonicalName(input: unknown): Promise<Result<string, NameError>> {
  const parsed = userName.safeParse(input);
  if (!parsed.success) return err({ reason: 'invalid_params', errors: fieldErrors(parsed.error) });
  const found = await Repo.run(async (sql) => z.array(z.object({ name: z.string() })).parse(await sql`SELECT name FROM users WHERE lower(name) = lower(${parsed.data})`));
  // A read: no constraint to break, so any failure is the database's.
  if (!found.ok) return err({ reason: 'db_unavailable' });
  const row = found.value[0];
  return row === undefined ? err({ reason: 'not_found' }) : ok(row.name);
}
