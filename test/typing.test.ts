import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { z } from 'zod';
import { TYPING_INTERVAL_MS } from '../src/chat/typing.js';
import { startTestApp, type TestApp } from './support/app.js';
import { freshDatabase, type TestDatabase } from './support/db.js';
import { sleep } from './support/probe.js';
import { RoomMember } from './support/room-member.js';
import { startServerProcess, type ServerProcess } from './support/server-process.js';

/**
 * "alice is typing": `typing {}` on a room channel reaches the room's other
 * members as `typing { user }`, never the socket that sent it, at most once per
 * 2 s per channel, stored nowhere; across nodes too (CLUSTER=1).
 *
 * That something did NOT arrive is seen without waiting: a member sends a
 * message after the typing, and frames reach each socket in the order they
 * were dispatched, so a typing that was going to come has come before it.
 */

const typings = (member: RoomMember) => member.of('typing').map((seen) => seen.payload);

describe('typing, on one node', () => {
  let app: TestApp;
  const members: RoomMember[] = [];
  const member = async (name: string, room: string, token?: string) => {
    const joined = await RoomMember.join(app.wsUrl, name, room, token);
    members.push(joined);
    return joined;
  };

  before(async () => {
    // A small frame budget, so that typing is seen to count against it like any push.
    app = await startTestApp({ env: { RATE_LIMIT_PER_SEC: '5', RATE_LIMIT_BURST: '20' } });
  });
  after(async () => {
    for (const joined of members) joined.leave();
    await app.stop();
  });

  it('reaches the other members, not the sender; a second one within 2 s is dropped, yet answered ok', async () => {
    const alice = await member('alice', 'typing');
    const bob = await member('bob', 'typing');
    const carol = await member('carol', 'typing');
    assert.deepEqual(await alice.push('typing', {}), { status: 'ok', response: {} });
    await bob.until('alice typing', (seen) => seen.event === 'typing');
    await carol.until('alice typing', (seen) => seen.event === 'typing');
    assert.deepEqual(await alice.push('typing', {}), { status: 'ok', response: {} }, 'a dropped typing is answered as any other');

    const marker = await alice.say('done typing');
    for (const who of [alice, bob, carol]) await who.untilMessage(marker);
    assert.deepEqual(typings(bob), [{ user: 'alice' }], 'one typing, the second dropped');
    assert.deepEqual(typings(carol), [{ user: 'alice' }]);
    assert.deepEqual(typings(alice), [], 'never the sender');
    // One person's throttle is not another's.
    assert.deepEqual(await bob.push('typing', {}), { status: 'ok', response: {} });
    await alice.until('bob typing', (seen) => seen.event === 'typing' && seen.payload['user'] === 'bob');

    // Time itself is under test: once 2 s have passed, alice's next typing goes out again.
    await sleep(TYPING_INTERVAL_MS);
    await alice.push('typing', {});
    await bob.changes.until(() => typings(bob).length === 2, 'bob seeing alice type again');
  });

  it('is stored nowhere: a later join gets the messages only', async () => {
    const dora = await member('dora', 'unstored');
    const ed = await member('ed', 'unstored');
    await dora.push('typing', {});
    await ed.until('dora typing', (seen) => seen.event === 'typing');
    const id = await dora.say('the only message');
    await ed.untilMessage(id);
    const late = await member('late', 'unstored');
    assert.deepEqual(typings(late), []);
    const history = await late.push('search', { q: 'typing' });
    assert.deepEqual(history, { status: 'ok', response: { messages: [] } });
    const rows = await app.db.sql`SELECT count(*)::int AS n FROM messages WHERE room = 'unstored'`;
    assert.equal(z.object({ n: z.number() }).parse(rows[0]).n, 1, 'one row: the message');
  });

  it('the sender’s other tabs are other sockets: they are told (the browser skips its own name)', async () => {
    const tab1 = await member('fay', 'tabs', 'fay-shared-token-xxxxxx');
    const tab2 = await member('fay', 'tabs', 'fay-shared-token-xxxxxx');
    await tab1.push('typing', {});
    await tab2.until('fay typing', (seen) => seen.event === 'typing');
    const id = await tab1.say('marker');
    await tab1.untilMessage(id);
    assert.deepEqual(typings(tab1), []);
  });

  it('counts against the socket’s frame budget like any push: past it, rate_limited', async () => {
    const gil = await member('gil', 'budget');
    const hal = await member('hal', 'budget');
    const replies = await Promise.all(Array.from({ length: 40 }, () => gil.push('typing', {})));
    const limited = replies.filter((reply) => reply.status === 'error' && reply.response['reason'] === 'rate_limited').length;
    const admitted = replies.filter((reply) => reply.status === 'ok').length;
    assert.equal(limited + admitted, 40);
    assert.ok(limited >= 15, `${limited} of 40 refused by a budget of 20 (the join took one)`);
    const id = await hal.say('after the burst');
    await hal.untilMessage(id);
    assert.deepEqual(typings(hal), [{ user: 'gil' }], 'and of those admitted, one went out');
  });
});

