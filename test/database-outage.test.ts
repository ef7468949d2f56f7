import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { after, describe, it } from 'node:test';
import type { Socket } from 'phoenix';
import postgres from 'postgres';
import { inspectProcess } from '../src/repo/embedded-leftover.js';
import { APP_ROLE } from '../src/repo/embedded-roles.js';
import { secretsFile } from '../src/repo/embedded-secrets.js';
import { privatePostgres } from './support/pg.js';
import { connect, join as joinChannel, push, type Reply } from './support/phoenix-client.js';
import { eventually, sleep } from './support/probe.js';
import { startServerProcess, type ServerProcess } from './support/server-process.js';

/**
 * The database dies under a running server and comes back: pushes in between
 * are refused at once (db_unavailable, never a hang), the server recovers by
 * itself, nothing acknowledged is lost, and no socket is dropped.
 */

const DB_TIMEOUT_MS = 2_000;
const cleanups: Array<() => Promise<void>> = [];
after(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
});

interface Timed {
  readonly reply: Reply;
  readonly ms: number;
}

async function timedPush(channel: ReturnType<Socket['channel']>, body: string): Promise<Timed> {
  const at = Date.now();
  const reply = await push(channel, 'new_msg', { body }, 10_000);
  return { reply, ms: Date.now() - at };
}

const healthy = async (server: ServerProcess): Promise<boolean> => {
  try {
    return (await fetch(`${server.url}/health`)).status === 200;
  } catch {
    return false;
  }
};

/**
 * Chats before, during and after `outage` (which returns once the database is
 * gone; `comeBack`, when given, brings it back after a few refused pushes, else
 * the server does by itself), and checks what a user would notice.
 */
async function chatThrough(server: ServerProcess, url: string, outage: () => Promise<void>, comeBack?: () => Promise<void>) {
  const socket = connect(`${server.url.replace('http', 'ws')}/socket`);
  try {
    await chatOn(socket, server, url, outage, comeBack);
  } finally {
    // A socket left connecting would keep the test process alive.
    socket.disconnect();
  }
}

async function chatOn(socket: Socket, server: ServerProcess, url: string, outage: () => Promise<void>, comeBack?: () => Promise<void>) {
  let closes = 0;
  socket.onClose(() => void (closes += 1));
  const channel = socket.channel('room:outage', () => ({ username: 'ola', token: 'ola-token-0123456789abcdef' }));
  assert.equal((await joinChannel(channel)).status, 'ok');
  const acked: string[] = [];
  const send = async (body: string): Promise<Timed> => {
    const timed = await timedPush(channel, body);
    if (timed.reply.status === 'ok') acked.push(body);
    return timed;
  };
  for (let i = 0; i < 5; i++) assert.equal((await send(`before ${i}`)).reply.status, 'ok');

  await outage();
  const downAt = Date.now();
  const during: Timed[] = [];
  // Pushes go on at 10/s while the database is away: each is answered, ok or db_unavailable, within DB_TIMEOUT_MS.
  let comingBack: Promise<void> | undefined;
  let i = 0;
  while (Date.now() - downAt < 30_000) {
    const timed = await send(`during ${i++}`);
    during.push(timed);
    const refused = during.filter((t) => t.reply.status !== 'ok').length;
    if (refused >= 5 && comeBack !== undefined) comingBack ??= comeBack();
    if (refused > 0 && timed.reply.status === 'ok' && (await healthy(server))) break;
    await sleep(100); // pacing: 10 pushes a second
  }
  await comingBack;
  const upMs = Date.now() - downAt;
  await eventually(() => healthy(server), 30_000);
  for (let k = 0; k < 5; k++) assert.equal((await send(`after ${k}`)).reply.status, 'ok');

  const refused = during.filter((t) => t.reply.status !== 'ok');
  assert.ok(refused.length >= (comeBack === undefined ? 1 : 5), `pushes were refused during the outage: ${JSON.stringify(during.map((t) => t.reply.status))}`);
  for (const t of refused) assert.deepEqual(t.reply, { status: 'error', response: { reason: 'db_unavailable' } });
  const slowest = Math.max(...during.map((t) => t.ms));
  assert.ok(slowest <= DB_TIMEOUT_MS, `no push waited past DB_TIMEOUT_MS: slowest ${slowest} ms`);

  const sql = postgres(url, { max: 1, onnotice: () => {} });
  const stored = new Set((await sql`SELECT body FROM messages WHERE room = 'outage'`).map((row) => String(row['body'])));
  await sql.end();
  for (const body of acked) assert.ok(stored.has(body), `acknowledged '${body}' is in the history`);
  assert.equal(closes, 0, 'the socket was never dropped');
  assert.ok(!server.lines.some((l) => l.includes('"child restarted"') && /"child":"(repo|pubsub|presence|endpoint)"/.test(l)), 'no restart of the tree beyond the database');
  const sorted = refused.map((t) => t.ms).sort((a, b) => a - b);
  console.log(
    `outage: ${refused.length} of ${during.length} pushes refused, median ${sorted[Math.floor(sorted.length / 2)]} ms, slowest push ${slowest} ms; ` +
      `healthy and sending again ${upMs} ms after the database went away`,
  );
}

describe('the database dies under a running server', { timeout: 180_000 }, () => {
  it('embedded: a SIGKILLed postmaster is restarted by its supervisor; pushes meanwhile get db_unavailable at once', async () => {
    const dataDir = mkdtempSync(join(resolve('.test-data'), 'outage-'));
    const server = await startServerProcess({ DATABASE_URL: undefined, DATA_DIR: dataDir, DB_TIMEOUT_MS: String(DB_TIMEOUT_MS) }, 120_000);
    cleanups.push(async () => {
      await server.stop();
      rmSync(dataDir, { recursive: true, force: true });
    });
    const starts = () => server.lines.filter((l) => l.includes('embedded PostgreSQL started')).map((l) => JSON.parse(l) as { port: number; postmaster: number });
    const [first] = starts();
    assert.ok(first);
    const app = JSON.parse(readFileSync(secretsFile(dataDir), 'utf8')) as { app: string };
    await chatThrough(
      server,
      `postgres://${APP_ROLE}:${app.app}@127.0.0.1:${first.port}/chat`,
      async () => {
        process.kill(first.postmaster, 'SIGKILL');
        await eventually(() => !inspectProcess(first.postmaster).alive, 5_000);
      },
    );
    const [, second] = starts();
    assert.ok(second, 'PostgreSQL was started again');
    assert.equal(second.port, first.port, 'on the same port');
    assert.notEqual(second.postmaster, first.postmaster);
    assert.equal(await server.stop(), 0);
  });

  it('DATABASE_URL: the Repo reconnects when the server it points to stops and starts again', async () => {
    const pg = await privatePostgres();
    const server = await startServerProcess({ DATABASE_URL: pg.url, DB_TIMEOUT_MS: String(DB_TIMEOUT_MS) });
    cleanups.push(async () => {
      await server.stop();
      await pg.destroy();
    });
    await chatThrough(server, pg.url, () => pg.stop(), () => pg.start());
    assert.equal(await server.stop(), 0);
  });
});
