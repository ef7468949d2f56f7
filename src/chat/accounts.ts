import { createHash } from 'node:crypto';
import { z } from 'zod';
import { err, ok, type Result } from '../../supervision/result.js';
import * as Presence from '../presence/presence.js';
import * as PubSub from '../pubsub/pubsub.js';
import * as Repo from '../repo/repo.js';
import { fromRepo, invalid, type ChatError } from './errors.js';
import { userName } from './schemas.js';

/**
 * The accounts context: who a user is, and whose a name is.
 *
 * A browser signs in with a name and a random token of its own. With names
 * claimed (NAMES=claim, the default) the first token to sign in with a name
 * owns it for good; with NAMES=open a name is held by the browser that last
 * signed in with it, and another may take it while it is offline. An
 * application with accounts of its own signs a token instead (see SignedUser):
 * then the user is its `sub`, and its name comes with it.
 */

export type NamesMode = 'claim' | 'open';

export interface User {
  readonly id: string;
  readonly name: string;
  /** SHA-256 (hex) of what signed in: the browser's token, or the signed user's sub. Messages record it as their author. */
  readonly credential: string;
  /** The sign-in proved the name is this user's for good (claimed, or signed), not only held while online. */
  readonly ownsName: boolean;
}

/** A user an application vouched for with a signed token (JWT): its stable id and display name. */
export interface SignedUser {
  readonly sub: string;
  readonly name: string;
  /** When the token expires (seconds since the epoch), if it does. */
  readonly exp: number | undefined;
}

/**
 * Where the list of users changes: `user_joined { name }` is broadcast here when
 * a user first appears, `user_renamed { from, name }` when a signed user's name changes.
 */
export const USERS_TOPIC = 'users:lobby';
export const USER_RENAMED = 'user_renamed';

/** NAMES=open: a name its holder signed in with this recently is not taken over (other nodes may not see the holder online yet). */
const OPEN_HOLD_MS = 5_000;

const sha256 = (text: string): string => createHash('sha256').update(text).digest('hex');
const browserCredential = (token: string): string => sha256(token);
const signedCredential = (sub: string): string => sha256(`sub:${sub}`);
/** The short form Presence metas carry (`tk`): a client tells its own tabs from someone else's, never seeing the token. */
export const presenceTag = (credential: string): string => credential.slice(0, 12);

const holderRow = z.object({
  id: z.string().uuid(),
  name: z.string(),
  token_hash: z.string().nullable(),
  signed: z.boolean(),
  recent: z.boolean(),
  fresh: z.boolean(),
  seen_long_ago: z.boolean(),
  created: z.boolean(),
});

/** The lobby's order is by last sign-in; to the minute is enough, and spares a returning user a write per join. */
const SEEN_RESOLUTION = "interval '1 minute'";

async function touch(sql: Sql, id: string): Promise<void> {
  await sql`UPDATE users SET last_seen_at = now() WHERE id = ${id}`;
}
const idName = z.object({ id: z.string().uuid(), name: z.string() });

type Decision =
  | { readonly kind: 'signed_in'; readonly id: string; readonly name: string; readonly created: boolean }
  | { readonly kind: 'taken' }
  | { readonly kind: 'held_by_other'; readonly id: string; readonly holder: string };

type Sql = Parameters<Repo.Job<unknown>>[0];

/**
 * One pass of the browser sign-in, reading first and writing only what changes
 * the name's owner: a returning user is a read (every join signs in, and a write
 * per join would cost a WAL flush each). Every write is conditional on what was
 * read, so two sign-ins racing on a name cannot both win; the loser reads again.
 */
