import { resolve } from 'node:path';
import type { Logger } from 'pino';
import type { ChildSpec } from '../../supervision/index.js';
import { ok, type Result } from '../../supervision/result.js';
import type { Config } from '../config.js';
import { ensureSecrets } from './embedded-secrets.js';
import { embeddedPostgresSpec } from './embedded-supervisor.js';
import { embeddedUrl, freePort, startEmbeddedPostgres, type EmbeddedDatabase } from './embedded.js';
import { mkdirSync } from 'node:fs';

/** DATABASE_URL when set; otherwise the embedded PostgreSQL in DATA_DIR, started here and stopped by the caller (npm run migrate). */
export async function openDatabase(config: Config, log: Logger): Promise<Result<Pick<EmbeddedDatabase, 'url' | 'stop'>, string>> {
  if (config.DATABASE_URL !== undefined) return ok({ url: config.DATABASE_URL, stop: async () => {} });
  return startEmbeddedPostgres({
    dataDir: config.DATA_DIR,
    log,
    ...(config.PG_PORT === undefined ? {} : { port: config.PG_PORT }),
  });
}

/**
 * For the server: where the Repo connects, and the tree's children that run the
 * database (none for DATABASE_URL). The port is chosen now, so a restarted
 * PostgreSQL comes back where the pool reconnects.
 */
export async function databaseChildren(config: Config, log: Logger): Promise<{ url: string; children: ChildSpec[] }> {
  if (config.DATABASE_URL !== undefined) return { url: config.DATABASE_URL, children: [] };
  const dataDir = resolve(config.DATA_DIR);
  mkdirSync(dataDir, { recursive: true });
  const secrets = ensureSecrets(dataDir);
  const port = config.PG_PORT ?? (await freePort());
  return {
    url: embeddedUrl(secrets, port, 'app'),
    children: [embeddedPostgresSpec({ dataDir, port, log })],
  };
}
