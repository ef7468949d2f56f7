import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startTestApp, type TestApp } from './support/app.js';
import { RoomMember, type Message } from './support/room-member.js';

/**
 * Finding old messages over the stock phoenix.js client: `search` (full text,
 * newest first, paged with before_id) and `load_around` (a message in its
 * context), on a real PostgreSQL.
 */

let app: TestApp;
const members: RoomMember[] = [];

before(async () => {
  app = await startTestApp({ env: { RATE_LIMIT_PER_SEC: '1000', RATE_LIMIT_BURST: '1000' } });
});
after(async () => {
  for (const member of members) member.leave();
  await app.stop();
});

const member = async (name: string, room: string) => {
  const joined = await RoomMember.join(app.wsUrl, name, room);
  members.push(joined);
  return joined;
};

const messagesOf = (response: Record<string, unknown>) => response['messages'] as Message[];

describe('search', () => {
  it('finds messages by word, newest first, in this room only, never deleted ones', async () => {
    const alice = await member('alice', 'garden');
    const elsewhere = await member('bob', 'kitchen');
    const ripe = await alice.say('The tomatoes are ripe');
    await alice.say('the cucumbers are not');
    const rotten = await alice.say('rotten tomatoes, sadly');
    const again = await alice.say('TOMATOES again!');
    await elsewhere.say('tomatoes for the sauce');
    assert.equal((await alice.push('delete_msg', { id: rotten })).status, 'ok');

    const found = await alice.push('search', { q: 'tomatoes' });
    assert.equal(found.status, 'ok');
    assert.deepEqual(
      messagesOf(found.response).map(({ id, user, body }) => ({ id, user, body })),
      [
        { id: again, user: 'alice', body: 'TOMATOES again!' },
        { id: ripe, user: 'alice', body: 'The tomatoes are ripe' },
      ],
    );
    for (const message of messagesOf(found.response)) assert.ok(!Number.isNaN(Date.parse(message.inserted_at)));

    // websearch syntax: a phrase, a word left out.
    assert.deepEqual(messagesOf((await alice.push('search', { q: '"tomatoes are ripe"' })).response).map((m) => m.id), [ripe]);
    assert.deepEqual(messagesOf((await alice.push('search', { q: 'tomatoes -again' })).response).map((m) => m.id), [ripe]);
    assert.deepEqual(await alice.push('search', { q: 'pumpkins' }), { status: 'ok', response: { messages: [] } }, 'no hit is an empty list');
    assert.deepEqual(messagesOf((await elsewhere.push('search', { q: 'tomatoes' })).response).map((m) => m.body), ['tomatoes for the sauce']);
  });

  it('pages back with before_id: 50 at a time, only older ids', async () => {
    const writer = await member('writer', 'pages');
    const ids: number[] = [];
    for (let i = 0; i < 60; i += 1) ids.push(await writer.say(i % 2 === 0 ? `page ${i}` : `other ${i}`));
    const hits = ids.filter((_, i) => i % 2 === 0);
    hits.push(await writer.say('page filler'));
    for (let i = 0; i < 25; i += 1) hits.push(await writer.say(`more page ${i}`));
    const newestFirst = [...hits].reverse(); // 56 hits

    const first = messagesOf((await writer.push('search', { q: 'page' })).response).map((m) => m.id);
    assert.deepEqual(first, newestFirst.slice(0, 50), 'a full page of the newest hits, newest first');
    const next = messagesOf((await writer.push('search', { q: 'page', before_id: first.at(-1) })).response).map((m) => m.id);
    assert.deepEqual(next, newestFirst.slice(50), 'the rest, all older than before_id');
    assert.deepEqual(await writer.push('search', { q: 'page', before_id: ids[0] }), { status: 'ok', response: { messages: [] } });
    assert.deepEqual(messagesOf((await writer.push('search', { q: 'page', before_id: null })).response).map((m) => m.id), first, 'null: from the newest');
  });

  it('refuses a bad query or before_id with invalid_params naming the field', async () => {
    const carol = await member('carol', 'strict');
    await carol.say('something to find');
    const refusal = async (payload: Record<string, unknown>) => {
      const reply = await carol.push('search', payload);
      assert.equal(reply.status, 'error', JSON.stringify(payload));
      assert.equal(reply.response['reason'], 'invalid_params');
      return reply.response['errors'] as Record<string, string>;
    };
    assert.deepEqual(await refusal({ q: '' }), { q: 'must not be empty' });
    assert.deepEqual(await refusal({ q: '   ' }), { q: 'must not be empty' });
    assert.deepEqual(await refusal({ q: 'x'.repeat(201) }), { q: 'is too long' });
    assert.deepEqual(await refusal({ q: 42 }), { q: 'must be a string' });
    assert.deepEqual(await refusal({}), { q: 'must be a string' });
    assert.deepEqual(await refusal({ q: '!!! ... ???' }), { q: 'must contain a word to search for' });
    assert.deepEqual(await refusal({ q: 'nul\u0000byte' }), { q: 'must not contain NUL characters' });
    assert.deepEqual(await refusal({ q: 'something', before_id: 'abc' }), { before_id: 'must be a number' });
    assert.deepEqual(await refusal({ q: 'something', before_id: -1 }), { before_id: 'must be positive' });
    assert.deepEqual(await refusal({ q: 'something', before_id: 1.5 }), { before_id: 'must be an integer' });
    // 200 characters is the limit, not past it; the channel is still fine after all that.
    assert.equal((await carol.push('search', { q: `something ${'y'.repeat(190)}` })).status, 'ok');
    assert.equal(messagesOf((await carol.push('search', { q: 'something' })).response).length, 1);
  });
});

