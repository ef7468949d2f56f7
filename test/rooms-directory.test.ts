import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Channel, Socket } from 'phoenix';
import { z } from 'zod';
import { startTestApp, type TestApp } from './support/app.js';
import { freshDatabase, type TestDatabase } from './support/db.js';
import { connect, join, push } from './support/phoenix-client.js';
import { Changes } from './support/probe.js';
import { startServerProcess, type ServerProcess } from './support/server-process.js';

/**
 * The rooms directory on the landing page's channel (users:lobby), over the
 * stock phoenix.js client: the join lists rooms with how many are online and
 * when they last had a message (also from before the node started), and
 * `rooms_diff` keeps it live, batched; across two nodes too.
 */

// Joins and sockets are many and quick here; the limits are not what is tested.
const ENV = { JOIN_RATE_PER_SEC: '1000', JOIN_BURST: '1000', RATE_LIMIT_PER_SEC: '1000', RATE_LIMIT_BURST: '1000', MAX_SOCKETS_PER_IP: '0' };

// The protocol's shapes (README, users:lobby), checked on every frame the tests read.
const roomJson = z.strictObject({ online: z.number().int().nonnegative(), last_active_at: z.iso.datetime().nullable() });
const joinReply = z.object({ rooms: z.array(roomJson.extend({ name: z.string() })) });
const roomsDiff = z.strictObject({ rooms: z.record(z.string(), roomJson.nullable()) });
type RoomJson = z.infer<typeof roomJson>;
type Listed = z.infer<typeof joinReply>['rooms'][number];

const BATCH_MS = 150;

const token = (name: string) => `${name}-token-`.padEnd(24, 'x');

/** A landing page: the join's `rooms`, then every `rooms_diff` applied by value (those before the reply held until it, as the page does). */
class Lobby {
  readonly socket: Socket;
  readonly channel: Channel;
  readonly rooms = new Map<string, RoomJson>();
  readonly diffs: Array<Record<string, RoomJson | null>> = [];
  joinedRooms: Listed[] = [];
  private held: Array<Record<string, RoomJson | null>> | undefined = [];
  private readonly changes = new Changes();

  constructor(wsUrl: string) {
    this.socket = connect(wsUrl);
    this.channel = this.socket.channel('users:lobby', {});
    this.channel.on('rooms_diff', (payload: Record<string, unknown>) => {
      const { rooms } = roomsDiff.parse(payload);
      this.diffs.push(rooms);
      if (this.held === undefined) this.apply(rooms);
      else this.held.push(rooms);
      this.changes.changed();
    });
  }

  async join(): Promise<this> {
    // In the reply's own callback: a diff right behind it on the socket may be handled before `await join` resumes.
    this.channel.joinPush.receive('ok', (response: Record<string, unknown>) => {
      const { rooms } = joinReply.parse(response);
      this.joinedRooms = rooms;
      this.rooms.clear();
      for (const { name, ...room } of rooms) this.rooms.set(name, room);
      for (const diff of this.held ?? []) this.apply(diff);
      this.held = undefined;
      this.changes.changed();
    });
    const joined = await join(this.channel);
    assert.equal(joined.status, 'ok', JSON.stringify(joined.response));
    return this;
  }

  /** Diffs that mention `room`. */
  diffsOf(room: string): number {
    return this.diffs.filter((diff) => Object.hasOwn(diff, room)).length;
  }

  until(condition: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
    return this.changes.until(condition, what, timeoutMs);
  }

  online(room: string): number | undefined {
    return this.rooms.get(room)?.online;
  }

  private apply(diff: Record<string, RoomJson | null>): void {
    for (const [name, room] of Object.entries(diff)) {
      if (room === null) this.rooms.delete(name);
      else this.rooms.set(name, room);
    }
  }
}

/** A member of a room over phoenix.js. */
async function enter(wsUrl: string, room: string, name: string, sockets: Socket[]): Promise<{ socket: Socket; channel: Channel }> {
  const socket = connect(wsUrl);
  sockets.push(socket);
  const channel = socket.channel(`room:${room}`, { username: name, token: token(name) });
  const joined = await join(channel);
  assert.equal(joined.status, 'ok', JSON.stringify(joined.response));
  return { socket, channel };
}

async function lobby(app: TestApp, sockets: Socket[]): Promise<Lobby> {
  const page = new Lobby(app.wsUrl);
  sockets.push(page.socket);
  return page.join();
}

