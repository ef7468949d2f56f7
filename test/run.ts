import { spawn } from 'node:child_process';
import { readdirSync, rmSync } from 'node:fs';
import { constants } from 'node:os';
import { join, relative, resolve } from 'node:path';
import { pino } from 'pino';
import { startEmbeddedPostgres } from '../src/repo/embedded.js';
import { ROOT as root } from '../src/root.js';
import { sweepTestData, testDataDir } from './support/pg.js';

/**
 * npm test: node's test runner over the files given (any argument starting with
 * `--` goes to node, e.g. --test-name-pattern=...), or every test/**\/*.test.ts,
 * one file at a time, each run as its compiled dist/test/**\/*.test.js (npm test
 * builds first; a compiled test whose source is gone is not run). Against DATABASE_URL, or when unset one embedded
 * PostgreSQL started here in a fresh directory and removed afterwards; each
 * test makes its own database on it (test/support/db.ts).
 */

const log = pino({ level: process.env['LOG_LEVEL'] ?? 'info' });
// The database's own lines (start, stop) only when asked for.
const dbLog = log.child({ name: 'test-db' }, { level: process.env['LOG_LEVEL'] ?? 'warn' });

// Node 20's --test does not expand globs itself.
function testFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return entry.name === 'node_modules' ? [] : testFiles(path);
    return entry.name.endsWith('.test.ts') ? [relative(root, path)] : [];
  });
}

const args = process.argv.slice(2);
// npm run test:unit: the pure tests (*.unit.test.ts: no database, no server process, no browser), two at a time.
const unit = args.includes('--unit');
const nodeFlags = [...args.filter((arg) => arg.startsWith('--') && arg !== '--unit'), ...(unit ? ['--test-concurrency=2'] : ['--test-concurrency=1'])];
const named = args.filter((arg) => !arg.startsWith('--'));
// The tests run from the repository root (they use paths like .test-data/ and dist/): name files from there.
const all = named.length > 0 ? named.map((file) => relative(root, resolve(file))) : testFiles(join(root, 'test')).sort();
const sources = unit ? all.filter((file) => file.endsWith('.unit.test.ts')) : all;
const files = sources.map((file) => join('dist', file.replace(/^dist[/\\]/, '').replace(/\.ts$/, '.js')));

async function withDatabase(run: () => Promise<number>): Promise<number> {
  if (process.env['DATABASE_URL'] !== undefined && process.env['DATABASE_URL'] !== '') return run();
  await sweepTestData(log);
  const dataDir = testDataDir('run');
  const started = Date.now();
  // Whoever kills us (a harness, a CI timeout), the watchdog stops it too.
  const database = await startEmbeddedPostgres({ dataDir, database: 'chat_test', log: dbLog, disposable: true });
  if (!database.ok) {
    log.fatal(database.error);
    rmSync(dataDir, { recursive: true, force: true });
    return 1;
  }
  log.info({ ms: Date.now() - started, dataDir }, 'test database ready');
  // The superuser, for the harness only: each test creates (and drops) a database of its own, which the application's role may not.
  process.env['DATABASE_URL'] = database.value.adminUrl;
  try {
    return await run();
  } finally {
    await database.value.stop();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

function runTests(): Promise<number> {
  const child = spawn(process.execPath, ['--enable-source-maps', '--test', ...nodeFlags, ...files], {
    cwd: root,
    stdio: 'inherit',
    env: process.env,
  });
  // A terminal's Ctrl-C reaches the tests directly; a signal sent to us alone is passed on. Either way we stop the database after them.
  const pass = (signal: NodeJS.Signals): void => void child.kill(signal);
  process.on('SIGINT', pass);
  process.on('SIGTERM', pass);
  return new Promise((resolveCode) => {
    child.once('error', (error) => {
      log.fatal({ error: error.message }, 'could not run node --test');
      resolveCode(1);
    });
    child.once('exit', (code, signal) => resolveCode(code ?? (signal === null ? 1 : 128 + constants.signals[signal])));
  });
}

// exit(), not exitCode: a handle some library left open must not keep `npm test` from ending.
process.exit(unit ? await runTests() : await withDatabase(runTests));
