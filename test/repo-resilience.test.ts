import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import postgres from 'postgres';
import { pino } from 'pino';
import { z } from 'zod';
import { kill, name, whereis, whichChildren } from '../supervision/index.js';
import * as Accounts from '../src/chat/accounts.js';
import * as Messages from '../src/chat/messages.js';
import { migrate } from '../src/repo/migrations.js';
import * as Repo from '../src/repo/repo.js';
import { privatePostgres, type PrivatePostgres } from './support/pg.js';
import { eventually } from './support/probe.js';
import { startRepo } from './support/repo.js';

const TIMEOUT_MS = 1_500;
let pg: PrivatePostgres;
let repo: Awaited<ReturnType<typeof startRepo>>;

before(async () => {
  pg = await privatePostgres();
  const sql = postgres(pg.url, { max: 1, onnotice: () => {} });
  assert.ok((await migrate(sql, { log: pino({ level: 'silent' }) })).ok);
  await sql.end();
  repo = await startRepo(pg.url, { poolSize: 4, timeoutMs: TIMEOUT_MS });
});
after(async () => {
  await repo.stop();
  await pg.destroy();
});

async function storedCount(): Promise<number> {
  const sql = postgres(pg.url, { max: 1, onnotice: () => {} });
  try {
    return z.coerce.number().parse((await sql`SELECT count(*) AS n FROM messages`)[0]?.['n']);
  } finally {
    await sql.end();
  }
}

const repoPid = () => whereis(name('repo'));

describe('Repo when the database goes away', () => {
  it('answers db_unavailable within a bounded time, does not crash-loop, and recovers by itself', async () => {
    const author = await Accounts.signIn({ name: 'survivor', token: 'survivor-token-0123456789', mode: 'claim' });
    assert.ok(author.ok);
    assert.ok((await Messages.createMessage(author.value, { room: 'outage', body: 'before' })).ok);
    const pidBefore = repoPid();

    await pg.stop();
    const started = Date.now();
    const during = await Promise.all(
      Array.from({ length: 20 }, (_, i) => Messages.createMessage(author.value, { room: 'outage', body: `during ${i}` })),
    );
    const elapsed = Date.now() - started;
    for (const result of during) assert.deepEqual(result, { ok: false, error: { reason: 'db_unavailable' } });
    assert.ok(elapsed < TIMEOUT_MS + 2_000, `errors came back in ${elapsed} ms`);
    const reads = await Messages.recent('outage');
    assert.deepEqual(reads, { ok: false, error: { reason: 'db_unavailable' } });
    assert.equal(repoPid()?.id, pidBefore?.id, 'the Repo did not crash: same process');
    const children = await whichChildren(repo.sup);
    assert.ok(children.ok && children.value[0]?.restarts === 0);

    await pg.start();
    await eventually(async () => (await Messages.createMessage(author.value, { room: 'outage', body: 'after' })).ok, 15_000);
    const history = await Messages.recent('outage');
    assert.ok(history.ok);
    assert.equal(history.value[0]?.body, 'before');
    assert.equal(history.value.at(-1)?.body, 'after');
    assert.ok(history.value.every((m) => !m.body.startsWith('during')), 'nothing half-written from the outage');
    assert.equal(await storedCount(), history.value.length);
  });

  it('a killed Repo is restarted; callers in flight get an error at once, not a hang', async () => {
    const author = await Accounts.signIn({ name: 'inflight', token: 'inflight-token-0123456789', mode: 'claim' });
    assert.ok(author.ok);
    const pid = repoPid();
    assert.ok(pid);
    // Slow on purpose (the subject is callers in flight), not a wait.
    const slow = Promise.all(Array.from({ length: 5 }, () => Repo.run((sql) => sql`SELECT pg_sleep(1)`)));
    // Answered after the five runs before it in the Repo's mailbox: they are all in flight, running or queued.
    const inFlight = await Repo.stats();
    assert.ok(inFlight.ok && inFlight.value.running + inFlight.value.queued === 5, JSON.stringify(inFlight));
    const killedAt = Date.now();
    kill(pid);
    const results = await slow;
    assert.ok(Date.now() - killedAt < 500, 'in-flight callers answered at once');
    for (const result of results) {
      assert.ok(!result.ok && result.error.reason === "db_unavailable" && /exited/.test(result.error.detail), JSON.stringify(result));
    }
    await eventually(() => repoPid() !== undefined && repoPid()?.id !== pid.id);
    const afterRestart = await Messages.createMessage(author.value, { room: "outage", body: "after restart" });
    assert.ok(afterRestart.ok, JSON.stringify(afterRestart));
    const children = await whichChildren(repo.sup);
    assert.ok(children.ok && children.value[0]?.restarts === 1);
  });
});
