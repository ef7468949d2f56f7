import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Presence, Socket, type PhxPresenceState } from 'phoenix';
import { WebSocket } from 'ws';
import { LeanClient, type ClientEvents } from '../src/cli/loadtest/client.js';
import { decode, presenceDiffSchema, presenceStateSchema, type Frame, type Message } from '../src/cli/loadtest/frames.js';
import { startTestApp, type TestApp } from './support/app.js';
import { join, push } from './support/phoenix-client.js';
import { eventually } from './support/probe.js';

/**
 * The load tester's lean client against the stock phoenix.js, on one live
 * session: both see the same join reply, the same broadcasts and the same
 * presence, and the lean decoder reads every frame phoenix.js read the same way.
 */

declare module 'phoenix' {
  interface Socket {
    onMessage(callback: (message: { join_ref: string | null; ref: string | null; topic: string; event: string; payload: unknown }) => void): string;
  }
}

let app: TestApp;
before(async () => {
  app = await startTestApp({ env: { RATE_LIMIT_PER_SEC: '1000', RATE_LIMIT_BURST: '1000' } });
});
after(async () => {
  await app.stop();
});

const TOKEN = 'loadtest-client-token-0123';

/** phoenix.js over a `ws` transport that also keeps every raw frame it receives. */
function recordingPhoenix(raw: string[]): Socket {
  class Recording extends WebSocket {
    constructor(...args: ConstructorParameters<typeof WebSocket>) {
      super(...args);
      this.addEventListener('message', (event) => raw.push(String(event.data)));
    }
  }
  const socket = new Socket(app.wsUrl, { transport: Recording, heartbeatIntervalMs: 30_000 });
  socket.connect();
  return socket;
}

function leanClient(topic: string, frames: Frame[], messages: Message[]): LeanClient {
  const events: ClientEvents = {
    connected: () => {},
    joined: () => {},
    joinFailed: (reason) => assert.fail(`lean join failed: ${reason}`),
    message: (message) => messages.push(message),
    doubled: (message) => assert.fail(`doubled ${message.id}`),
    pushReply: () => {},
    restarted: () => {},
    error: (kind) => assert.fail(`lean client error ${kind}`),
    frame: (frame) => frames.push(frame),
  };
  return new LeanClient(
    { url: `${app.wsUrl}/websocket?vsn=2.0.0`, topic, username: 'carol', token: TOKEN, reconnect: false, pushTimeoutMs: 5_000, parsePresence: true },
    events,
  );
}

