import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { after, describe, it } from 'node:test';
import postgres from 'postgres';
import { runServer, startServerProcess, type ServerProcess } from './support/server-process.js';

// No DATABASE_URL: the server starts its own PostgreSQL in DATA_DIR, as `npm start` does.
const dataDir = mkdtempSync(join(resolve('.test-data'), 'embedded-'));
const env = { DATABASE_URL: undefined, DATA_DIR: dataDir };
after(() => rmSync(dataDir, { recursive: true, force: true }));

function databaseUrl(server: ServerProcess): string {
  const line = server.lines.find((l) => l.includes('embedded PostgreSQL started'));
  assert.ok(line, 'the embedded database logged its start');
  const { port } = JSON.parse(line) as { port: number };
  return `postgres://postgres:postgres@127.0.0.1:${port}/chat`;
}

describe('the embedded PostgreSQL (no DATABASE_URL)', () => {
  it('starts with the server, is reachable, and keeps its data across restarts', async () => {
    const first = await startServerProcess(env, 120_000);
    const health = (await (await fetch(`${first.url}/health`)).json()) as Record<string, unknown>;
    assert.equal(health['database'], true);
    const sql = postgres(databaseUrl(first), { max: 1, onnotice: () => {} });
    await sql`INSERT INTO users (name) VALUES ('persistent')`;
    await sql.end();
    assert.equal(await first.stop(), 0);

    const second = await startServerProcess(env, 120_000);
    const again = postgres(databaseUrl(second), { max: 1, onnotice: () => {} });
    const rows = await again`SELECT name FROM users WHERE name = 'persistent'`;
    await again.end();
    assert.equal(rows.length, 1, 'history survived the restart');
    assert.equal(await second.stop(), 0);
  });

  it('recovers the data directory from a server that was SIGKILLed', async () => {
    const killed = await startServerProcess(env, 120_000);
    assert.equal(await killed.stop('SIGKILL'), null);
    const next = await startServerProcess(env, 120_000);
    assert.ok(next.lines.some((l) => l.includes('still holds the data directory')), 'the leftover server was noticed');
    assert.equal(((await (await fetch(`${next.url}/health`)).json()) as Record<string, unknown>)['database'], true);
    assert.equal(await next.stop(), 0);
  });

  it('npm run migrate applies the migrations alone and says when the schema is up to date', async () => {
    const run = runServer(env, { script: 'dist/src/cli/migrate.js' });
    assert.equal(await run.exited, 0);
    assert.ok(run.lines.some((l) => l.includes('schema up to date')), run.lines.join('\n'));
  });
});
