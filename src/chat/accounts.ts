import { z } from 'zod';
import { err, ok, type Result } from '../../supervision/result.js';
import * as PubSub from '../pubsub/pubsub.js';
import * as Repo from '../repo/repo.js';
import { userRow } from '../repo/rows.js';
import { fromRepo, invalid, type ChatError } from './errors.js';
import { userName } from './schemas.js';

/** The accounts context: users are named, and a name is theirs whatever its case. */

export interface User {
  readonly id: string;
  readonly name: string;
}

/** Where the list of users changes: `user_joined { name }` is broadcast here when a user first appears. */
export const USERS_TOPIC = 'users:lobby';

const upserted = userRow.extend({ created: z.boolean() });

/** Gets the user with this name (ignoring case), creating it on first use. */
export async function getOrCreateUser(input: unknown): Promise<Result<User, ChatError>> {
  const parsed = userName.safeParse(input);
  if (!parsed.success) return err(invalid(parsed.error));
  const name = parsed.data;
  const result = await Repo.run(async (sql) => {
    // xmax = 0 only on a row this statement inserted: that is how a new user is told from a returning one.
    const rows = await sql`
      INSERT INTO users (name) VALUES (${name})
      ON CONFLICT ((lower(name))) DO UPDATE SET updated_at = now()
      RETURNING id, name, inserted_at, (xmax = 0) AS created`;
    return upserted.parse(rows[0]);
  });
  if (!result.ok) return err(fromRepo(result.error));
  if (result.value.created) PubSub.broadcast(USERS_TOPIC, 'user_joined', { name: result.value.name });
  return ok({ id: result.value.id, name: result.value.name });
}

export async function listUsers(): Promise<Result<User[], ChatError>> {
  const result = await Repo.run(async (sql) =>
    z.array(userRow).parse(await sql`SELECT id, name, inserted_at FROM users ORDER BY lower(name)`),
  );
  if (!result.ok) return err(fromRepo(result.error));
  return ok(result.value.map((row) => ({ id: row.id, name: row.name })));
}