async function decideBrowser(sql: Sql, name: string, credential: string, mode: NamesMode): Promise<Decision | 'again'> {
  // A new name is inserted in the same statement, only when the read finds none: a new user's
  // sign-in is one round trip too, and a returning user's still writes nothing. The insert commits
  // without waiting for its WAL flush (`quick`): only the machine itself crashing within
  // wal_writer_delay x 3 loses it, and then the browser signs up again with the same token, while
  // whatever the user goes on to store (a message) waits for its own flush, this one's before it.
  const [found] = await sql`
    WITH quick AS (SELECT set_config('synchronous_commit', 'off', true)), found AS (
      SELECT id, name, token_hash, external_id IS NOT NULL AS signed,
        coalesce(held_at > now() - make_interval(secs => ${OPEN_HOLD_MS / 1000}), false) AS recent,
        coalesce(held_at > now() - make_interval(secs => ${OPEN_HOLD_MS / 2000}), false) AS fresh,
        last_seen_at < now() - ${sql.unsafe(SEEN_RESOLUTION)} AS seen_long_ago,
        false AS created
      FROM users WHERE lower(name) = lower(${name})
    ), made AS (
      INSERT INTO users (name, token_hash, held_at)
      SELECT ${name}, ${credential}, now() FROM quick WHERE NOT EXISTS (SELECT 1 FROM found)
      ON CONFLICT DO NOTHING
      RETURNING id, name, token_hash, false AS signed, true AS recent, true AS fresh, false AS seen_long_ago, true AS created
    )
    SELECT * FROM found UNION ALL SELECT * FROM made`;
  // Neither found nor made: another sign-in made the name between the read and the insert.
  if (found === undefined) return 'again';
  const row = holderRow.parse(found);
  if (row.created) return { kind: 'signed_in', id: row.id, name: row.name, created: true };
  // A user an application signed in is never a browser's to claim.
  if (row.signed) return { kind: 'taken' };
  if (row.token_hash === null) {
    // Made before names were claimed: the first browser to come back claims it.
    const [claimed] = await sql`UPDATE users SET token_hash = ${credential}, held_at = now(), last_seen_at = now() WHERE id = ${row.id} AND token_hash IS NULL RETURNING id`;
    return claimed === undefined ? 'again' : { kind: 'signed_in', id: row.id, name: row.name, created: false };
  }
  if (row.token_hash === credential) {
    if (row.seen_long_ago) await touch(sql, row.id);
    if (mode === 'claim' || row.fresh) return { kind: 'signed_in', id: row.id, name: row.name, created: false };
    const [held] = await sql`UPDATE users SET held_at = now() WHERE id = ${row.id} AND token_hash = ${credential} RETURNING id`;
    return held === undefined ? 'again' : { kind: 'signed_in', id: row.id, name: row.name, created: false };
  }
  if (mode === 'claim' || row.recent) return { kind: 'taken' };
  return { kind: 'held_by_other', id: row.id, holder: row.token_hash };
}

/** NAMES=open: whether anyone but this browser is online under the name; an error when Presence cannot say. */
async function othersOnline(name: string, credential: string): Promise<Result<boolean, ChatError>> {
  const metas = await Presence.metas(USERS_TOPIC, name);
  if (!metas.ok) return err({ reason: 'unavailable' });
  return ok(metas.value.some((meta) => meta['tk'] !== presenceTag(credential)));
}

async function signInBrowser(name: string, credential: string, mode: NamesMode): Promise<Result<User, ChatError>> {
  for (let attempt = 0; attempt < 3; attempt++) {
    const decided = await Repo.run((sql) => decideBrowser(sql, name, credential, mode));
    if (!decided.ok) return err(fromRepo(decided.error));
    const decision = decided.value;
    if (decision === 'again') continue;
    if (decision.kind === 'taken') return err({ reason: 'username_taken' });
    if (decision.kind === 'signed_in') {
      if (decision.created) PubSub.broadcast(USERS_TOPIC, 'user_joined', { name: decision.name });
      return ok({ id: decision.id, name: decision.name, credential, ownsName: mode === 'claim' });
    }
    // Held by another browser, which signed in a while ago: taken over only if it is offline now.
    const online = await othersOnline(name, credential);
    if (!online.ok) return online;
    if (online.value) return err({ reason: 'username_taken' });
    const taken = await Repo.run(async (sql) => {
      const rows = await sql`
        UPDATE users SET token_hash = ${credential}, held_at = now(), last_seen_at = now()
        WHERE id = ${decision.id} AND token_hash = ${decision.holder}
          AND (held_at IS NULL OR held_at <= now() - make_interval(secs => ${OPEN_HOLD_MS / 1000}))
        RETURNING id, name`;
      return rows[0] === undefined ? undefined : idName.parse(rows[0]);
    });
    if (!taken.ok) return err(fromRepo(taken.error));
    if (taken.value === undefined) return err({ reason: 'username_taken' });
    return ok({ id: taken.value.id, name: taken.value.name, credential, ownsName: false });
  }
  // Three passes, each losing a race on this name: whoever won holds it now.
  return err({ reason: 'username_taken' });
}

