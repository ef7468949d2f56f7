import { spawn } from 'node:child_process';
import { readdirSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { pino } from 'pino';
import { startEmbeddedPostgres } from '../src/repo/embedded.js';

/**
 * npm test: runs every test/**\/*.test.ts (or the files given) with node's test
 * runner, against DATABASE_URL or, when unset, one embedded PostgreSQL started
 * here in a fresh directory and removed afterwards. Each test file makes its own
 * database on that server (test/support/db.ts).
 */
function testFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return testFiles(path);
    return entry.name.endsWith('.test.ts') ? [path] : [];
  });
}

const files = process.argv.length > 2 ? process.argv.slice(2) : testFiles('test').sort();
const log = pino({ level: process.env.LOG_LEVEL ?? 'warn' });
let stopDatabase = async (): Promise<void> => {};
if (process.env.DATABASE_URL === undefined) {
  const dataDir = resolve('.test-data', `run-${process.pid}`);
  const database = await startEmbeddedPostgres({ dataDir, database: 'chat_test', log });
  if (!database.ok) {
    log.fatal(database.error);
    process.exit(1);
  }
  process.env.DATABASE_URL = database.value.url;
  stopDatabase = async () => {
    await database.value.stop();
    rmSync(dataDir, { recursive: true, force: true });
  };
}

const child = spawn(process.execPath, ['--import', 'tsx', '--test', '--test-concurrency=1', ...files], {
  stdio: 'inherit',
  env: process.env,
});
const stopOnSignal = (signal: NodeJS.Signals) => child.kill(signal);
process.on('SIGINT', stopOnSignal);
process.on('SIGTERM', stopOnSignal);
const code = await new Promise<number>((resolveCode) => child.on('exit', (exitCode) => resolveCode(exitCode ?? 1)));
await stopDatabase();
process.exit(code);
