import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Channel, Socket } from 'phoenix';
import { pino } from 'pino';
import { name, whereis } from '../supervision/index.js';
import * as PubSub from '../src/pubsub/pubsub.js';
import { startTestApp, type TestApp } from './support/app.js';
import { connect, join, push } from './support/phoenix-client.js';
import { eventually } from './support/probe.js';

/**
 * A node with CLUSTER=1 (PubSub over LISTEN/NOTIFY on a real database) fed what
 * it must survive: broadcasts that cannot be encoded, and notifications from
 * strangers on its channel. Its sockets stay connected, PubSub is never
 * restarted, and chat goes on.
 */

type Line = Record<string, unknown>;

describe('a CLUSTER=1 node under hostile broadcasts and notifications', { timeout: 60_000 }, () => {
  const lines: Line[] = [];
  const log = pino({ level: 'info' }, { write: (line: string) => void lines.push(JSON.parse(line) as Line) });
  let app: TestApp;
  let socket: Socket;
  let channel: Channel;
  const received: Array<{ event: string; payload: Record<string, unknown> }> = [];
  const errors: unknown[] = [];
  let pubsubBefore: number | undefined;

  before(async () => {
    app = await startTestApp({ env: { CLUSTER: '1' }, log });
    socket = connect(`${app.wsUrl}`);
    channel = socket.channel('room:hostile', { username: 'sturdy', token: 'sturdy-token-0123456789' });
    for (const event of ['new_msg', 'after']) channel.on(event, (payload: Record<string, unknown>) => void received.push({ event, payload }));
    channel.onError((reason: unknown) => void errors.push(reason));
    assert.equal((await join(channel)).status, 'ok');
    pubsubBefore = whereis(name('pubsub'))?.id;
  });
  after(async () => {
    socket?.disconnect();
    await app?.stop();
  });

  /** What a user notices: the socket is up, no channel errored, PubSub is the same process, and a new message comes back. */
  const stillChatting = async (body: string): Promise<void> => {
    const reply = await push(channel, 'new_msg', { body });
    assert.equal(reply.status, 'ok', JSON.stringify(reply.response));
    await eventually(() => received.some((m) => m.event === 'new_msg' && m.payload['body'] === body), 10_000);
    assert.ok(socket.isConnected(), 'the socket stayed connected');
    assert.deepEqual(errors, [], 'no channel errored (a PubSub restart would error them all)');
    assert.equal(whereis(name('pubsub'))?.id, pubsubBefore, 'PubSub was never restarted');
    assert.equal(lines.filter((line) => line['msg'] === 'child restarted' || line['msg'] === 'child exited abnormally; restarting').length, 0);
  };

  it('broadcasts that cannot be encoded are dropped and logged; the sockets stay, later broadcasts arrive', async () => {
    const cycle: Record<string, unknown> = { body: 'loop' };
    cycle['self'] = cycle;
    const hostile: Array<[string, Record<string, unknown>]> = [
      ['a BigInt', { id: 10n }],
      ['a cycle', cycle],
      ['a getter that throws', { get body(): string { throw new Error('getter says no'); } }],
      ['a toJSON that throws', { body: { toJSON: () => { throw new Error('toJSON says no'); } } }],
      ['a toJSON that is not an object', { toJSON: () => 'a string' }],
    ];
    for (const [, payload] of hostile) PubSub.broadcast('room:hostile', 'new_msg', payload);
    PubSub.localBroadcast('room:hostile', 'new_msg', { id: 1n });
    PubSub.broadcast('room:hostile', 'after', { n: 1 });
    await eventually(() => received.some((m) => m.event === 'after'), 10_000);
    const dropped = lines.filter((line) => line['msg'] === 'dropped a broadcast that cannot be encoded');
    assert.equal(dropped.length, hostile.length + 1, dropped.map((line) => line['detail']).join('\n'));
    assert.ok(dropped.every((line) => line['topic'] === 'room:hostile' && line['reason'] === 'unserializable' && line['actor'] === '/app/pubsub'));
    assert.deepEqual(received.map((m) => m.event), ['after'], 'none of them reached the socket, the good one did');
    await stillChatting('after the bad broadcasts');
  });

  it('hostile notifications from a plain connection (pg_notify) are dropped and logged; the node keeps working', async () => {
    const sql = app.db.sql;
    const notify = (text: string) => sql`SELECT pg_notify('chat_pubsub', ${text})`;
    const before = lines.length;
    await notify('garbage, not a header at all');
    await notify('b|evil|1|0|999999|AAAA');
    await notify('b|evil|2|0|1|{nope');
    await notify('c|evil|3|0|1|{"t":"room:hostile","e":"new_msg","p":[1,2]}');
    await notify('b|evil|4|0|3|AAAA');
    await notify('b|evil|4|0|3|AAAA');
    // A flood of distinct reassemblies that never complete, in one statement.
    await sql`SELECT pg_notify('chat_pubsub', 'b|flood|' || i || '|0|3|' || repeat('A', 4000)) FROM generate_series(1, 2000) AS i`;
    await stillChatting('after the hostile notifications');
    const reasons = lines.slice(before).filter((line) => line['actor'] === '/app/pubsub' && typeof line['reason'] === 'string').map((line) => line['reason']);
    for (const reason of ['bad_header', 'too_many_parts', 'bad_json', 'not_a_broadcast', 'out_of_order', 'too_many_in_flight']) {
      assert.ok(reasons.includes(reason), `${reason} logged, in ${reasons.join(', ')}`);
    }
    assert.ok(reasons.length < 20, `the flood is a few lines, not thousands: ${reasons.length}`);
    assert.equal(received.filter((m) => Array.isArray(m.payload)).length, 0);
  });
});
