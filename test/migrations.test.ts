import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import postgres from 'postgres';
import { pino } from 'pino';
import { z } from 'zod';
import { MIGRATIONS_DIR, describeMigrationError, migrate } from '../src/repo/migrations.js';
import { freshDatabase, type TestDatabase } from './support/db.js';
import { sleep } from './support/probe.js';

const log = pino({ level: 'silent' });
const cleanups: (() => Promise<void> | void)[] = [];
after(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
});

async function emptyDatabase(): Promise<TestDatabase> {
  const db = await freshDatabase({ migrated: false });
  cleanups.push(db.drop);
  return db;
}

function sqlDir(files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), 'migrations-'));
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

const versions = async (sql: postgres.Sql): Promise<number[]> =>
  z.array(z.object({ version: z.number() })).parse(await sql`SELECT version FROM schema_migrations ORDER BY version`).map((r) => r.version);

const names = (rows: readonly Record<string, unknown>[], column: string): string[] => z.array(z.string()).parse(rows.map((row) => row[column]));

/** What PostgreSQL said, from a postgres.js error. */
const pgError = z.object({ code: z.string(), constraint_name: z.string().optional() });

async function rejectedWith(query: Promise<unknown>, code: string, constraint?: string): Promise<void> {
  await assert.rejects(query, (error: unknown) => {
    const parsed = pgError.parse(error);
    assert.equal(parsed.code, code);
    if (constraint !== undefined) assert.equal(parsed.constraint_name, constraint);
    return true;
  });
}

