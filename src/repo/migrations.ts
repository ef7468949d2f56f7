import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type postgres from 'postgres';
import type { Logger } from 'pino';
import { z } from 'zod';
import { err, ok, type Result } from '../../supervision/result.js';
import { fromRoot } from '../root.js';
import { classify } from './errors.js';

/**
 * Numbered plain-SQL migrations (sql/NNN_name.sql), applied in order, each in
 * its own transaction, recorded in schema_migrations with a checksum. Nodes
 * starting together take turns through an advisory lock.
 *
 * A migration runs inside our transaction: it must not BEGIN/COMMIT itself,
 * nor use what cannot run in one (CREATE INDEX CONCURRENTLY, VACUUM).
 */

export const MIGRATIONS_DIR = fromRoot('sql');

export type MigrationError =
  | { readonly reason: 'unreadable_dir'; readonly dir: string; readonly detail: string }
  | { readonly reason: 'bad_file_name'; readonly file: string }
  | { readonly reason: 'duplicate_version'; readonly file: string; readonly other: string }
  | { readonly reason: 'checksum_mismatch'; readonly file: string }
  | { readonly reason: 'failed'; readonly file: string; readonly detail: string; readonly line: number | undefined }
  | { readonly reason: 'setup_failed'; readonly detail: string }
  | { readonly reason: 'db_unavailable'; readonly detail: string };

export function describeMigrationError(error: MigrationError): string {
  switch (error.reason) {
    case 'unreadable_dir':
      return `cannot read the migrations directory ${error.dir}: ${error.detail}`;
    case 'bad_file_name':
      return `${error.file}: every file in the migrations directory must be named NNN_name.sql (three digits, then lower-case letters, digits, _)`;
    case 'duplicate_version':
      return `${error.file} has the same number as ${error.other}`;
    case 'checksum_mismatch':
      return `${error.file} was changed after it was applied; restore it and put the change in a new migration`;
    case 'failed':
      return `${error.file}${error.line === undefined ? '' : ` line ${error.line}`} failed, nothing of it was applied: ${error.detail}`;
    case 'setup_failed':
      return `cannot set up schema_migrations: ${error.detail}`;
    case 'db_unavailable':
      return `database unavailable: ${error.detail}`;
  }
}

interface Migration {
  readonly version: number;
  readonly file: string;
  readonly text: string;
  readonly checksum: string;
}

// pg_advisory_lock takes any bigint: this one is ours alone ("chat" + "mig" as digits, roughly).
const LOCK_KEY = 7_420_315_001;
const FILE_NAME = /^(\d{3})_[a-z0-9_]+\.sql$/;

// A checkout with CRLF line endings (git autocrlf) is the same migration, not a changed one.
const checksumOf = (text: string): string => createHash('sha256').update(text.replaceAll('\r\n', '\n')).digest('hex');

export function readMigrations(dir: string): Result<Migration[], MigrationError> {
  let files: string[];
  try {
    // Dot files are editors' and systems' (.swp, .DS_Store), never migrations.
    files = readdirSync(dir).filter((file) => !file.startsWith('.')).sort();
  } catch (error) {
    return err({ reason: 'unreadable_dir', dir, detail: error instanceof Error ? error.message : String(error) });
  }
  const migrations: Migration[] = [];
  for (const file of files) {
    const version = FILE_NAME.exec(file)?.[1];
    if (version === undefined) return err({ reason: 'bad_file_name', file });
    const other = migrations.find((m) => m.version === Number(version));
    if (other !== undefined) return err({ reason: 'duplicate_version', file, other: other.file });
    const text = readFileSync(join(dir, file), 'utf8');
    migrations.push({ version: Number(version), file, text, checksum: checksumOf(text) });
  }
  return ok(migrations);
}

const appliedRows = z.array(z.object({ version: z.number().int(), name: z.string(), checksum: z.string() }));
const lockRow = z.array(z.object({ locked: z.boolean() })).length(1);

