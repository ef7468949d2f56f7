import postgres from 'postgres';
import { parseConfig } from '../config.js';
import { createLogger } from '../log.js';
import { openDatabase } from '../repo/database.js';
import { describeMigrationError, migrate } from '../repo/migrations.js';

/**
 * npm run migrate: applies sql/ to DATABASE_URL, or to the embedded PostgreSQL
 * in DATA_DIR when that is unset, and exits: 0 applied or up to date, 1 failed,
 * 2 bad configuration. The server migrates at start too; this is for doing it
 * ahead of a deploy, or seeing why it fails without starting everything.
 */
async function main(): Promise<number> {
  const parsed = parseConfig(process.env);
  if (!parsed.ok) {
    const log = createLogger('info');
    for (const problem of parsed.error) log.fatal({ variable: problem.variable }, `invalid configuration: ${problem.variable}: ${problem.message}`);
    return 2;
  }
  const config = parsed.value;
  const log = createLogger(config.LOG_LEVEL, 'migrate');
  const database = await openDatabase(config, log);
  if (!database.ok) {
    log.fatal(database.error);
    return 1;
  }
  const sql = postgres(database.value.url, {
    max: 1,
    connect_timeout: Math.ceil(config.DB_TIMEOUT_MS / 1000),
    onnotice: (notice) => log.debug({ notice: notice['message'] }, 'postgres notice'),
  });
  try {
    const result = await migrate(sql, { log });
    if (!result.ok) {
      log.fatal({ error: result.error }, `migration failed: ${describeMigrationError(result.error)}`);
      return 1;
    }
    const { applied } = result.value;
    log.info({ applied }, applied.length === 0 ? 'schema up to date' : `${applied.length} migration(s) applied`);
    return 0;
  } finally {
    await sql.end({ timeout: 5 });
    await database.value.stop();
  }
}

// exitCode rather than exit(): lets pino's transport (pretty output) flush before the process ends.
process.exitCode = await main();
