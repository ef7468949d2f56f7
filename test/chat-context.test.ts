import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { z } from 'zod';
import * as Accounts from '../src/chat/accounts.js';
import * as Messages from '../src/chat/messages.js';
import type { ChatMessage } from '../src/chat/messages.js';
import * as Repo from '../src/repo/repo.js';
import { freshDatabase, type TestDatabase } from './support/db.js';
import { startRepo } from './support/repo.js';

let db: TestDatabase;
let repo: Awaited<ReturnType<typeof startRepo>>;
/** What the Repo's sink was told, in order: what the application announces. */
const announced: Array<{ id: number; room: string; user_name: string }> = [];

before(async () => {
  db = await freshDatabase();
  repo = await startRepo(db.url, { poolSize: 6, onCommitted: (rows) => announced.push(...rows) });
});
after(async () => {
  await repo.stop();
  await db.drop();
});

const count = async (table: 'users' | 'messages'): Promise<number> =>
  z.coerce.number().parse((await db.sql.unsafe(`SELECT count(*) AS n FROM ${table}`))[0]?.['n']);

/** A browser's sign-in: its own token unless one is given (the same token is the same browser). */
const signIn = (name: unknown, token = `token-${name}-${'x'.repeat(16)}`) => Accounts.signIn({ name, token, mode: 'claim' });

async function user(name: string): Promise<Accounts.User> {
  const created = await signIn(name);
  assert.ok(created.ok, `user ${name} created`);
  return created.value;
}

async function post(author: Accounts.User, room: string, body: string): Promise<ChatMessage> {
  const created = await Messages.createMessage(author, { room, body });
  assert.ok(created.ok, `message stored: ${JSON.stringify(created)}`);
  return created.value;
}

describe('accounts', () => {
  it('gets or creates a user by name, one user whatever the case', async () => {
    const first = await user('Alice');
    const again = await signIn('alice', `token-Alice-${'x'.repeat(16)}`);
    assert.ok(again.ok);
    assert.equal(again.value.id, first.id);
    assert.equal(again.value.name, 'Alice', 'the name keeps the case it was created with');
    const listed = await Accounts.listUsers();
    assert.ok(listed.ok && listed.value.users.filter((u) => u.name.toLowerCase() === 'alice').length === 1);
  });

  it('many first joins of one new name at once, from one browser: every caller gets the same one user', async () => {
    const results = await Promise.all(Array.from({ length: 20 }, (_, i) => signIn(i % 2 === 0 ? 'Racer' : 'racer', 'one-browser-token-racer')));
    const ids = new Set(results.map((result) => (result.ok ? result.value.id : `error ${JSON.stringify(result)}`)));
    assert.equal(ids.size, 1, `one user for all: ${[...ids].join(', ')}`);
    const rows = await db.sql`SELECT name FROM users WHERE lower(name) = 'racer'`;
    assert.equal(rows.length, 1);
  });

  it('refuses bad names with a reason per field and stores nothing', async () => {
    const before = await count('users');
    for (const bad of ['', '   ', 'a'.repeat(31), 'has space', 'émile', '<b>', 42, null]) {
      const result = await signIn(bad);
      assert.ok(!result.ok && result.error.reason === 'invalid_params', `refused ${JSON.stringify(bad)}`);
      assert.ok(!result.ok && result.error.reason === 'invalid_params' && typeof result.error.errors['params'] === 'string');
    }
    assert.equal(await count('users'), before);
    assert.ok((await signIn('a'.repeat(30))).ok, '30 characters is fine');
    assert.ok((await signIn('x_y-z.1')).ok, 'letters, digits and _ - . are fine');
  });
});

