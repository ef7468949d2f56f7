import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { createServer } from 'node:net';
import { join, resolve } from 'node:path';
import { after, describe, it } from 'node:test';
import postgres from 'postgres';
import { pino } from 'pino';
import { initialise } from '../src/repo/embedded-init.js';
import { inspectProcess } from '../src/repo/embedded-leftover.js';
import { binaries, startServer, stopServer } from '../src/repo/embedded-server.js';
import { prepareDataDir } from '../src/repo/embedded-user.js';
import { migrate } from '../src/repo/migrations.js';
import { APP_ROLE } from '../src/repo/embedded-roles.js';
import { secretsFile } from '../src/repo/embedded-secrets.js';
import { eventually } from './support/probe.js';
import { runServer, startServerProcess, type ServerProcess } from './support/server-process.js';

// No DATABASE_URL: the server starts its own PostgreSQL in DATA_DIR, as `npm start` does.
const dataDir = mkdtempSync(join(resolve('.test-data'), 'embedded-'));
const env = { DATABASE_URL: undefined, DATA_DIR: dataDir };
after(() => rmSync(dataDir, { recursive: true, force: true }));

/** What the server's start line says of its PostgreSQL. */
function started(server: ServerProcess): { port: number; postmaster: number } {
  const line = server.lines.findLast((l) => l.includes('embedded PostgreSQL started'));
  assert.ok(line, 'the embedded database logged its start');
  return JSON.parse(line) as { port: number; postmaster: number };
}

const secrets = (dir: string) => JSON.parse(readFileSync(secretsFile(dir), 'utf8')) as { superuser: string; app: string };
const appUrl = (server: ServerProcess, dir = dataDir) => `postgres://${APP_ROLE}:${secrets(dir).app}@127.0.0.1:${started(server).port}/chat`;
const as = (user: string, password: string, port: number, database = 'chat') =>
  postgres({ host: '127.0.0.1', port, user, password, database, max: 1, connect_timeout: 5, onnotice: () => {} });

function portFree(port: number): Promise<boolean> {
  return new Promise((resolveFree) => {
    const probe = createServer();
    probe.once('error', () => resolveFree(false));
    probe.listen(port, '127.0.0.1', () => probe.close(() => resolveFree(true)));
  });
}