describe('lean load-test client next to phoenix.js', () => {
  it('agrees on join reply, broadcasts and presence of one session, and decodes every recorded frame alike', async () => {
    const topic = 'room:leanvsphx';
    const raw: string[] = [];
    const seenByPhoenix: Array<{ join_ref: string | null; ref: string | null; topic: string; event: string; payload: unknown }> = [];
    const phoenix = recordingPhoenix(raw);
    phoenix.onMessage((message) => seenByPhoenix.push(message));
    const channel = phoenix.channel(topic, { username: 'carol', token: TOKEN });
    const phxBroadcasts: unknown[] = [];
    channel.on('new_msg', (payload) => phxBroadcasts.push(payload));
    let phxPresence: PhxPresenceState = {};
    channel.on('presence_state', (state) => {
      phxPresence = Presence.syncState(phxPresence, structuredClone(presenceStateSchema.parse(state)));
    });
    channel.on('presence_diff', (diff) => {
      phxPresence = Presence.syncDiff(phxPresence, presenceDiffSchema.parse(diff));
    });
    const phxJoin = await join(channel);
    assert.equal(phxJoin.status, 'ok');

    // The same user in a second tab: the lean client.
    const leanFrames: Frame[] = [];
    const leanMessages: Message[] = [];
    const lean = leanClient(topic, leanFrames, leanMessages);
    lean.connect();
    await eventually(() => lean.joined, 5_000);

    // Join replies: same history, same user.
    const leanJoin = leanFrames.find((frame) => frame.event === 'phx_reply' && frame.ref === frame.joinRef);
    assert.ok(leanJoin !== undefined);
    assert.deepEqual(leanJoin.payload, { status: 'ok', response: phxJoin.response });

    // Presence: the lean client's presence_state is what phoenix.js has after its state and the diff.
    const leanPresence = leanFrames.find((frame) => frame.event === 'presence_state');
    assert.ok(leanPresence !== undefined);
    await eventually(() => (phxPresence['carol']?.metas.length ?? 0) === 2, 5_000);
    assert.deepEqual(
      presenceStateSchema.parse(leanPresence.payload)['carol']?.metas.map((meta) => meta['phx_ref']).sort(),
      phxPresence['carol']?.metas.map((meta) => meta.phx_ref).sort(),
    );

    // Broadcasts: one sent by each client; both get both, identical.
    assert.equal((await push(channel, 'new_msg', { body: 'from phoenix.js' })).status, 'ok');
    const pushed = lean.push('from the lean client', 'k1');
    assert.ok(pushed);
    await eventually(() => phxBroadcasts.length === 2 && leanMessages.length === 2, 5_000);
    assert.deepEqual(leanMessages, phxBroadcasts);
    const leanBroadcastFrames = leanFrames.filter((frame) => frame.event === 'new_msg');
    const phxBroadcastFrames = seenByPhoenix.filter((message) => message.event === 'new_msg');
    assert.deepEqual(
      leanBroadcastFrames.map((f) => [f.joinRef, f.ref, f.topic, f.event, f.payload]),
      phxBroadcastFrames.map((m) => [m.join_ref, m.ref, m.topic, m.event, m.payload]),
    );

    // The recorded session, replayed through the lean decoder: every frame reads as phoenix.js read it.
    assert.ok(raw.length >= 5, `recorded ${raw.length} frames`);
    assert.equal(raw.length, seenByPhoenix.length);
    raw.forEach((text, i) => {
      const frame = decode(text);
      assert.ok(typeof frame !== 'string', `frame ${i} decodes: ${String(frame)}`);
      const expected = seenByPhoenix[i]!;
      assert.deepEqual([frame.joinRef, frame.ref, frame.topic, frame.event, frame.payload], [expected.join_ref, expected.ref, expected.topic, expected.event, expected.payload]);
    });
    assert.deepEqual(
      new Set(seenByPhoenix.map((message) => message.event)),
      new Set(['phx_reply', 'presence_state', 'presence_diff', 'new_msg']),
    );

    lean.close();
    phoenix.disconnect();
  });

  it('rejoins after the server restarts its session, with last_seen_id, and gets what it missed exactly once', async () => {
    const topic = 'room:leanrestart';
    const frames: Frame[] = [];
    const messages: Message[] = [];
    let restarts = 0;
    const lean = new LeanClient(
      { url: `${app.wsUrl}/websocket?vsn=2.0.0`, topic, username: 'dave', token: TOKEN, reconnect: false, pushTimeoutMs: 5_000, rejoinDelayMs: 300 },
      {
        connected: () => {},
        joined: () => {},
        joinFailed: (reason) => assert.fail(reason),
        message: (message) => messages.push(message),
        doubled: (message) => assert.fail(`doubled ${message.id}`),
        pushReply: () => {},
        restarted: () => void (restarts += 1),
        error: (kind) => assert.fail(kind),
        frame: (frame) => frames.push(frame),
      },
    );
    lean.connect();
    await eventually(() => lean.joined, 5_000);
    // Only dave's Session is in this app now (earlier tests' sockets are closed; crashing a leftover is harmless).
    const daves = await app.sessions();
    // Someone else keeps talking in the room while dave's Session is down.
    const other = recordingPhoenix([]);
    const otherChannel = other.channel(topic, { username: 'erin', token: 'erin-token-0123456789' });
    assert.equal((await join(otherChannel)).status, 'ok');
    assert.equal((await push(otherChannel, 'new_msg', { body: 'before' })).status, 'ok');
    await eventually(() => messages.length === 1, 5_000);

    for (const session of daves) await app.crashSession(session.id);
    // dave rejoins 300 ms after its phx_error: these are stored meanwhile and come with the rejoin reply.
    for (let i = 0; i < 5; i++) assert.equal((await push(otherChannel, 'new_msg', { body: `during ${i}` })).status, 'ok');
    assert.equal(lean.joined, false, 'still waiting to rejoin');
    await eventually(() => messages.length === 6 && lean.joined, 5_000);
    assert.ok(restarts >= 1, 'saw phx_error');
    const rejoin = frames.filter((frame) => frame.event === 'phx_reply' && frame.ref === frame.joinRef);
    assert.equal(rejoin.length, 2, 'joined twice');
    // The rejoin asked for what came after 'before' and got the five in its reply.
    const rejoinMessages = (rejoin[1]?.payload['response'] as { messages: Message[] }).messages;
    assert.deepEqual(rejoinMessages.map((m) => m.body), ['during 0', 'during 1', 'during 2', 'during 3', 'during 4']);
    assert.deepEqual(
      messages.map((m) => m.body),
      ['before', 'during 0', 'during 1', 'during 2', 'during 3', 'during 4'],
    );
    lean.close();
    other.disconnect();
  });
});
