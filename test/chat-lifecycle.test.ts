import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Socket } from 'phoenix';
import { startTestApp } from './support/app.js';
import { privatePostgres } from './support/pg.js';
import { connect, join, push } from './support/phoenix-client.js';
import { eventually } from './support/probe.js';

const params = (name: string) => () => ({ username: name, token: `${name}-token`.padEnd(20, 'x') });

describe('chat when things go away', () => {
  it('database stopped: new_msg gets db_unavailable and nothing is broadcast; back up, it works again', async () => {
    const pg = await privatePostgres();
    const app = await startTestApp({ databaseUrl: pg.url, env: { DB_TIMEOUT_MS: '1500' } });
    const sockets: Socket[] = [connect(app.wsUrl), connect(app.wsUrl)];
    const [a, b] = sockets.map((socket, i) => socket.channel('room:outage', params(i === 0 ? 'olga' : 'peter')));
    assert.ok(a && b);
    const broadcasts: Array<{ body: string }> = [];
    b.on('new_msg', (payload) => broadcasts.push(payload as { body: string }));
    assert.equal((await join(a)).status, 'ok');
    assert.equal((await join(b)).status, 'ok');
    assert.equal((await push(a, 'new_msg', { body: 'before' })).status, 'ok');
    await eventually(() => broadcasts.length === 1);

    await pg.stop();
    const started = Date.now();
    const failed = await push(a, 'new_msg', { body: 'during the outage' });
    assert.deepEqual(failed, { status: 'error', response: { reason: 'db_unavailable' } });
    assert.ok(Date.now() - started < 5_000, 'the error came within a bounded time');
    assert.equal(broadcasts.length, 1, 'nothing was broadcast for the failed message');

    await pg.start();
    await eventually(async () => (await push(a, 'new_msg', { body: 'after' })).status === 'ok', 20_000);
    await eventually(() => broadcasts.length === 2);
    // The window is the whole outage: a broadcast of the failed message would have had all of it to arrive before this one.
    assert.deepEqual(broadcasts.map((m) => m.body), ['before', 'after'], 'nothing was broadcast for the failed message');
    for (const socket of sockets) socket.disconnect();
    await app.stop();
    await pg.destroy();
  });

  it('graceful shutdown: sessions terminate and close their sockets with 1001', async () => {
    const app = await startTestApp();
    const socket = connect(app.wsUrl);
    const channel = socket.channel('room:bye', params('quinn'));
    assert.equal((await join(channel)).status, 'ok');
    const closes: number[] = [];
    socket.onClose((event) => closes.push((event as { code: number }).code));
    await app.stop();
    await eventually(() => closes.length > 0);
    assert.equal(closes[0], 1001);
    socket.disconnect();
  });
});