describe('messages', () => {
  it('refuses invalid messages with a clear reason and stores nothing', async () => {
    const author = await user('validator');
    const before = await count('messages');
    const cases: Array<[unknown, unknown, string]> = [
      ['lobby', '', 'body'],
      ['lobby', '   \n ', 'body'],
      ['lobby', 'x'.repeat(501), 'body'],
      ['lobby', 17, 'body'],
      ['lobby', 'a\u0000b', 'body'],
      ['Lobby', 'hi', 'room'],
      ['r'.repeat(33), 'hi', 'room'],
      ['a room', 'hi', 'room'],
    ];
    for (const [room, body, field] of cases) {
      const result = await Messages.createMessage(author, { room, body });
      assert.ok(!result.ok && result.error.reason === 'invalid_params', `refused ${JSON.stringify([room, body])}`);
      assert.ok(!result.ok && result.error.reason === 'invalid_params' && field in result.error.errors, `names ${field}`);
    }
    assert.equal(await count('messages'), before);
    const emoji = '😀'.repeat(500);
    assert.equal((await post(author, 'lobby', emoji)).body, emoji, '500 characters (not bytes) is the limit');
  });

  it('stores 1,000 concurrent creates exactly once, each caller getting its own row, announced in id order', async () => {
    const author = await user('storm');
    const before = await count('messages');
    const statsBefore = await Repo.stats();
    const bodies = Array.from({ length: 1_000 }, (_, i) => `storm message ${i}`);
    const results = await Promise.all(bodies.map((body) => Messages.createMessage(author, { room: 'storm', body })));
    const committed = announced.filter((row) => row.room === 'storm').map((row) => row.id);
    const rows = results.map((result) => {
      assert.ok(result.ok);
      return result.value;
    });
    rows.forEach((row, i) => assert.equal(row.body, bodies[i], 'each caller gets the row it asked for'));
    assert.equal(new Set(rows.map((row) => row.id)).size, 1_000);
    assert.equal(await count('messages'), before + 1_000);
    assert.equal(committed.length, 1_000);
    assert.ok(announced.every((row) => row.room !== 'storm' || row.user_name === 'storm'), 'each announced with its author');
    assert.ok(committed.every((id, i) => i === 0 || id > (committed[i - 1] ?? 0)), 'announced in id order');
    const statsAfter = await Repo.stats();
    assert.ok(statsBefore.ok && statsAfter.ok);
    const batches = statsAfter.value.batches - statsBefore.value.batches;
    assert.ok(batches < 100, `group commit wrote 1,000 rows in ${batches} statements`);
  });

  it('a row the database refuses fails alone; the rest of its batch is stored', async () => {
    const author = await user('batchmate');
    const ghost: Accounts.User = { id: '00000000-0000-4000-8000-000000000000', name: 'ghost', credential: author.credential, ownsName: true };
    const before = await count('messages');
    const results = await Promise.all([
      Messages.createMessage(author, { room: 'mixed', body: 'one' }),
      Messages.createMessage(ghost, { room: 'mixed', body: 'from nobody' }),
      Messages.createMessage(author, { room: 'mixed', body: 'two' }),
    ]);
    assert.ok(results[0]?.ok && results[2]?.ok);
    assert.ok(!results[1]?.ok && results[1]?.error.reason === 'invalid_params');
    assert.equal(await count('messages'), before + 2);
  });

  it('reads history: recent, catch-up since an id, paging back before an id', async () => {
    const author = await user('historian');
    const posted: ChatMessage[] = [];
    for (let i = 0; i < 120; i += 1) posted.push(await post(author, 'history', `m${i}`));
    const ids = posted.map((m) => m.id);

    const recent = await Messages.recent('history', 50);
    assert.ok(recent.ok);
    assert.deepEqual(recent.value.map((m) => m.id), ids.slice(70));
    assert.equal(recent.value[0]?.user, 'historian');

    const since = await Messages.since('history', ids[99]);
    assert.ok(since.ok);
    assert.deepEqual(since.value.map((m) => m.body), posted.slice(100).map((m) => m.body));

    const seen: number[] = [];
    let cursor = ids[70];
    for (;;) {
      const page = await Messages.before('history', cursor);
      assert.ok(page.ok);
      if (page.value.length === 0) break;
      assert.ok(page.value.length <= Messages.PAGE_LIMIT);
      seen.unshift(...page.value.map((m) => m.id));
      cursor = page.value[0]?.id;
    }
    assert.deepEqual(seen, ids.slice(0, 70), 'paging back returns every older message exactly once');

    const other = await Messages.recent('other-room');
    assert.ok(other.ok && other.value.length === 0, 'rooms do not leak into each other');
    assert.ok(!(await Messages.since('history', -1)).ok);
    assert.ok(!(await Messages.before('history', 'x')).ok);
  });

  it('deletes a message for its author only', async () => {
    const author = await user('author');
    const stranger = await user('stranger');
    const message = await post(author, 'deletions', 'regrettable');
    assert.deepEqual(await Messages.deleteMessage(stranger, message.id), { ok: false, error: { reason: 'forbidden' } });
    assert.deepEqual(await Messages.deleteMessage(author, message.id), { ok: true, value: { id: message.id, room: 'deletions' } });
    assert.deepEqual(await Messages.deleteMessage(author, message.id), { ok: false, error: { reason: 'not_found' } });
    assert.deepEqual(await Messages.deleteMessage(author, 987_654_321), { ok: false, error: { reason: 'not_found' } });
    const left = await Messages.recent('deletions');
    assert.ok(left.ok && left.value.length === 0, 'a deleted message is no longer listed');
  });

  it('searches message text, in one room or everywhere, leaving deleted ones out', async () => {
    const author = await user('searcher');
    await post(author, 'garden', 'the tomatoes are ripe');
    await post(author, 'kitchen', 'tomatoes for the sauce');
    const gone = await post(author, 'garden', 'rotten tomatoes');
    await Messages.deleteMessage(author, gone.id);
    const everywhere = await Messages.search('tomatoes');
    assert.ok(everywhere.ok);
    assert.deepEqual(everywhere.value.map((m) => m.body).sort(), ['the tomatoes are ripe', 'tomatoes for the sauce']);
    const garden = await Messages.search('tomatoes', { room: 'garden' });
    assert.ok(garden.ok && garden.value.length === 1 && garden.value[0]?.body === 'the tomatoes are ripe');
    const none = await Messages.search('cucumbers');
    assert.ok(none.ok && none.value.length === 0);
    assert.ok(!(await Messages.search('')).ok);
  });
});
