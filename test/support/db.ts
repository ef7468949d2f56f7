import { randomBytes } from 'node:crypto';
import postgres from 'postgres';
import { pino } from 'pino';
import { migrate, describeMigrationError } from '../../src/repo/migrations.js';

/** A fresh, migrated database on the test server (DATABASE_URL), for one test file. */
export interface TestDatabase {
  readonly url: string;
  readonly sql: postgres.Sql;
  drop(): Promise<void>;
}

export function serverUrl(): string {
  const url = process.env.DATABASE_URL;
  if (url === undefined) throw new Error('DATABASE_URL is not set: run tests through `npm test` (test/run.ts)');
  return url;
}

export function withDatabase(url: string, database: string): string {
  const parsed = new URL(url);
  parsed.pathname = `/${database}`;
  return parsed.toString();
}

export async function freshDatabase(options: { readonly migrated?: boolean } = {}): Promise<TestDatabase> {
  const name = `t_${randomBytes(6).toString('hex')}`;
  const admin = postgres(serverUrl(), { max: 1, onnotice: () => {} });
  await admin.unsafe(`CREATE DATABASE ${name}`);
  await admin.end();
  const url = withDatabase(serverUrl(), name);
  const sql = postgres(url, { max: 4, onnotice: () => {} });
  if (options.migrated !== false) {
    const result = await migrate(sql, { log: pino({ level: 'silent' }) });
    if (!result.ok) throw new Error(describeMigrationError(result.error));
  }
  return {
    url,
    sql,
    drop: async () => {
      await sql.end({ timeout: 1 });
      const dropper = postgres(serverUrl(), { max: 1, onnotice: () => {} });
      await dropper.unsafe(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await dropper.end();
    },
  };
}
