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
    // A returning user is a read: every join signs in, and a write per join would cost a WAL flush each.
    // Only a new name is inserted; two first joins racing on it both end with the one row.
    const rows = await sql`
      WITH found AS (SELECT id, name, inserted_at FROM users WHERE lower(name) = lower(${name})),
      inserted AS (
        INSERT INTO users (name) SELECT ${name} WHERE NOT EXISTS (SELECT 1 FROM found)
        ON CONFLICT ((lower(name))) DO NOTHING
        RETURNING id, name, inserted_at)
      SELECT id, name, inserted_at, false AS created FROM found
      UNION ALL SELECT id, name, inserted_at, true AS created FROM inserted`;
    // The race's loser saw neither row in its snapshot; the winner's is committed by now.
    const row = rows[0] ?? (await sql`SELECT id, name, inserted_at, false AS created FROM users WHERE lower(name) = lower(${name})`)[0];
    return upserted.parse(row);
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
