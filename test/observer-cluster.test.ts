import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { freshDatabase, type TestDatabase } from './support/db.js';
import { ADMIN_TOKEN, Member, admin } from './support/ops.js';
import { eventually } from './support/probe.js';
import { startServerProcess, type ServerProcess } from './support/server-process.js';

/**
 * The observer across two real node processes on one PostgreSQL (CLUSTER=1):
 * a kick on one node closes the user's sockets on both; each node's stats
 * table lists both nodes from their once-a-second samples, and drops one that
 * stops.
 */

interface NodeRow {
  node: string;
  sockets: number;
  sessions: number;
  joins: number;
  ageMs: number;
}

describe('observer: two nodes (CLUSTER=1)', { timeout: 120_000 }, () => {
  let db: TestDatabase;
  let a: ServerProcess;
  let b: ServerProcess;
  const members: Member[] = [];

  const startNode = (name: string) => startServerProcess({ CLUSTER: '1', NODE_NAME: name, DATABASE_URL: db.url, ADMIN_TOKEN, PRESENCE_HEARTBEAT_MS: '200', NODE_TIMEOUT_MS: '2000' });
  const member = async (node: ServerProcess, name: string, room: string): Promise<Member> => {
    const m = new Member(`${node.url.replace('http', 'ws')}/socket`, name, room);
    members.push(m);
    assert.equal((await m.join()).status, 'ok');
    return m;
  };
  const nodesSeenBy = async (node: ServerProcess): Promise<NodeRow[]> => {
    const res = await admin(node.url, 'GET', '/admin/stats');
    assert.equal(res.status, 200);
    return (res.body as { nodes: NodeRow[] }).nodes;
  };
  const closeOf = (m: Member) => new Promise<{ code: number; reason: string }>((resolve) => m.socket.onClose((event: unknown) => resolve(event as { code: number; reason: string })));

  before(async () => {
    db = await freshDatabase({ migrated: true });
    a = await startNode('node-a');
    b = await startNode('node-b');
  });
  after(async () => {
    for (const m of members) m.leave();
    await a?.stop();
    await b?.stop();
    await db?.drop();
  });

  it('a kick on node A closes alice everywhere (both nodes, every tab); bob stays on both', async () => {
    const alice = [await member(a, 'alice', 'both'), await member(a, 'alice', 'other'), await member(b, 'alice', 'both')];
    const bob = [await member(a, 'bob', 'both'), await member(b, 'bob', 'both')];
    const closes = alice.map(closeOf);
    let bobClosed = 0;
    for (const m of bob) m.socket.onClose(() => (bobClosed += 1));

    const res = await admin(a.url, 'POST', '/admin/users/alice/disconnect');
    assert.equal(res.status, 200);
    assert.deepEqual(res.body, { disconnected: 'alice', localSockets: 2 }, 'two of her sockets are on node A');
    for (const close of await Promise.all(closes)) assert.deepEqual([close.code, close.reason], [1001, 'kicked']);

    // Bob chats on across the nodes.
    const said = await (bob[1] as Member).say('still here on B');
    assert.equal(said.status, 'ok');
    await (bob[0] as Member).seenAtLeast(1);
    assert.equal(bobClosed, 0);
    assert.equal((await admin(b.url, 'POST', '/admin/users/bad%20name/disconnect')).status, 400);
  });

  it('/admin/stats on each node lists both nodes, their sockets and sessions; a node that stops is dropped after 10 s', async () => {
    for (const m of members) m.leave();
    await member(a, 'carol', 'count');
    await member(b, 'dave', 'count');
    await member(b, 'erin', 'count');
    const expected = (rows: NodeRow[]) => rows.map((row) => `${row.node}:${row.sockets}:${row.sessions}`).join(' ');
    for (const node of [a, b]) await eventually(async () => expected(await nodesSeenBy(node)) === 'node-a:1:1 node-b:2:2', 15_000);
    for (const row of await nodesSeenBy(a)) assert.ok(row.ageMs < 3_000, `${row.node} heard ${row.ageMs} ms ago`);

    await b.stop();
    const stoppedAt = Date.now();
    await eventually(async () => (await nodesSeenBy(a)).every((row) => row.node !== 'node-b'), 20_000);
    // The table keeps a node 10 s after its last sample (a second before the stop at most).
    const gone = Date.now() - stoppedAt;
    assert.ok(gone > 8_000 && gone < 14_000, `node-b dropped ${gone} ms after it stopped`);
    assert.deepEqual((await nodesSeenBy(a)).map((row) => row.node), ['node-a']);
  });
});
