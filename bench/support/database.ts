import { rmSync } from 'node:fs';
import { resolve } from 'node:path';
import postgres from 'postgres';
import { pino } from 'pino';
import { startEmbeddedPostgres } from '../../src/repo/embedded.js';
import { describeMigrationError, migrate } from '../../src/repo/migrations.js';

/** DATABASE_URL if set, else a throwaway embedded PostgreSQL; migrated either way. */
export async function benchDatabase(): Promise<{ url: string; stop(): Promise<void> }> {
  const log = pino({ level: 'warn' });
  let url = process.env.DATABASE_URL;
  let stop = async () => {};
  if (url === undefined) {
    const dataDir = resolve('.test-data', `bench-${process.pid}`);
    const started = await startEmbeddedPostgres({ dataDir, database: 'bench', log });
    if (!started.ok) throw new Error(started.error);
    url = started.value.url;
    stop = async () => {
      await started.value.stop();
      rmSync(dataDir, { recursive: true, force: true });
    };
  }
  const sql = postgres(url, { max: 1, onnotice: () => {} });
  const migrated = await migrate(sql, { log });
  await sql.end();
  if (!migrated.ok) throw new Error(describeMigrationError(migrated.error));
  return { url, stop };
}
