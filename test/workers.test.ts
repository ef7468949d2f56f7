import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Presence, type Socket } from 'phoenix';
import { inspectProcess } from '../src/repo/embedded-leftover.js';
import { freshDatabase, type TestDatabase } from './support/db.js';
import { connect, join, push } from './support/phoenix-client.js';
import { eventually } from './support/probe.js';
import { freePort } from './support/ops.js';
import { startServerProcess, type ServerProcess } from './support/server-process.js';

/** WORKERS=2 npm start: two processes on one port, both serving, one chat. */

describe('WORKERS=2: several processes on one port', { timeout: 120_000 }, () => {
  let db: TestDatabase;
  let server: ServerProcess;
  const sockets: Socket[] = [];

  before(async () => {
    db = await freshDatabase({ migrated: true });
    server = await startServerProcess({ WORKERS: '2', PORT: String(await freePort()), NODE_NAME: 'box', DATABASE_URL: db.url, PRESENCE_HEARTBEAT_MS: '200' });
  });

  after(async () => {
    for (const socket of sockets) socket.disconnect();
    if (server !== undefined) assert.equal(await server.stop('SIGTERM'), 0, 'the primary stops its workers and exits 0');
    await db?.drop();
  });

  it('both workers answer on the one port (the kernel spreads connections)', async () => {
    const seen = new Set<string>();
    await eventually(async () => {
      for (let i = 0; i < 20; i++) {
        const health = (await (await fetch(`${server.url}/health`, { headers: { connection: 'close' } })).json()) as { node: string };
        seen.add(health.node);
      }
      // Both workers must have listened before both can answer.
      return seen.size === 2;
    }, 30_000);
    assert.deepEqual([...seen].sort(), ['box-1', 'box-2']);
  });

  it('people on whichever worker chat and see each other', async () => {
    const members = await Promise.all(
      ['una', 'vic', 'wes', 'xia'].map(async (username) => {
        const socket = connect(`${server.url.replace('http', 'ws')}/socket`);
        sockets.push(socket);
        const channel = socket.channel('room:workers', () => ({ username, token: `${username}-token-0123456789` }));
        const bodies: string[] = [];
        channel.on('new_msg', (payload) => void bodies.push(String(payload['body'])));
        const presence = new Presence(channel);
        assert.equal((await join(channel)).status, 'ok');
        return { username, channel, bodies, online: () => presence.list((key) => key).sort().join() };
      }),
    );
    for (const member of members) await eventually(() => member.online() === 'una,vic,wes,xia', 15_000);
    for (const member of members) assert.equal((await push(member.channel, 'new_msg', { body: `from ${member.username}` })).status, 'ok');
    for (const member of members) {
      await eventually(() => member.bodies.length >= 4, 15_000);
      assert.deepEqual([...member.bodies].sort(), ['from una', 'from vic', 'from wes', 'from xia']);
    }
  });
});

describe('WORKERS=2: the primary dies', { timeout: 60_000 }, () => {
  it('SIGKILL of the primary: every worker stops its tree and exits', async () => {
    const db = await freshDatabase({ migrated: true });
    try {
      const primary = await startServerProcess({ WORKERS: '2', PORT: String(await freePort()), NODE_NAME: 'orphan', DATABASE_URL: db.url });
      await eventually(() => primary.lines.filter((l) => l.includes('"worker started"')).length === 2, 15_000);
      const pids = primary.lines.filter((l) => l.includes('"worker started"')).map((l) => (JSON.parse(l) as { pid: number }).pid);
      // Both listen before we kill, so each has a tree to stop.
      await eventually(() => primary.lines.filter((l) => l.includes('"listening"')).length >= 2, 30_000);
      const at = Date.now();
      assert.equal(await primary.stop('SIGKILL'), null);
      await eventually(() => pids.every((pid) => !inspectProcess(pid).alive), 15_000);
      console.log(`workers exited ${Date.now() - at} ms after SIGKILL of their primary`);
      assert.ok(primary.lines.some((l) => l.includes('primary gone')), 'a worker said why it stopped');
    } finally {
      await db.drop();
    }
  });
});