describe('the embedded PostgreSQL (no DATABASE_URL)', () => {
  it('starts with the server, is reachable, and keeps its data across restarts', async () => {
    const first = await startServerProcess(env, 120_000);
    const health = (await (await fetch(`${first.url}/health`)).json()) as Record<string, unknown>;
    assert.equal(health['database'], true);
    const sql = postgres(appUrl(first), { max: 1, onnotice: () => {} });
    await sql`INSERT INTO users (name) VALUES ('persistent')`;
    await sql.end();
    assert.equal(await first.stop(), 0);

    const second = await startServerProcess(env, 120_000);
    const again = postgres(appUrl(second), { max: 1, onnotice: () => {} });
    const rows = await again`SELECT name FROM users WHERE name = 'persistent'`;
    await again.end();
    assert.equal(rows.length, 1, 'history survived the restart');
    assert.equal(await second.stop(), 0);
  });

  it('a SIGKILLed server takes its PostgreSQL with it within 5 s, and the port is free (3 of 3)', async () => {
    for (let round = 1; round <= 3; round++) {
      const killed = await startServerProcess(env, 120_000);
      const { port, postmaster } = started(killed);
      assert.ok(inspectProcess(postmaster).alive);
      const at = Date.now();
      assert.equal(await killed.stop('SIGKILL'), null);
      await eventually(() => !inspectProcess(postmaster).alive, 5_000);
      const goneMs = Date.now() - at;
      assert.ok(await portFree(port), `port ${port} is free`);
      console.log(`round ${round}: postmaster gone ${goneMs} ms after SIGKILL of the server`);
    }
    const next = await startServerProcess(env, 120_000);
    assert.ok(!next.lines.some((l) => l.includes('still holds the data directory')), 'nothing was left running');
    assert.equal(((await (await fetch(`${next.url}/health`)).json()) as Record<string, unknown>)['database'], true);
    assert.equal(await next.stop(), 0);
  });

  it('has a random superuser password in a 0600 file, and the application connects as a role that is no superuser', async () => {
    const server = await startServerProcess(env, 120_000);
    const { port } = started(server);
    assert.equal(statSync(secretsFile(dataDir)).mode & 0o777, 0o600);
    assert.ok(!server.lines.some((l) => l.includes(secrets(dataDir).superuser) || l.includes(secrets(dataDir).app)), 'no password in the logs');

    await assert.rejects(as('postgres', 'postgres', port)`SELECT 1`, /password authentication failed/);
    await assert.rejects(as('postgres', '', port)`SELECT 1`, /password/);
    const admin = as('postgres', secrets(dataDir).superuser, port);
    const hba = await admin`SELECT type, auth_method FROM pg_hba_file_rules WHERE error IS NULL`;
    assert.ok(hba.length > 0 && hba.every((rule) => rule['auth_method'] === 'scram-sha-256'), JSON.stringify(hba));
    assert.equal((await admin`SHOW unix_socket_directories`)[0]?.['unix_socket_directories'], '', 'no unix socket');
    await admin.end();

    const app = postgres(appUrl(server), { max: 1, onnotice: () => {} });
    const [me] = await app`SELECT current_user AS who, (SELECT rolsuper FROM pg_roles WHERE rolname = current_user) AS super`;
    assert.deepEqual({ ...me }, { who: APP_ROLE, super: false });
    const owners = await app`SELECT DISTINCT pg_get_userbyid(relowner) AS owner FROM pg_class WHERE relnamespace = 'public'::regnamespace`;
    assert.deepEqual(owners.map((row) => row['owner']), [APP_ROLE], 'it owns every table and sequence');
    await app.end();
    assert.equal(await server.stop(), 0);
  });

  it('upgrades a data directory made with the old fixed postgres/postgres password in place, rows intact', async () => {
    const old = mkdtempSync(join(resolve('.test-data'), 'legacy-'));
    try {
      // What earlier versions left: the cluster in pg/, superuser postgres/postgres owning everything, no secrets file.
      const log = pino({ level: 'silent' });
      const pgDir = join(old, 'pg');
      const runAs = prepareDataDir(old, pgDir, log);
      assert.ok(runAs.ok);
      const bin = await binaries();
      assert.ok((await initialise({ initdb: bin.initdb, user: 'postgres', password: 'postgres', dataDir: old, pgDir, runAs: runAs.value, disposable: true })).ok);
      const launched = await startServer({ pgCtl: bin.pg_ctl, pgDir, logFile: join(old, 'pg.log'), runAs: runAs.value, disposable: true }, undefined);
      assert.ok(launched.ok);
      const admin = as('postgres', 'postgres', launched.value.port, 'postgres');
      await admin.unsafe('CREATE DATABASE chat');
      await admin.end();
      const legacy = as('postgres', 'postgres', launched.value.port);
      assert.ok((await migrate(legacy, { log })).ok);
      await legacy`INSERT INTO users (name) VALUES ('old-timer')`;
      await legacy.end();
      await stopServer(bin.pg_ctl, pgDir, launched.value.pid, runAs.value);

      const server = await startServerProcess({ DATABASE_URL: undefined, DATA_DIR: old }, 120_000);
      const { port } = started(server);
      assert.ok(server.lines.some((l) => l.includes('upgraded a data directory')));
      assert.equal(statSync(secretsFile(old)).mode & 0o777, 0o600);
      await assert.rejects(as('postgres', 'postgres', port)`SELECT 1`, /password authentication failed/);
      const app = postgres(appUrl(server, old), { max: 1, onnotice: () => {} });
      assert.deepEqual((await app`SELECT name FROM users`).map((row) => row['name']), ['old-timer']);
      assert.equal((await app`SELECT rolsuper FROM pg_roles WHERE rolname = current_user`)[0]?.['rolsuper'], false);
      await app`INSERT INTO users (name) VALUES ('newcomer')`;
      const owners = await app`SELECT DISTINCT pg_get_userbyid(relowner) AS owner FROM pg_class WHERE relnamespace = 'public'::regnamespace`;
      assert.deepEqual(owners.map((row) => row['owner']), [APP_ROLE]);
      await app.end();
      assert.equal(await server.stop(), 0);
    } finally {
      rmSync(old, { recursive: true, force: true });
    }
  });

  it('npm run migrate applies the migrations alone and says when the schema is up to date', async () => {
    const run = runServer(env, { script: 'dist/src/cli/migrate.js' });
    assert.equal(await run.exited, 0);
    assert.ok(run.lines.some((l) => l.includes('schema up to date')), run.lines.join('\n'));
  });
});
