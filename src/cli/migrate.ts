import postgres from 'postgres';
import { parseConfig } from '../config.js';
import { createLogger } from '../log.js';
import { openDatabase } from '../repo/database.js';
import { describeMigrationError, migrate } from '../repo/migrations.js';

/** npm run migrate: applies sql/ migrations to DATABASE_URL (or the embedded database) and exits. */
const parsed = parseConfig(process.env);
const log = createLogger(parsed.ok ? parsed.value.LOG_LEVEL : 'info');
if (!parsed.ok) {
  for (const problem of parsed.error) log.fatal(`invalid configuration: ${problem.variable}: ${problem.message}`);
  process.exit(2);
}
const database = await openDatabase(parsed.value, log);
if (!database.ok) {
  log.fatal(database.error);
  process.exit(1);
}
const sql = postgres(database.value.url, { max: 1, onnotice: () => {} });
const result = await migrate(sql, { log });
await sql.end();
await database.value.stop();
if (!result.ok) {
  log.fatal(`migration failed: ${describeMigrationError(result.error)}`);
  process.exit(1);
}
log.info({ applied: result.value.applied }, result.value.applied.length === 0 ? 'schema up to date' : 'migrations applied');
