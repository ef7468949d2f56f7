import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Socket } from 'phoenix';
import { freshDatabase, type TestDatabase } from './support/db.js';
import { ADMIN_TOKEN, admin } from './support/ops.js';
import { connect, join } from './support/phoenix-client.js';
import { Changes } from './support/probe.js';
import { startServerProcess, type ServerProcess } from './support/server-process.js';

/**
 * POST /admin/announce: one announcement reaches every socket of every node
 * (CLUSTER=1), once, in the room it joined, as an `announcement` event; a bad
 * body is refused and nothing goes out.
 */

interface Announcement {
  id: string;
  body: string;
  at: number;
}

describe('announcements: POST /admin/announce to every node', { timeout: 60_000 }, () => {
  let db: TestDatabase;
  const nodes: ServerProcess[] = [];
  const sockets: Socket[] = [];

  before(async () => {
    db = await freshDatabase({ migrated: true });
    for (const name of ['node-a', 'node-b']) {
      nodes.push(await startServerProcess({ CLUSTER: '1', NODE_NAME: name, DATABASE_URL: db.url, ADMIN_TOKEN }));
    }
  });

  after(async () => {
    for (const socket of sockets) socket.disconnect();
    for (const node of nodes) await node.stop();
    await db?.drop();
  });

  const member = async (node: ServerProcess, username: string, room: string) => {
    const socket = connect(`${node.url.replace('http', 'ws')}/socket`);
    sockets.push(socket);
    const heard: Announcement[] = [];
    const arrivals = new Changes();
    const channel = socket.channel(`room:${room}`, { username, token: `${username}-token-0123456789` });
    channel.on('announcement', (payload) => {
      heard.push(payload as unknown as Announcement);
      arrivals.changed();
    });
    const joined = await join(channel);
    assert.equal(joined.status, 'ok');
    return { heard, until: (count: number) => arrivals.until(() => heard.length >= count, `${username} to hear ${count}`, 10_000) };
  };

  it('reaches members of every room on both nodes exactly once; a bad body is refused', async () => {
    const [a, b] = nodes as [ServerProcess, ServerProcess];
    const members = [await member(a, 'ann', 'north'), await member(b, 'ben', 'north'), await member(b, 'cat', 'south')];

    const refused = await admin(a.url, 'POST', '/admin/announce?body=%20%20');
    assert.equal(refused.status, 400);
    assert.match(JSON.stringify(refused.body), /must not be blank/);
    assert.equal((await admin(a.url, 'POST', '/admin/announce?body=hi', null)).status, 401);

    const first = await admin(a.url, 'POST', `/admin/announce?body=${encodeURIComponent('restarting in 5 minutes')}`);
    assert.equal(first.status, 200);
    for (const one of members) await one.until(1);
    // Made on the other node once the first is everywhere: a double of the first would come before it.
    const second = await admin(b.url, 'POST', '/admin/announce?body=back%20soon');
    assert.equal(second.status, 200);
    const ids = [first, second].map((made) => (made.body as { announced: Announcement }).announced.id);

    for (const one of members) {
      await one.until(2);
      assert.deepEqual(
        one.heard.map(({ id, body }) => ({ id, body })),
        [
          { id: ids[0], body: 'restarting in 5 minutes' },
          { id: ids[1], body: 'back soon' },
        ],
      );
    }
  });
});