describe('the migration runner', () => {
  it('creates the schema on a fresh database, and applies nothing the second time', async () => {
    const db = await emptyDatabase();
    assert.deepEqual(await migrate(db.sql, { log }), { ok: true, value: { applied: ['001_init.sql', '002_identity.sql', '003_last_seen.sql'] } });
    const tables = await db.sql`SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' ORDER BY 1`;
    assert.deepEqual(names(tables, 'table_name'), ['messages', 'schema_migrations', 'users']);
    const indexes = await db.sql`SELECT indexname FROM pg_indexes WHERE schemaname = 'public' ORDER BY 1`;
    assert.deepEqual(names(indexes, 'indexname'), [
      'messages_pkey',
      'messages_room_id_idx',
      'messages_search_idx',
      'messages_user_id_idx',
      'messages_user_nonce_idx',
      'schema_migrations_pkey',
      'users_external_id_idx',
      'users_last_seen_idx',
      'users_name_lower_idx',
      'users_pkey',
    ]);
    const recorded = z
      .array(z.object({ version: z.number(), name: z.string(), checksum: z.string().regex(/^[0-9a-f]{64}$/), applied_at: z.date() }))
      .parse(await db.sql`SELECT * FROM schema_migrations`);
    assert.deepEqual(recorded.map((r) => [r.version, r.name]), [
      [1, '001_init.sql'],
      [2, '002_identity.sql'],
      [3, '003_last_seen.sql'],
    ]);

    assert.deepEqual(await migrate(db.sql, { log }), { ok: true, value: { applied: [] } });
    assert.deepEqual(await versions(db.sql), [1, 2, 3]);
  });

  it('upgrades a database made by the old schema in place: its users and messages stay, the new columns come empty', async () => {
    const db = await emptyDatabase();
    // The schema as it was before names were claimed: 001 alone, with rows in it.
    const old = sqlDir({ '001_init.sql': readFileSync(join(MIGRATIONS_DIR, '001_init.sql'), 'utf8') });
    assert.deepEqual(await migrate(db.sql, { dir: old, log }), { ok: true, value: { applied: ['001_init.sql'] } });
    const [alice] = await db.sql`INSERT INTO users (name) VALUES ('alice') RETURNING id`;
    await db.sql`INSERT INTO messages (room, user_id, body) SELECT 'lobby', ${String(alice?.['id'])}, 'before ' || n FROM generate_series(1, 3) n`;

    assert.deepEqual(await migrate(db.sql, { log }), { ok: true, value: { applied: ['002_identity.sql', '003_last_seen.sql'] } });
    const users = await db.sql`SELECT name, token_hash, external_id, last_seen_at = inserted_at AS seen_since_made FROM users`;
    assert.deepEqual(users.map((u) => ({ ...u })), [{ name: 'alice', token_hash: null, external_id: null, seen_since_made: true }]);
    const messages = await db.sql`SELECT body, author_token_hash, nonce FROM messages ORDER BY id`;
    assert.deepEqual(
      messages.map((m) => ({ ...m })),
      ['before 1', 'before 2', 'before 3'].map((body) => ({ body, author_token_hash: null, nonce: null })),
    );
    // The new rules hold on the upgraded table: one row per user and nonce.
    await db.sql`INSERT INTO messages (room, user_id, body, nonce) VALUES ('lobby', ${String(alice?.['id'])}, 'once', 'n-1')`;
    await rejectedWith(db.sql`INSERT INTO messages (room, user_id, body, nonce) VALUES ('lobby', ${String(alice?.['id'])}, 'twice', 'n-1')`, '23505', 'messages_user_nonce_idx');
  });

  it('two runners at once on separate connections apply each migration exactly once, and both succeed', async () => {
    const db = await emptyDatabase();
    // The first migration waits on a gate this test holds, so whichever runner takes the lock keeps it
    // until the other has arrived and says it is waiting for it.
    const GATE = 7_420_315_999;
    const dir = sqlDir({
      '001_a.sql': `CREATE TABLE a (id int); SELECT pg_advisory_xact_lock(${GATE});`,
      '002_b.sql': 'CREATE TABLE b (id int);',
    });
    const gate = postgres(db.url, { max: 1, onnotice: () => {} });
    cleanups.push(() => gate.end());
    await gate`SELECT pg_advisory_lock(${GATE})`;
    let sawWaiting!: () => void;
    const waiting = new Promise<boolean>((resolve) => (sawWaiting = () => resolve(true)));
    const watched = pino({ level: 'info' }, { write: (line: string) => void (line.includes('another node is migrating this database') && sawWaiting()) });
    const other = postgres(db.url, { max: 2, onnotice: () => {} });
    cleanups.push(() => other.end());
    const runs = Promise.all([migrate(db.sql, { dir, log: watched }), migrate(other, { dir, log: watched })]);
    const waited = await Promise.race([waiting, sleep(10_000).then(() => false)]); // a deadline
    await gate`SELECT pg_advisory_unlock(${GATE})`;
    const [one, two] = await runs;
    assert.ok(waited, 'the second runner found the lock taken and waited for it');
    assert.ok(one.ok && two.ok, 'neither runner failed (without the lock, one would fail on CREATE TABLE)');
    assert.deepEqual([...one.value.applied, ...two.value.applied].sort(), ['001_a.sql', '002_b.sql']);
    assert.deepEqual(await versions(db.sql), [1, 2]);
  });

  it('two runners at once apply the real schema once', async () => {
    const db = await emptyDatabase();
    const other = postgres(db.url, { max: 1, onnotice: () => {} });
    cleanups.push(() => other.end());
    const results = await Promise.all([migrate(db.sql, { log }), migrate(other, { log })]);
    assert.deepEqual(results.flatMap((r) => (r.ok ? r.value.applied : [describeMigrationError(r.error)])), ['001_init.sql', '002_identity.sql', '003_last_seen.sql']);
  });

  it('stops with an error naming a migration changed after it was applied', async () => {
    const db = await emptyDatabase();
    const dir = sqlDir({ '001_a.sql': 'CREATE TABLE a (id int);', '002_b.sql': 'CREATE TABLE b (id int);' });
    assert.ok((await migrate(db.sql, { dir, log })).ok);
    writeFileSync(join(dir, '001_a.sql'), 'CREATE TABLE a (id bigint);');
    writeFileSync(join(dir, '003_c.sql'), 'CREATE TABLE c (id int);');
    const changed = await migrate(db.sql, { dir, log });
    assert.ok(!changed.ok);
    assert.deepEqual(changed.error, { reason: 'checksum_mismatch', file: '001_a.sql' });
    assert.match(describeMigrationError(changed.error), /001_a\.sql was changed after it was applied/);
    assert.deepEqual(await versions(db.sql), [1, 2], 'nothing after the changed one was applied');
  });

  it('takes a file checked out with CRLF line endings for the same migration', async () => {
    const db = await emptyDatabase();
    const dir = sqlDir({ '001_a.sql': 'CREATE TABLE a (id int);\nCREATE TABLE b (id int);\n' });
    assert.ok((await migrate(db.sql, { dir, log })).ok);
    writeFileSync(join(dir, '001_a.sql'), 'CREATE TABLE a (id int);\r\nCREATE TABLE b (id int);\r\n');
    assert.deepEqual(await migrate(db.sql, { dir, log }), { ok: true, value: { applied: [] } });
  });

  it('rolls a failing migration back whole, and names its file and line', async () => {
    const db = await emptyDatabase();
    const dir = sqlDir({
      '001_ok.sql': 'CREATE TABLE ok (id int);',
      '002_bad.sql': 'CREATE TABLE half (id int);\n\nSELECT no_such_function();\n',
    });
    const result = await migrate(db.sql, { dir, log });
    assert.ok(!result.ok && result.error.reason === 'failed', JSON.stringify(result));
    assert.equal(result.error.file, '002_bad.sql');
    assert.equal(result.error.line, 3);
    assert.match(describeMigrationError(result.error), /^002_bad\.sql line 3 failed, nothing of it was applied: function no_such_function\(\) does not exist/);
    const [half] = await db.sql`SELECT to_regclass('half') AS t`;
    assert.equal(half?.['t'], null, 'nothing of the failed migration is left');
    assert.deepEqual(await versions(db.sql), [1]);
  });

  it('refuses a directory holding a file not named NNN_name.sql, or two files with one number', async () => {
    const db = await emptyDatabase();
    for (const [files, error] of [
      [{ '001_a.sql': 'SELECT 1;', 'notes.sql': 'SELECT 1;' }, { reason: 'bad_file_name', file: 'notes.sql' }],
      [{ '1_a.sql': 'SELECT 1;' }, { reason: 'bad_file_name', file: '1_a.sql' }],
      [{ '001_a.sql': 'SELECT 1;', '001_b.sql': 'SELECT 1;' }, { reason: 'duplicate_version', file: '001_b.sql', other: '001_a.sql' }],
    ] as const) {
      assert.deepEqual(await migrate(db.sql, { dir: sqlDir(files), log }), { ok: false, error });
    }
    const missing = await migrate(db.sql, { dir: join(tmpdir(), 'no-such-migrations-dir'), log });
    assert.ok(!missing.ok && missing.error.reason === 'unreadable_dir');
    assert.equal(await db.sql`SELECT to_regclass('schema_migrations') AS t`.then((rows) => rows[0]?.['t']), null, 'nothing was touched');
  });

  it('reports an unreachable database as a value', async () => {
    const nowhere = postgres('postgres://postgres:postgres@127.0.0.1:1/none', { max: 1, connect_timeout: 2, onnotice: () => {} });
    cleanups.push(() => nowhere.end());
    const result = await migrate(nowhere, { log });
    assert.ok(!result.ok && result.error.reason === 'db_unavailable', JSON.stringify(result));
  });
});