describe('typing in a large room', () => {
  let app: TestApp;
  const members: RoomMember[] = [];

  before(async () => {
    app = await startTestApp({ env: { PRESENCE_FULL_LIMIT: '2' } });
  });
  after(async () => {
    for (const joined of members) joined.leave();
    await app.stop();
  });

  it('is told to nobody past PRESENCE_FULL_LIMIT (it lists nobody either), and answered ok', async () => {
    for (const name of ['ivy', 'jon', 'kim']) members.push(await RoomMember.join(app.wsUrl, name, 'crowd'));
    const [ivy, jon, kim] = members as [RoomMember, RoomMember, RoomMember];
    await ivy.until('the room turn large', (seen) => seen.event === 'presence_summary');
    assert.deepEqual(await jon.push('typing', {}), { status: 'ok', response: {} });
    const id = await jon.say('typed in a crowd');
    for (const who of [ivy, kim]) await who.untilMessage(id);
    assert.deepEqual(typings(ivy), []);
    assert.deepEqual(typings(kim), []);
  });
});

describe('typing across two nodes (CLUSTER=1)', { timeout: 120_000 }, () => {
  let db: TestDatabase;
  const nodes: ServerProcess[] = [];
  const members: RoomMember[] = [];
  const member = async (node: ServerProcess, name: string) => {
    const joined = await RoomMember.join(`${node.url.replace('http', 'ws')}/socket`, name, 'everywhere');
    members.push(joined);
    return joined;
  };

  before(async () => {
    db = await freshDatabase({ migrated: true });
    for (const name of ['node-a', 'node-b']) nodes.push(await startServerProcess({ CLUSTER: '1', NODE_NAME: name, DATABASE_URL: db.url }));
  });
  after(async () => {
    for (const joined of members) joined.leave();
    for (const node of nodes) await node.stop();
    await db?.drop();
  });

  it('reaches members on both nodes, not the sender', async () => {
    const [a, b] = nodes as [ServerProcess, ServerProcess];
    const alice = await member(a, 'alice');
    const carol = await member(a, 'carol');
    const bob = await member(b, 'bob');
    await alice.push('typing', {});
    await bob.until('alice typing on the other node', (seen) => seen.event === 'typing' && seen.payload['user'] === 'alice');
    await carol.until('alice typing on the same node', (seen) => seen.event === 'typing' && seen.payload['user'] === 'alice');
    await bob.push('typing', {});
    await alice.until('bob typing on the other node', (seen) => seen.event === 'typing' && seen.payload['user'] === 'bob');
    await carol.until('bob typing', (seen) => seen.event === 'typing' && seen.payload['user'] === 'bob');

    const fromAlice = await alice.say('marker a');
    const fromBob = await bob.say('marker b');
    for (const who of [alice, bob, carol]) {
      await who.untilMessage(fromAlice);
      await who.untilMessage(fromBob);
    }
    assert.deepEqual(typings(alice), [{ user: 'bob' }]);
    assert.deepEqual(typings(bob), [{ user: 'alice' }]);
    assert.deepEqual(typings(carol), [{ user: 'alice' }, { user: 'bob' }]);
  });
});
