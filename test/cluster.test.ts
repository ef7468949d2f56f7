import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Presence, type Socket } from 'phoenix';
import { pino } from 'pino';
import type { Payload } from '../src/channel/frame.js';
import { postgresAdapter } from '../src/pubsub/postgres-adapter.js';
import { freshDatabase, type TestDatabase } from './support/db.js';
import { connect, join, push } from './support/phoenix-client.js';
import { eventually } from './support/probe.js';
import { startServerProcess, type ServerProcess } from './support/server-process.js';

/**
 * Two real node processes on one PostgreSQL with CLUSTER=1: a broadcast made
 * on either reaches clients of both, once; large payloads arrive whole;
 * presence is the same on both, and a node that dies leaves it.
 */

describe('cluster: nodes on one PostgreSQL (CLUSTER=1)', { timeout: 120_000 }, () => {
  let db: TestDatabase;
  const nodes: ServerProcess[] = [];
  const sockets: Socket[] = [];

  const startNode = (name: string) =>
    startServerProcess({ CLUSTER: '1', NODE_NAME: name, DATABASE_URL: db.url, LOG_LEVEL: 'info', PRESENCE_HEARTBEAT_MS: '200', NODE_TIMEOUT_MS: '2000' });

  before(async () => {
    db = await freshDatabase({ migrated: true });
    for (const name of ['node-a', 'node-b']) {
      nodes.push(await startNode(name));
    }
  });

  after(async () => {
    for (const socket of sockets) socket.disconnect();
    for (const node of nodes) await node.stop();
    await db?.drop();
  });

  const member = async (node: ServerProcess, username: string, options: { room?: string; token?: string } = {}) => {
    const socket = connect(`${node.url.replace('http', 'ws')}/socket`);
    sockets.push(socket);
    const received: Array<{ id: number; user: string; body: string }> = [];
    const errors: unknown[] = [];
    // A rejoin asks for what came after the last message seen, as the browser client does.
    const lastSeen = () => (received.length === 0 ? {} : { last_seen_id: Math.max(...received.map((m) => m.id)) });
    const channel = socket.channel(`room:${options.room ?? 'cluster'}`, () => ({ username, token: options.token ?? `${username}-token-0123456789`, ...lastSeen() }));
    channel.on('new_msg', (payload) => void received.push(payload as never));
    channel.onError((reason) => errors.push(reason));
    const presence = new Presence(channel);
    const joined = await join(channel);
    const online = () => presence.list((key) => key).sort();
    // Catch-up comes in join replies (the first and every rejoin): part of what the member saw.
    channel.joinPush.receive('ok', (reply: Record<string, unknown>) => {
      const known = new Set(received.map((m) => m.id));
      for (const m of (reply['messages'] ?? []) as typeof received) if (!known.has(m.id)) received.push(m);
    });
    return { socket, channel, received, errors, joined, online };
  };

  it('presence: both nodes list everyone; a name online on one node is taken on the other', async () => {
    const [a, b] = nodes as [ServerProcess, ServerProcess];
    const eve = await member(a, 'eve', { room: 'who' });
    const fay = await member(b, 'fay', { room: 'who' });
    for (const who of [eve, fay]) await eventually(() => who.online().join() === 'eve,fay', 10_000);
    const impostor = await member(b, 'eve', { room: 'who', token: 'someone-else-entirely-000' });
    assert.equal(impostor.joined.status, 'error');
    assert.equal(impostor.joined.response['reason'], 'username_taken');
  });

  it('a node killed with SIGKILL: the others drop its users within the timeout; started again, state converges', async () => {
    const [a, b] = nodes as [ServerProcess, ServerProcess];
    const gil = await member(a, 'gil', { room: 'crash' });
    const hal = await member(b, 'hal', { room: 'crash' });
    await eventually(() => gil.online().join() === 'gil,hal', 10_000);
    hal.socket.disconnect();
    await b.stop('SIGKILL');
    const killedAt = Date.now();
    await eventually(() => gil.online().join() === 'gil', 10_000);
    assert.ok(Date.now() - killedAt < 8_000, `dropped after ${Date.now() - killedAt} ms (timeout 2000 ms)`);
    // Chat goes on on the node that is left.
    assert.equal((await push(gil.channel, 'new_msg', { body: 'still here' })).status, 'ok');

    const restarted = await startNode('node-b');
    nodes[1] = restarted;
    const ivy = await member(restarted, 'ivy', { room: 'crash' });
    await eventually(() => ivy.online().join() === 'gil,ivy' && gil.online().join() === 'gil,ivy', 10_000);
    assert.ok(ivy.joined.status === 'ok' && JSON.stringify(ivy.joined.response['messages']).includes('still here'), 'history from the shared database');
  });

  it('messages sent on both nodes at once reach members on both exactly once and in id order; a member who reconnects mid-stream misses none', async () => {
    const [a, b] = nodes as [ServerProcess, ServerProcess];
    const [ann, amy, bob, ben] = [await member(a, 'ann'), await member(a, 'amy'), await member(b, 'bob'), await member(b, 'ben')];
    assert.deepEqual([ann, amy, bob, ben].map((who) => who.joined.status), ['ok', 'ok', 'ok', 'ok']);

    // Cy drops his socket and comes back on the other node, again and again, each time asking for what came after the last id he saw.
    const cySaw: number[] = [];
    let reconnects = 0;
    let storming = true;
    const reconnecting = (async () => {
      while (storming) {
        const node = reconnects % 2 === 0 ? a : b;
        const socket = connect(`${node.url.replace('http', 'ws')}/socket`);
        const lastSeen = cySaw.length === 0 ? {} : { last_seen_id: Math.max(...cySaw) };
        const channel = socket.channel('room:cluster', { username: 'cy', token: 'cy-token-0123456789', ...lastSeen });
        // What a socket being closed still receives is not what the client saw before it went.
        let open = true;
        channel.on('new_msg', (m) => void (open && cySaw.push(m['id'] as number)));
        // In the reply's own callback: broadcasts that follow it on the socket may be handled before `await join` resumes.
        channel.joinPush.receive('ok', (reply) => void cySaw.push(...(reply['messages'] as Array<{ id: number }>).map((m) => m.id)));
        const joined = await join(channel);
        assert.equal(joined.status, 'ok', JSON.stringify(joined.response));
        await new Promise((resolve) => setTimeout(resolve, 20 + Math.random() * 30)); // jitter: how long cy stays
        open = false;
        socket.disconnect();
        reconnects += 1;
      }
    })();

    // Both nodes send at once, so each node's own messages race the other's through NOTIFY.
    const sent: number[] = [];
    // 30 each: within the rate limit's burst.
    for (let round = 0; round < 30; round++) {
      const replies = await Promise.all([ann, bob, amy, ben].map((from, i) => push(from.channel, 'new_msg', { body: `storm ${round}.${i}` })));
      for (const reply of replies) {
        assert.equal(reply.status, 'ok');
        sent.push(reply.response['id'] as number);
      }
    }
    storming = false;
    await reconnecting;
    const expected = [...sent].sort((x, y) => x - y);
    for (const who of [ann, amy, bob, ben]) {
      await eventually(() => who.received.length >= sent.length, 10_000);
      const ids = who.received.map((m) => m.id);
      assert.deepEqual(ids, expected, 'every message once, in id order, on either node');
    }
    assert.ok(reconnects >= 3, `cy reconnected ${reconnects} times during the storm`);
    // Across all his reconnects, cy saw every message up to the newest he saw, once each.
    const upTo = Math.max(...cySaw);
    assert.deepEqual(cySaw, [...new Set(cySaw)].sort((x, y) => x - y), 'nothing twice across reconnects, and in id order');
    assert.deepEqual([...cySaw].sort((x, y) => x - y), expected.filter((id) => id <= upTo), 'nothing missed across reconnects');
  });

  it('the adapter: a payload far over the NOTIFY limit arrives whole on the other node, never back on its own', async () => {
    const log = pino({ level: 'silent' });
    const got: Record<string, Array<{ topic: string; payload: Payload }>> = { x: [], y: [] };
    const adapters = ['x', 'y'].map((node) => ({ node, adapter: postgresAdapter({ url: db.url, node, log }) }));
    try {
      for (const { node, adapter } of adapters) await adapter.start((topic, _event, payload) => {
        // The running nodes' heartbeats share the channel.
        if (topic === 'room:big') got[node]?.push({ topic, payload });
      });
      const payload = { body: '"é\\😀'.repeat(20_000), n: 1 };
      adapters[0]?.adapter.publish('room:big', 'new_msg', payload);
      adapters[0]?.adapter.publish('room:big', 'new_msg', { n: 2 });
      await eventually(() => (got['y']?.length ?? 0) >= 2, 10_000);
      assert.deepEqual(got['y'], [{ topic: 'room:big', payload }, { topic: 'room:big', payload: { n: 2 } }], 'whole, and in order');
      assert.deepEqual(got['x'], [], "a node's own broadcasts are not delivered to it again");
    } finally {
      for (const { adapter } of adapters) await adapter.stop();
    }
  });

  it('LISTEN lost: the node notices, listens again, and its clients catch up what they missed, once', async () => {
    const [a, b] = nodes as [ServerProcess, ServerProcess];
    const lee = await member(a, 'lee', { room: 'gap' });
    const mo = await member(b, 'mo', { room: 'gap' });
    assert.deepEqual([lee.joined.status, mo.joined.status], ['ok', 'ok']);
    const cut = await db.sql`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'chat-pubsub node-a'`;
    assert.ok(cut.length > 0, "node-a's pubsub connections were cut");
    const sent: number[] = [];
    for (let i = 0; i < 5; i++) {
      const reply = await push(mo.channel, 'new_msg', { body: `during the gap ${i}` });
      assert.equal(reply.status, 'ok');
      sent.push(reply.response['id'] as number);
    }
    await eventually(() => a.lines.some((line) => line.includes('closing the gap')), 15_000);
    await eventually(() => sent.every((id) => lee.received.some((m) => m.id === id)), 15_000);
    assert.ok(lee.errors.length > 0, 'the session was restarted (phx_error) to make the client catch up');
    for (const id of sent) assert.equal(lee.received.filter((m) => m.id === id).length, 1, `message ${id} once`);
  });
});
