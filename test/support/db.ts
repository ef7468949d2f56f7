import { randomBytes } from 'node:crypto';
import postgres from 'postgres';
import { pino } from 'pino';
import { describeMigrationError, migrate } from '../../src/repo/migrations.js';

/**
 * Test isolation: each test file (or test) gets a database of its own on the
 * server of DATABASE_URL, which test/run.ts provides.
 */
export interface TestDatabase {
  readonly url: string;
  readonly sql: postgres.Sql;
  /** Closes `sql` and drops the database, whoever is still connected. */
  drop(): Promise<void>;
}

export function serverUrl(): string {
  const url = process.env['DATABASE_URL'];
  if (url === undefined || url === '') throw new Error('DATABASE_URL is not set: run tests through `npm test` (test/run.ts)');
  return url;
}

export function withDatabase(url: string, database: string): string {
  const parsed = new URL(url);
  parsed.pathname = `/${database}`;
  return parsed.toString();
}

async function onServer<T>(work: (admin: postgres.Sql) => Promise<T>): Promise<T> {
  const admin = postgres(serverUrl(), { max: 1, onnotice: () => {} });
  try {
    return await work(admin);
  } finally {
    await admin.end();
  }
}

export async function freshDatabase(options: { readonly migrated?: boolean; readonly max?: number } = {}): Promise<TestDatabase> {
  const name = `t_${randomBytes(6).toString('hex')}`;
  await onServer((admin) => admin`CREATE DATABASE ${admin(name)}`);
  const url = withDatabase(serverUrl(), name);
  const sql = postgres(url, { max: options.max ?? 4, onnotice: () => {} });
  const drop = async (): Promise<void> => {
    await sql.end({ timeout: 1 });
    // FORCE: a pool the test forgot to close must not keep the database alive.
    await onServer((admin) => admin`DROP DATABASE IF EXISTS ${admin(name)} WITH (FORCE)`);
  };
  if (options.migrated !== false) {
    const result = await migrate(sql, { log: pino({ level: 'silent' }) });
    if (!result.ok) {
      await drop();
      throw new Error(describeMigrationError(result.error));
    }
  }
  return { url, sql, drop };
}
