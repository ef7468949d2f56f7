import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type postgres from 'postgres';
import type { Logger } from 'pino';
import { z } from 'zod';
import { err, ok, type Result } from '../../supervision/result.js';
import { classify } from './errors.js';

/**
 * Numbered plain-SQL migrations (sql/NNN_name.sql), applied in order at start,
 * each in its own transaction and recorded with a checksum. Runners on several
 * nodes take turns through an advisory lock, so two starts never race.
 */

export const MIGRATIONS_DIR = resolve(fileURLToPath(new URL('../../sql', import.meta.url)));

export type MigrationError =
  | { readonly kind: 'bad_file_name'; readonly file: string }
  | { readonly kind: 'duplicate_version'; readonly file: string }
  | { readonly kind: 'checksum_mismatch'; readonly file: string }
  | { readonly kind: 'failed'; readonly file: string; readonly detail: string }
  | { readonly kind: 'db_unavailable'; readonly detail: string };

export function describeMigrationError(error: MigrationError): string {
  switch (error.kind) {
    case 'bad_file_name':
      return `${error.file}: migration files must be named NNN_name.sql`;
    case 'duplicate_version':
      return `${error.file}: another migration has the same number`;
    case 'checksum_mismatch':
      return `${error.file} was changed after it was applied; add a new migration instead of editing an applied one`;
    case 'failed':
      return `${error.file} failed: ${error.detail}`;
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

// Any fixed number unique to this application: pg_advisory_lock takes a bigint key.
const LOCK_KEY = 7_420_315_001;

function readMigrations(dir: string): Result<Migration[], MigrationError> {
  const migrations: Migration[] = [];
  for (const file of readdirSync(dir).sort()) {
    const match = /^(\d{3})_[a-z0-9_]+\.sql$/.exec(file);
    if (match === null) return err({ kind: 'bad_file_name', file });
    const version = Number(match[1]);
    if (migrations.some((m) => m.version === version)) return err({ kind: 'duplicate_version', file });
    const text = readFileSync(join(dir, file), 'utf8');
    migrations.push({ version, file, text, checksum: createHash('sha256').update(text).digest('hex') });
  }
  return ok(migrations);
}

const appliedRow = z.object({ version: z.number(), checksum: z.string() });

export async function migrate(
  sql: postgres.Sql,
  options: { readonly dir?: string; readonly log: Logger },
): Promise<Result<{ readonly applied: string[] }, MigrationError>> {
  const files = readMigrations(options.dir ?? MIGRATIONS_DIR);
  if (!files.ok) return files;
  let conn: postgres.ReservedSql;
  try {
    conn = await sql.reserve();
  } catch (error) {
    return err({ kind: 'db_unavailable', detail: error instanceof Error ? error.message : String(error) });
  }
  const applied: string[] = [];
  let current = '(setup)';
  try {
    await conn`SELECT pg_advisory_lock(${LOCK_KEY})`;
    await conn`CREATE TABLE IF NOT EXISTS schema_migrations (
      version integer PRIMARY KEY, name text NOT NULL, checksum text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())`;
    const done = new Map(z.array(appliedRow).parse(await conn`SELECT version, checksum FROM schema_migrations`).map((r) => [r.version, r.checksum]));
    for (const migration of files.value) {
      current = migration.file;
      const checksum = done.get(migration.version);
      if (checksum !== undefined) {
        if (checksum !== migration.checksum) return err({ kind: 'checksum_mismatch', file: migration.file });
        continue;
      }
      await conn`BEGIN`;
      try {
        await conn.unsafe(migration.text);
        await conn`INSERT INTO schema_migrations (version, name, checksum) VALUES (${migration.version}, ${migration.file}, ${migration.checksum})`;
        await conn`COMMIT`;
      } catch (error) {
        await conn`ROLLBACK`.catch(() => undefined);
        throw error;
      }
      applied.push(migration.file);
      options.log.info({ migration: migration.file }, 'migration applied');
    }
    return ok({ applied });
  } catch (error) {
    const classified = classify(error);
    if (classified.kind === 'db_unavailable') return err({ kind: 'db_unavailable', detail: classified.detail });
    return err({ kind: 'failed', file: current, detail: classified.detail });
  } finally {
    await conn`SELECT pg_advisory_unlock(${LOCK_KEY})`.catch(() => undefined);
    conn.release();
  }
}