/** PostgreSQL reports where a statement failed as a 1-based character offset into the text sent. */
function lineOf(error: unknown, text: string): number | undefined {
  if (typeof error !== 'object' || error === null || !('position' in error)) return undefined;
  const position = Number(error.position);
  if (!Number.isInteger(position) || position < 1) return undefined;
  return text.slice(0, position - 1).split('\n').length;
}

function failure(error: unknown, file: string | undefined, text: string): MigrationError {
  const classified = classify(error);
  if (classified.reason === 'db_unavailable') return { reason: 'db_unavailable', detail: classified.detail };
  if (file === undefined) return { reason: 'setup_failed', detail: classified.detail };
  return { reason: 'failed', file, detail: classified.detail, line: lineOf(error, text) };
}

async function applyOne(conn: postgres.ReservedSql, migration: Migration): Promise<void> {
  await conn`BEGIN`;
  try {
    // No parameters: postgres.js sends it as a simple query, so a file may hold many statements.
    await conn.unsafe(migration.text);
    await conn`INSERT INTO schema_migrations (version, name, checksum) VALUES (${migration.version}, ${migration.file}, ${migration.checksum})`;
    await conn`COMMIT`;
  } catch (error) {
    await conn`ROLLBACK`.catch(() => undefined);
    throw error;
  }
}

async function lock(conn: postgres.ReservedSql, log: Logger): Promise<void> {
  const [got] = lockRow.parse(await conn`SELECT pg_try_advisory_lock(${LOCK_KEY}) AS locked`);
  if (got?.locked === true) return;
  log.info('another node is migrating this database; waiting for it to finish');
  await conn`SELECT pg_advisory_lock(${LOCK_KEY})`;
}

export async function migrate(
  sql: postgres.Sql,
  options: { readonly dir?: string; readonly log: Logger },
): Promise<Result<{ readonly applied: string[] }, MigrationError>> {
  const { log } = options;
  const files = readMigrations(options.dir ?? MIGRATIONS_DIR);
  if (!files.ok) return files;
  // One connection for the lock and the work: an advisory lock belongs to the session that took it.
  let conn: postgres.ReservedSql;
  try {
    conn = await sql.reserve();
  } catch (error) {
    return err({ reason: 'db_unavailable', detail: error instanceof Error ? error.message : String(error) });
  }
  const applied: string[] = [];
  let current: Migration | undefined;
  try {
    await lock(conn, log);
    // Under the lock: two runners creating it at once would collide in the catalog even with IF NOT EXISTS.
    await conn`CREATE TABLE IF NOT EXISTS schema_migrations (
      version    integer     PRIMARY KEY,
      name       text        NOT NULL,
      checksum   text        NOT NULL,
      applied_at timestamptz NOT NULL DEFAULT now()
    )`;
    const done = new Map(appliedRows.parse(await conn`SELECT version, name, checksum FROM schema_migrations`).map((row) => [row.version, row]));
    const known = new Set(files.value.map((m) => m.version));
    const unknown = [...done.values()].filter((row) => !known.has(row.version)).map((row) => row.name);
    // Newer code migrated this database (a rollback, or a rolling deploy): not ours to judge, but worth saying.
    if (unknown.length > 0) log.warn({ unknown }, 'the database has migrations this code does not know');
    for (const migration of files.value) {
      const row = done.get(migration.version);
      if (row !== undefined) {
        if (row.checksum !== migration.checksum) return err({ reason: 'checksum_mismatch', file: migration.file });
        continue;
      }
      current = migration;
      const started = Date.now();
      await applyOne(conn, migration);
      current = undefined;
      applied.push(migration.file);
      log.info({ migration: migration.file, ms: Date.now() - started }, 'migration applied');
    }
    return ok({ applied });
  } catch (error) {
    return err(failure(error, current?.file, current?.text ?? ''));
  } finally {
    await conn`SELECT pg_advisory_unlock(${LOCK_KEY})`.catch(() => undefined);
    conn.release();
  }
}