/** Messages written before the server starts: its directory must learn of them from the database. */
async function seed(db: TestDatabase, rooms: ReadonlyArray<{ room: string; at: string }>): Promise<void> {
  const [user] = await db.sql<Array<{ id: string }>>`INSERT INTO users (name) VALUES ('old_timer') RETURNING id`;
  assert.ok(user);
  for (const { room, at } of rooms) {
    await db.sql`INSERT INTO messages (room, user_id, body, inserted_at) VALUES (${room}, ${user.id}, 'earlier', ${at}::timestamptz - interval '1 hour')`;
    await db.sql`INSERT INTO messages (room, user_id, body, inserted_at) VALUES (${room}, ${user.id}, 'latest', ${at})`;
  }
}

describe('rooms directory on users:lobby', { timeout: 120_000 }, () => {
  let db: TestDatabase;
  let app: TestApp;
  const sockets: Socket[] = [];

  before(async () => {
    db = await freshDatabase({ migrated: true });
    await seed(db, [
      { room: 'history', at: '2026-01-05T10:00:00.000Z' },
      { room: 'older', at: '2026-01-01T08:30:00.000Z' },
      { room: 'newest', at: '2026-02-01T12:00:00.000Z' },
    ]);
    // A longer batch than the default, so that "one diff per batch" is plainly fewer than the joins.
    app = await startTestApp({ databaseUrl: db.url, env: { ...ENV, PRESENCE_BATCH_MS: String(BATCH_MS) } });
  });
  after(async () => {
    for (const socket of sockets) socket.disconnect();
    await app?.stop();
    await db?.drop();
  });

  it('the join lists the rooms the database knows, newest activity first, nobody online yet', async () => {
    const page = await lobby(app, sockets);
    // The seed is read once at start; a join that came before it gets it as a diff.
    await page.until(() => page.rooms.size === 3, 'the three rooms of the database');
    assert.deepEqual(Object.fromEntries(page.rooms), {
      newest: { online: 0, last_active_at: '2026-02-01T12:00:00.000Z' },
      history: { online: 0, last_active_at: '2026-01-05T10:00:00.000Z' },
      older: { online: 0, last_active_at: '2026-01-01T08:30:00.000Z' },
    });
    const late = await lobby(app, sockets);
    assert.deepEqual(late.joinedRooms.map((room) => room.name), ['newest', 'history', 'older'], 'a join after the seed has them in its reply, in order');
  });

  it('joins and leaves in a room arrive as rooms_diff with its count, batched: many quick joins, few diffs', async (t) => {
    const page = await lobby(app, sockets);
    const N = 24;
    const started = Date.now();
    const members = await Promise.all(Array.from({ length: N }, (_, i) => enter(app.wsUrl, 'busy', `joiner${i}`, sockets)));
    await page.until(() => page.online('busy') === N, `busy at ${N} online`);
    const elapsed = Date.now() - started;
    const diffs = page.diffsOf('busy');
    t.diagnostic(`${diffs} rooms_diff for ${N} joins in ${elapsed} ms`);
    // At most one per batch, however the joins fell: a slow machine spreads them over more batches, never more diffs than that.
    assert.ok(diffs <= Math.ceil(elapsed / BATCH_MS) + 1, `${diffs} diffs in ${elapsed} ms`);
    assert.ok(diffs < N / 2, `${diffs} diffs for ${N} joins`);
    // A room the lobby has been told of lists first: the most people online.
    assert.equal(page.rooms.get('busy')?.last_active_at, null, 'no message in it yet');
    const joinedLate = await lobby(app, sockets);
    assert.equal(joinedLate.joinedRooms[0]?.name, 'busy');
    assert.equal(joinedLate.joinedRooms[0]?.online, N);

    for (const member of members.slice(0, 10)) member.channel.leave();
    await page.until(() => page.online('busy') === N - 10, 'ten left');
    for (const member of members.slice(10)) member.socket.disconnect();
    await page.until(() => page.online('busy') === undefined, 'everyone left');
    // Nobody there and no message ever: it is no room to list.
    assert.equal(page.diffs.at(-1)?.['busy'], null);
  });

  it('a message updates the room’s last activity; a room that empties stays listed with 0 online', async () => {
    const page = await lobby(app, sockets);
    const ann = await enter(app.wsUrl, 'talk', 'ann', sockets);
    await page.until(() => page.online('talk') === 1, 'ann in talk');
    const sentAt = Date.now();
    const sent = await push(ann.channel, 'new_msg', { body: 'hello, directory' });
    assert.equal(sent.status, 'ok');
    await page.until(() => page.rooms.get('talk')?.last_active_at != null, 'talk active');
    const at = Date.parse(page.rooms.get('talk')?.last_active_at ?? '');
    assert.ok(at >= sentAt - 1_000 && at <= Date.now(), `active at ${new Date(at).toISOString()}, sent at ${new Date(sentAt).toISOString()}`);

    // In history too: a message there moves it ahead of the other empty rooms.
    const bob = await enter(app.wsUrl, 'older', 'bob', sockets);
    assert.equal((await push(bob.channel, 'new_msg', { body: 'reviving it' })).status, 'ok');
    await page.until(() => Date.parse(page.rooms.get('older')?.last_active_at ?? '') >= sentAt, 'older active now');
    bob.socket.disconnect();
    ann.socket.disconnect();
    await page.until(() => page.online('talk') === 0 && page.online('older') === 0, 'both empty');
    assert.ok(page.rooms.get('talk')?.last_active_at != null, 'still listed, with its last activity');

    const next = await lobby(app, sockets);
    // Both empty now: the most recently active first.
    assert.deepEqual(next.joinedRooms.slice(0, 2).map((room) => room.name), ['older', 'talk']);
  });
});