describe('load_around', () => {
  it('returns a message with up to 25 before and 25 after it, oldest first, skipping deleted ones', async () => {
    const dan = await member('dan', 'context');
    const other = await member('olga', 'elsewhere');
    const ids: number[] = [];
    for (let i = 0; i < 60; i += 1) ids.push(await dan.say(`line ${i}`));
    // A message of another room in the middle of this one's ids: not part of its context.
    const foreign = await other.say('not in context');
    for (let i = 60; i < 70; i += 1) ids.push(await dan.say(`line ${i}`));
    const target = ids[30] as number;

    const around = await dan.push('load_around', { id: target });
    assert.equal(around.status, 'ok');
    const got = messagesOf(around.response);
    assert.deepEqual(got.map((m) => m.id), ids.slice(5, 56), '25 before, the message, 25 after');
    assert.equal(got[25]?.body, 'line 30');
    assert.ok(!got.some((m) => m.id === foreign));

    // Near the start there is less before it; deleted neighbours are left out, and the window still holds 25.
    assert.equal((await dan.push('delete_msg', { id: ids[4] })).status, 'ok');
    const early = messagesOf((await dan.push('load_around', { id: ids[2] })).response).map((m) => m.id);
    assert.deepEqual(early, [ids[0], ids[1], ids[2], ...ids.slice(3, 4), ...ids.slice(5, 29)]);
    // Near the end, less after it; the foreign message between is skipped.
    const late = messagesOf((await dan.push('load_around', { id: ids[68] })).response).map((m) => m.id);
    assert.deepEqual(late, [...ids.slice(43, 69), ids[69]]);
  });

  it('not_found for an unknown id, a deleted message, or another room’s; invalid_params for a bad id', async () => {
    const eve = await member('eve', 'lost');
    const stranger = await member('fred', 'other-room');
    const kept = await eve.say('kept');
    const gone = await eve.say('gone');
    const theirs = await stranger.say('theirs');
    assert.equal((await eve.push('delete_msg', { id: gone })).status, 'ok');
    assert.equal((await eve.push('load_around', { id: kept })).status, 'ok');
    for (const id of [gone, theirs, 987_654_321]) {
      assert.deepEqual(await eve.push('load_around', { id }), { status: 'error', response: { reason: 'not_found' } }, `id ${id}`);
    }
    for (const [id, message] of [
      ['7', 'must be a number'],
      [0, 'must be positive'],
      [2.5, 'must be an integer'],
      [undefined, 'must be a number'],
    ] as const) {
      assert.deepEqual(await eve.push('load_around', id === undefined ? {} : { id }), {
        status: 'error',
        response: { reason: 'invalid_params', errors: { id: message } },
      });
    }
  });
});
