import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { z } from 'zod';
import * as Accounts from '../src/chat/accounts.js';
import * as Messages from '../src/chat/messages.js';
import { freshDatabase, type TestDatabase } from './support/db.js';
import { startRepo } from './support/repo.js';

/**
 * The Repo as CLUSTER=1 runs it: what a batch stored is NOTIFYed inside the
 * transaction that stores it. A LISTEN connection here stands for the nodes.
 */
const CHANNEL = 'test_commits';
const MARKER = 'marker';

let db: TestDatabase;
let repo: Awaited<ReturnType<typeof startRepo>>;
const heard: string[] = [];
let onHeard = (): void => {};

before(async () => {
  db = await freshDatabase();
  await db.sql.listen(CHANNEL, (payload) => {
    heard.push(payload);
    onHeard();
  });
  repo = await startRepo(db.url, { poolSize: 6, notifyInCommit: { channel: CHANNEL, payloads: (rows) => rows.map((row) => `${row.room} ${row.id}`) } });
});
after(async () => {
  await repo.stop();
  await db.drop();
});

/** Everything NOTIFYed before this call: a marker sent after it comes back after them (PostgreSQL keeps commit order). */
async function heardSoFar(): Promise<string[]> {
  const seen = new Promise<void>((resolve) => {
    onHeard = () => {
      if (heard.at(-1) === MARKER) resolve();
    };
  });
  await db.sql.notify(CHANNEL, MARKER);
  await seen;
  return heard.splice(0).filter((payload) => payload !== MARKER);
}

describe('Repo with NOTIFY in commit (CLUSTER=1)', () => {
  it('a row the database refuses fails alone; the rest of its batch is stored and notified once each, in id order', async () => {
    const signedIn = await Accounts.signIn({ name: 'notifier', token: `token-notifier-${'x'.repeat(16)}`, mode: 'claim' });
    assert.ok(signedIn.ok);
    const author = signedIn.value;
    const ghost: Accounts.User = { id: '00000000-0000-4000-8000-000000000000', name: 'ghost', credential: author.credential, ownsName: true };
    await heardSoFar();
    const results = await Promise.all([
      Messages.createMessage(author, { room: 'mixed', body: 'one' }),
      Messages.createMessage(ghost, { room: 'mixed', body: 'from nobody' }),
      Messages.createMessage(author, { room: 'mixed', body: 'two' }),
      Messages.createMessage(author, { room: 'other', body: 'three' }),
    ]);
    assert.ok(!results[1]?.ok && results[1]?.error.reason === 'invalid_params', JSON.stringify(results[1]));
    const stored = [results[0], results[2], results[3]].map((result) => {
      assert.ok(result?.ok, JSON.stringify(result));
      return result.value;
    });
    const notified = await heardSoFar();
    assert.deepEqual(
      notified,
      stored.sort((a, b) => a.id - b.id).map((message) => `${message.room} ${message.id}`),
      'each stored row notified once, in id order; nothing for the refused one',
    );
    const rows = await db.sql`SELECT count(*) AS n FROM messages WHERE room IN ('mixed', 'other')`;
    assert.equal(z.coerce.number().parse(rows[0]?.['n']), 3);
  });

  it('1,000 concurrent creates: each notified once, in id order within each room', async () => {
    const signedIn = await Accounts.signIn({ name: 'crowd', token: `token-crowd-${'x'.repeat(16)}`, mode: 'claim' });
    assert.ok(signedIn.ok);
    const author = signedIn.value;
    await heardSoFar();
    const results = await Promise.all(
      Array.from({ length: 1_000 }, (_, i) => Messages.createMessage(author, { room: `crowd-${i % 7}`, body: `message ${i}` })),
    );
    assert.ok(results.every((result) => result.ok));
    const notified = (await heardSoFar()).map((payload) => payload.split(' '));
    assert.equal(notified.length, 1_000);
    assert.equal(new Set(notified.map(([, id]) => id)).size, 1_000, 'no row notified twice');
    const last = new Map<string, number>();
    for (const [room = '', id = ''] of notified) {
      assert.ok(Number(id) > (last.get(room) ?? 0), `room ${room}: id ${id} after ${String(last.get(room))}`);
      last.set(room, Number(id));
    }
  });
});