describe('rooms directory with the lobby past PRESENCE_FULL_LIMIT', { timeout: 120_000 }, () => {
  let app: TestApp;
  const sockets: Socket[] = [];

  before(async () => {
    app = await startTestApp({ env: { ...ENV, PRESENCE_FULL_LIMIT: '3' } });
  });
  after(async () => {
    for (const socket of sockets) socket.disconnect();
    await app?.stop();
  });

  it('a landing page given a count instead of everyone still gets every room counted, large rooms too', async () => {
    const page = new Lobby(app.wsUrl);
    sockets.push(page.socket);
    let lobbySummary: unknown;
    page.channel.on('presence_summary', (payload: Record<string, unknown>) => {
      lobbySummary = payload;
    });
    await page.join();
    for (let i = 0; i < 5; i++) await enter(app.wsUrl, 'crowd', `crowd${i}`, sockets);
    await enter(app.wsUrl, 'corner', 'solo', sockets);
    await page.until(() => page.online('crowd') === 5 && page.online('corner') === 1, 'both rooms counted');
    const late = await lobby(app, sockets);
    assert.deepEqual(late.joinedRooms, [
      { name: 'crowd', online: 5, last_active_at: null },
      { name: 'corner', online: 1, last_active_at: null },
    ]);
    assert.ok(lobbySummary !== undefined, 'the lobby itself is in summary mode (6 online, limit 3)');
  });
});

describe('rooms directory across two nodes (CLUSTER=1)', { timeout: 120_000 }, () => {
  let db: TestDatabase;
  const nodes: ServerProcess[] = [];
  const sockets: Socket[] = [];

  before(async () => {
    db = await freshDatabase({ migrated: true });
    for (const name of ['node-a', 'node-b']) {
      nodes.push(await startServerProcess({ ...ENV, CLUSTER: '1', NODE_NAME: name, DATABASE_URL: db.url, PRESENCE_HEARTBEAT_MS: '200', NODE_TIMEOUT_MS: '2000' }));
    }
  });
  after(async () => {
    for (const socket of sockets) socket.disconnect();
    for (const node of nodes) await node.stop();
    await db?.drop();
  });

  const ws = (node: ServerProcess | undefined) => `${node?.url.replace('http', 'ws')}/socket`;

  it("a join on node B counts in node A's lobby, and a message on B is A's last activity", async () => {
    const [a, b] = nodes;
    const page = new Lobby(ws(a));
    sockets.push(page.socket);
    await page.join();
    const cat = await enter(ws(b), 'spread', 'cat', sockets);
    await page.until(() => page.online('spread') === 1, 'cat on node B, counted on node A');
    await enter(ws(a), 'spread', 'dan', sockets);
    await page.until(() => page.online('spread') === 2, 'cat and dan: distinct users of all nodes');
    const sentAt = Date.now();
    assert.equal((await push(cat.channel, 'new_msg', { body: 'from node B' })).status, 'ok');
    await page.until(() => page.rooms.get('spread')?.last_active_at != null, 'the message on node B, on node A');
    assert.ok(Date.parse(page.rooms.get('spread')?.last_active_at ?? '') >= sentAt - 1_000);
    cat.socket.disconnect();
    await page.until(() => page.online('spread') === 1, 'cat left node B');
  });
});
