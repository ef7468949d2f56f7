import { z } from 'zod';
import { err, ok, type Result } from '../../supervision/result.js';
import * as Repo from '../repo/repo.js';
import { userRow } from '../repo/rows.js';
import { fromRepo, invalid, type ChatError } from './errors.js';
import { userName } from './schemas.js';

/** The accounts context: users are named, and a name is theirs whatever its case. */

export interface User {
  readonly id: string;
  readonly name: string;
}

/** Gets the user with this name (ignoring case), creating it on first use. */
export async function getOrCreateUser(input: unknown): Promise<Result<User, ChatError>> {
  const parsed = userName.safeParse(input);
  if (!parsed.success) return err(invalid(parsed.error));
  const name = parsed.data;
  const result = await Repo.run(async (sql) => {
    const rows = await sql`
      INSERT INTO users (name) VALUES (${name})
      ON CONFLICT ((lower(name))) DO UPDATE SET updated_at = now()
      RETURNING id, name, inserted_at`;
    return userRow.parse(rows[0]);
  });
  if (!result.ok) return err(fromRepo(result.error));
  return ok({ id: result.value.id, name: result.value.name });
}

export async function listUsers(): Promise<Result<User[], ChatError>> {
  const result = await Repo.run(async (sql) =>
    z.array(userRow).parse(await sql`SELECT id, name, inserted_at FROM users ORDER BY lower(name)`),
  );
  if (!result.ok) return err(fromRepo(result.error));
  return ok(result.value.map((row) => ({ id: row.id, name: row.name })));
}
