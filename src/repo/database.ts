import type { Logger } from 'pino';
import { ok, type Result } from '../../supervision/result.js';
import type { Config } from '../config.js';
import { startEmbeddedPostgres, type EmbeddedDatabase } from './embedded.js';

/** DATABASE_URL when set; otherwise the embedded PostgreSQL in DATA_DIR, started here and stopped by the caller. */
export async function openDatabase(config: Config, log: Logger): Promise<Result<Pick<EmbeddedDatabase, 'url' | 'stop'>, string>> {
  if (config.DATABASE_URL !== undefined) return ok({ url: config.DATABASE_URL, stop: async () => {} });
  return startEmbeddedPostgres({
    dataDir: config.DATA_DIR,
    log,
    ...(config.PG_PORT === undefined ? {} : { port: config.PG_PORT }),
  });
}
