import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import postgres from 'postgres';
import { pino } from 'pino';
import { z } from 'zod';
import { describeMigrationError, migrate } from '../src/repo/migrations.js';
import { freshDatabase, type TestDatabase } from './support/db.js';

const log = pino({ level: 'silent' });
const dbs: TestDatabase[] = [];
after(async () => {
  for (const db of dbs) await db.drop();
});

async function emptyDatabase(): Promise<TestDatabase> {
  const db = await freshDatabase({ migrated: false });
  dbs.push(db);
  return db;
}

function sqlDir(files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), 'migrations-'));
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
  return dir;
}

const versions = async (sql: postgres.Sql): Promise<number[]> =>
  z.array(z.object({ version: z.number() })).parse(await sql`SELECT version FROM schema_migrations ORDER BY version`).map((r) => r.version);

describe('migrations', () => {
  it('create the schema on a fresh database and apply nothing the second time', async () => {
    const db = await emptyDatabase();
    const first = await migrate(db.sql, { log });
    assert.deepEqual(first, { ok: true, value: { applied: ['001_init.sql'] } });
    const tables = await db.sql`SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' ORDER BY 1`;
    assert.deepEqual(tables.map((t) => t['table_name']), ['messages', 'schema_migrations', 'users']);
    assert.deepEqual(await migrate(db.sql, { log }), { ok: true, value: { applied: [] } });
    assert.deepEqual(await versions(db.sql), [1]);
  });

  it('two runners at once apply each migration exactly once, and both succeed', async () => {
    const db = await emptyDatabase();
    const dir = sqlDir({
      '001_a.sql': 'CREATE TABLE a (id int); SELECT pg_sleep(0.3);',
      '002_b.sql': 'CREATE TABLE b (id int);',
    });
    const other = postgres(db.url, { max: 2, onnotice: () => {} });
    const [one, two] = await Promise.all([migrate(db.sql, { dir, log }), migrate(other, { dir, log })]);
    await other.end();
    rmSync(dir, { recursive: true });
    assert.ok(one.ok && two.ok, 'neither runner failed (a race would fail on CREATE TABLE)');
    assert.deepEqual([...one.value.applied, ...two.value.applied].sort(), ['001_a.sql', '002_b.sql']);
    assert.deepEqual(await versions(db.sql), [1, 2]);
  });

  it('a migration changed after it was applied stops with a clear error', async () => {
    const db = await emptyDatabase();
    const dir = sqlDir({ '001_a.sql': 'CREATE TABLE a (id int);' });
    assert.ok((await migrate(db.sql, { dir, log })).ok);
    writeFileSync(join(dir, '001_a.sql'), 'CREATE TABLE a (id bigint);');
    const changed = await migrate(db.sql, { dir, log });
    rmSync(dir, { recursive: true });
    assert.deepEqual(changed, { ok: false, error: { kind: 'checksum_mismatch', file: '001_a.sql' } });
    assert.ok(!changed.ok && /001_a\.sql was changed after it was applied/.test(describeMigrationError(changed.error)));
  });

  it('a failing migration is rolled back whole and names its file', async () => {
    const db = await emptyDatabase();
    const dir = sqlDir({ '001_ok.sql': 'CREATE TABLE ok (id int);', '002_bad.sql': 'CREATE TABLE half (id int); SELECT no_such_function();' });
    const result = await migrate(db.sql, { dir, log });
    rmSync(dir, { recursive: true });
    assert.ok(!result.ok && result.error.kind === 'failed' && result.error.file === '002_bad.sql');
    const half = await db.sql`SELECT to_regclass('half') AS t`;
    assert.equal(half[0]?.['t'], null, 'nothing of the failed migration is left');
    assert.deepEqual(await versions(db.sql), [1]);
  });

  it('refuses a file that is not named NNN_name.sql', async () => {
    const db = await emptyDatabase();
    const dir = sqlDir({ '001_a.sql': 'SELECT 1;', 'notes.sql': 'SELECT 1;' });
    const result = await migrate(db.sql, { dir, log });
    rmSync(dir, { recursive: true });
    assert.deepEqual(result, { ok: false, error: { kind: 'bad_file_name', file: 'notes.sql' } });
  });
});