describe('the schema', () => {
  let db: TestDatabase;
  let userId: string;
  before(async () => {
    db = await freshDatabase();
    cleanups.push(db.drop);
    const [user] = z.array(z.object({ id: z.string().uuid() })).parse(await db.sql`INSERT INTO users (name) VALUES ('Alice') RETURNING id`);
    assert.ok(user);
    userId = user.id;
  });

  const insertMessage = (body: string, room = 'lobby') => db.sql`INSERT INTO messages (room, user_id, body) VALUES (${room}, ${userId}, ${body}) RETURNING id`;

  it('keeps a message body between 1 and 500 characters (characters, not bytes)', async () => {
    await rejectedWith(insertMessage(''), '23514', 'messages_body_check');
    await rejectedWith(insertMessage('x'.repeat(501)), '23514', 'messages_body_check');
    await insertMessage('x');
    await insertMessage('x'.repeat(500));
    await insertMessage('😀'.repeat(500));
  });

  it('keeps user names unique whatever their case', async () => {
    await rejectedWith(db.sql`INSERT INTO users (name) VALUES ('alice')`, '23505', 'users_name_lower_idx');
    await rejectedWith(db.sql`INSERT INTO users (name) VALUES ('ALICE')`, '23505', 'users_name_lower_idx');
    await db.sql`INSERT INTO users (name) VALUES ('alice2')`;
  });

  it('accepts only user names of 1 to 30 letters, digits, _ - .', async () => {
    for (const bad of ['', 'with space', 'x'.repeat(31), 'semi;colon', 'new\nline']) {
      await rejectedWith(db.sql`INSERT INTO users (name) VALUES (${bad})`, '23514', 'users_name_check');
    }
    await db.sql`INSERT INTO users (name) VALUES (${'A.b-c_9'}), (${'y'.repeat(30)})`;
  });

  it('accepts only room names of 1 to 32 of a-z 0-9 _ -', async () => {
    for (const bad of ['', 'Lobby', 'the lobby', 'x'.repeat(33), 'café', 'lobby\n']) {
      await rejectedWith(insertMessage('hi', bad), '23514', 'messages_room_check');
    }
    await insertMessage('hi', 'a');
    await insertMessage('hi', `room_1-${'z'.repeat(25)}`);
  });

  it('refuses a message from no known user', async () => {
    await rejectedWith(
      db.sql`INSERT INTO messages (room, user_id, body) VALUES ('lobby', gen_random_uuid(), 'hi')`,
      '23503',
      'messages_user_id_fkey',
    );
  });

  it('numbers messages itself, in order: the id is the cursor a client catches up from', async () => {
    const ids = [];
    for (const body of ['one', 'two', 'three']) ids.push(z.array(z.object({ id: z.coerce.number() })).parse(await insertMessage(body))[0]?.id);
    assert.deepEqual([...ids].sort((a, b) => (a ?? 0) - (b ?? 0)), ids);
    await rejectedWith(db.sql`INSERT INTO messages (id, room, user_id, body) VALUES (1, 'lobby', ${userId}, 'forged')`, '428C9');
  });

  it('finds messages by word, whatever their case, through the search index', async () => {
    await insertMessage('Hello Wörld from the search test', 'search');
    await insertMessage('nothing to see', 'search');
    const find = async (words: string): Promise<string[]> =>
      names(await db.sql`SELECT body FROM messages WHERE room = 'search' AND search @@ plainto_tsquery('simple', ${words}) ORDER BY id`, 'body');
    assert.deepEqual(await find('hello'), ['Hello Wörld from the search test']);
    assert.deepEqual(await find('WÖRLD search'), ['Hello Wörld from the search test']);
    assert.deepEqual(await find('absent'), []);
    await rejectedWith(db.sql`UPDATE messages SET search = to_tsvector('simple', 'forged')`, '428C9');

    const plan = await db.sql.begin(async (tx) => {
      await tx`SET LOCAL enable_seqscan = off`;
      return names(await tx`EXPLAIN SELECT id FROM messages WHERE search @@ plainto_tsquery('simple', 'hello')`, 'QUERY PLAN').join('\n');
    });
    assert.match(plan, /messages_search_idx/);
  });
});