async function signInSigned(signed: SignedUser): Promise<Result<User, ChatError>> {
  const credential = credentialOf(signed);
  const result = await Repo.run(async (sql) => {
    const find = async () => {
      const [row] = await sql`SELECT id, name, last_seen_at < now() - ${sql.unsafe(SEEN_RESOLUTION)} AS seen_long_ago FROM users WHERE external_id = ${signed.sub}`;
      return row === undefined ? undefined : idName.extend({ seen_long_ago: z.boolean() }).parse(row);
    };
    const found = await find();
    if (found?.seen_long_ago === true) await touch(sql, found.id);
    let row: z.infer<typeof idName> | undefined = found;
    let created = false;
    let renamedFrom: string | undefined;
    if (row === undefined) {
      const [inserted] = await sql`INSERT INTO users (name, external_id) VALUES (${signed.name}, ${signed.sub}) ON CONFLICT DO NOTHING RETURNING id, name`;
      created = inserted !== undefined;
      // Not inserted: this sub was inserted meanwhile (found now), or someone else has the name.
      row = inserted === undefined ? await find() : idName.parse(inserted);
      if (row === undefined) return 'taken' as const;
    } else if (row.name !== signed.name) {
      // Renamed in the application: the display name follows, unless another user has it.
      const [renamed] = await sql`
        UPDATE users SET name = ${signed.name}, updated_at = now() WHERE id = ${row.id}
          AND NOT EXISTS (SELECT 1 FROM users other WHERE lower(other.name) = lower(${signed.name}) AND other.id <> ${row.id})
        RETURNING id, name`;
      if (renamed === undefined) return 'taken' as const;
      renamedFrom = row.name;
      row = idName.parse(renamed);
    }
    return { ...row, created, renamedFrom };
  });
  if (!result.ok) return err(fromRepo(result.error));
  if (result.value === 'taken') return err({ reason: 'username_taken' });
  const { id, name, created, renamedFrom } = result.value;
  if (created) PubSub.broadcast(USERS_TOPIC, 'user_joined', { name });
  // History read before shows the old name: nodes drop what they hold of it.
  if (renamedFrom !== undefined) PubSub.broadcast(USERS_TOPIC, USER_RENAMED, { from: renamedFrom, name });
  return ok({ id, name, credential, ownsName: true });
}

/**
 * Signs a user in: a browser with `{ name, token }` under the names mode, or a
 * user the application signed. `username_taken` when the name is someone
 * else's; `unavailable` when that cannot be decided now (try again).
 */
/** Who signs in: a browser with the name it chose and its own token, or a user the application signed. */
export type SignIn = { readonly name: unknown; readonly token: string; readonly mode: NamesMode } | SignedUser;

/** The hash a sign-in is known by (User.credential). */
export const credentialOf = (who: SignIn): string => ('sub' in who ? signedCredential(who.sub) : browserCredential(who.token));

export async function signIn(who: SignIn): Promise<Result<User, ChatError>> {
  if ('sub' in who) return signInSigned(who);
  const parsed = userName.safeParse(who.name);
  if (!parsed.success) return err(invalid(parsed.error));
  return signInBrowser(parsed.data, credentialOf(who), who.mode);
}

/** A page of the user list: the most recently seen first; `next` goes on from the last one (undefined at the end). */
export interface UsersPage {
  readonly users: ReadonlyArray<{ readonly name: string }>;
  readonly total: number;
  readonly next: string | undefined;
}

const USERS_PAGE = 200;

const pageRow = z.object({ id: z.string().uuid(), name: z.string(), seen_us: z.string().regex(/^\d+$/), total: z.coerce.number() });
/** Where a page ends: the last user's `last_seen_at` (microseconds, as stored) and id. */
const cursor = z.string().regex(/^\d{1,17}\.[0-9a-f-]{36}$/, 'is not a cursor this server gave');

/** Users, most recently seen first, `USERS_PAGE` at a time: a lobby of a million users is one small page. */
export async function listUsers(after?: unknown): Promise<Result<UsersPage, ChatError>> {
  const from = after === undefined ? undefined : cursor.safeParse(after);
  if (from !== undefined && !from.success) return err(invalid(from.error));
  const [micros, id] = from === undefined ? [undefined, undefined] : (from.data.split(/\.(.*)/s) as [string, string]);
  const result = await Repo.run(async (sql) =>
    z.array(pageRow).parse(
      await sql`
        SELECT id, name, (extract(epoch FROM last_seen_at) * 1000000)::bigint::text AS seen_us, (SELECT count(*) FROM users) AS total FROM users
        ${micros === undefined ? sql`` : sql`WHERE (last_seen_at, id) < ('epoch'::timestamptz + ${micros}::bigint * interval '1 microsecond', ${id ?? ''}::uuid)`}
        ORDER BY last_seen_at DESC, id DESC LIMIT ${USERS_PAGE + 1}`,
    ),
  );
  if (!result.ok) return err(fromRepo(result.error));
  const rows = result.value;
  const page = rows.slice(0, USERS_PAGE);
  const last = page.at(-1);
  const total = rows[0]?.total ?? 0;
  const next = rows.length > USERS_PAGE && last !== undefined ? `${last.seen_us}.${last.id}` : undefined;
  return ok({ users: page.map((row) => ({ name: row.name })), total, next });
}
