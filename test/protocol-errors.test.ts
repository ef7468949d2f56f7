/**
 * Bad input at the protocol level, over real sockets against the whole app: every bad upgrade,
 * frame or push gets the documented answer (HTTP 403, a close code, or an exact `phx_reply`
 * error; see src/channel/errors.ts, README "The chat over Phoenix Channels", PROTOCOL.md §2-§4,
 * §6, §7, §10), and harms nobody else: in every case a well-behaved stock phoenix.js client on
 * the same server still pushes `new_msg` and receives the broadcast, and where the offending
 * socket got a reply rather than a close, that socket keeps working too.
 *
 * Raw frames (test/support/raw-socket.ts) are used wherever the stock client cannot produce the
 * input or would hide the exact answer.
 */
import assert from 'node:assert/strict';
import { after, afterEach, before, describe, it } from 'node:test';
import { Serializer, type Channel, type Socket } from 'phoenix';
import { startTestApp, type TestApp } from './support/app.js';
import { connect, join, push } from './support/phoenix-client.js';
import { eventually, sleep } from './support/probe.js';
import { RawSocket, tryUpgrade, type OpenOptions, type Received, type WireFrame } from './support/raw-socket.js';

// --- helpers ----------------------------------------------------------------------------------------

const token = (seed: string): string => `${seed}-token-`.padEnd(24, 'x');
let nameCounter = 0;
/** A username unique within this file (usernames are global and held while online). */
const uniqueName = (prefix: string): string => `${prefix}${++nameCounter}`;

/** The exact wire text of an error reply, as src/channel/encode.ts must produce it. */
const errorFrame = (joinRef: string | null, ref: string, topic: string, response: Record<string, unknown>): string =>
  JSON.stringify([joinRef, ref, topic, 'phx_reply', { status: 'error', response }]);
const okFrame = (joinRef: string | null, ref: string, topic: string, response: Record<string, unknown>): string =>
  JSON.stringify([joinRef, ref, topic, 'phx_reply', { status: 'ok', response }]);
const closeFrame = (joinRef: string, topic: string): string => JSON.stringify([joinRef, joinRef, topic, 'phx_close', {}]);

const isBroadcastOf = (id: number) => (f: WireFrame) => f[3] === 'new_msg' && f[0] === null && f[4]['id'] === id;

/**
 * The well-behaved client: stock phoenix.js in a room. `check()` proves it is unharmed: its push
 * gets an ok reply with an id, the broadcast of that id reaches it, and it has seen no channel
 * error, no socket close and no socket error since it joined.
 */
class Bystander {
  readonly socket: Socket;
  readonly channel: Channel;
  readonly seen = new Map<number, Record<string, unknown>>();
  readonly channelErrors: unknown[] = [];
  readonly socketCloses: unknown[] = [];
  private checks = 0;

  private constructor(app: TestApp, readonly name: string, readonly room: string) {
    this.socket = connect(app.wsUrl, { heartbeatIntervalMs: 2_000 });
    this.channel = this.socket.channel(`room:${room}`, { username: name, token: token(name) });
    this.channel.on('new_msg', (payload) => this.seen.set(payload['id'] as number, payload));
  }

  static async start(app: TestApp, room: string): Promise<Bystander> {
    const bystander = new Bystander(app, uniqueName('bystander'), room);
    const reply = await join(bystander.channel);
    assert.equal(reply.status, 'ok', `bystander joined: ${JSON.stringify(reply.response)}`);
    bystander.channel.onError((reason) => bystander.channelErrors.push(reason));
    bystander.socket.onClose((event) => bystander.socketCloses.push((event as { code?: number }).code));
    bystander.socket.onError((error) => bystander.socketCloses.push(error));
    return bystander;
  }

  async check(label: string): Promise<number> {
    this.checks += 1;
    const body = `${this.name} still fine (${label} #${this.checks})`;
    const reply = await push(this.channel, 'new_msg', { body });
    assert.equal(reply.status, 'ok', `bystander push after "${label}": ${JSON.stringify(reply.response)}`);
    const id = reply.response['id'];
    assert.equal(typeof id, 'number');
    await eventually(() => this.seen.has(id as number), 3_000).catch(() => {
      assert.fail(`bystander did not receive the broadcast of its own message ${String(id)} after "${label}"`);
    });
    assert.equal(this.seen.get(id as number)?.['body'], body);
    assert.deepEqual(this.channelErrors, [], 'bystander channel saw no phx_error');
    assert.deepEqual(this.socketCloses, [], 'bystander socket was never closed or errored');
    assert.equal(this.channel.state, 'joined');
    return id as number;
  }

  stop(): void {
    this.socket.disconnect();
  }
}

/** Tracks raw sockets so every test closes what it opened, even when it fails. */
const opened: RawSocket[] = [];
async function rawSocket(app: TestApp, options: OpenOptions = {}): Promise<RawSocket> {
  const socket = await RawSocket.open(app.wsUrl, options);
  opened.push(socket);
  return socket;
}
async function closeRawSockets(): Promise<void> {
  await Promise.all(opened.splice(0).map((socket) => socket.close()));
}

/** A raw socket joined to `room:<room>` as a fresh user; returns the join ref. */
async function joinedRaw(app: TestApp, room: string, name = uniqueName('raw')): Promise<{ raw: RawSocket; joinRef: string; topic: string }> {
  const raw = await rawSocket(app);
  const topic = `room:${room}`;
  const { joinRef, reply } = await raw.join(topic, { username: name, token: token(name) });
  assert.equal(reply.frame[4]['status'], 'ok', `raw join: ${reply.text}`);
  return { raw, joinRef, topic };
}

/** The offending socket still works: a heartbeat gets its exact reply and a new_msg is accepted. */
async function assertRawWorks(raw: RawSocket, joinRef: string, topic: string): Promise<void> {
  assert.ok(raw.isOpen, 'the offending socket is still open');
  const ref = raw.ref();
  raw.send([null, ref, 'phoenix', 'heartbeat', {}]);
  assert.equal((await raw.reply(ref)).text, okFrame(null, ref, 'phoenix', {}));
  const sent = await raw.push(joinRef, topic, 'new_msg', { body: 'back to normal' });
  assert.equal(sent.frame[4]['status'], 'ok', `push after the error: ${sent.text}`);
  const id = (sent.frame[4]['response'] as { id: number }).id;
  await raw.waitFor(isBroadcastOf(id), `broadcast of message ${id}`);
}

/** Runs `open` and returns what it returned plus the id of the server Session that appeared meanwhile. */
async function withSession<T>(app: TestApp, open: () => Promise<T>): Promise<{ value: T; session: string }> {
  const known = new Set((await app.sessions()).map((s) => s.id));
  const value = await open();
  let session: string | undefined;
  await eventually(async () => {
    session = (await app.sessions()).find((s) => !known.has(s.id))?.id;
    return session !== undefined;
  });
  return { value, session: session as string };
}

const sessionAlive = async (app: TestApp, id: string): Promise<boolean> => (await app.sessions()).some((s) => s.id === id);

function replyText(received: Received): string {
  return received.text;
}

// --- the main server: small frame and channel limits, a listed origin -----------------------------

describe('protocol errors: upgrade, frames, routing, join params, channel limit, join refs', () => {
  let app: TestApp;
  let bystander: Bystander;
  const ROOM = 'commons';
  const TOPIC = `room:${ROOM}`;

  before(async () => {
    app = await startTestApp({
      env: {
        MAX_FRAME_BYTES: '1024',
        MAX_CHANNELS: '3',
        RATE_LIMIT_PER_SEC: '1000',
        RATE_LIMIT_BURST: '1000',
        ORIGINS: 'https://chat.example.com, *.trusted.example',
      },
    });
    bystander = await Bystander.start(app, ROOM);
  });
  afterEach(closeRawSockets);
  after(async () => {
    await closeRawSockets();
    bystander?.stop();
    await app?.stop();
  });

  it('upgrade with vsn=1.0.0, a malformed vsn or no vsn: HTTP 403 with the reason in the body', { timeout: 10_000 }, async () => {
    assert.deepEqual(await tryUpgrade(app.wsUrl, { query: 'vsn=1.0.0' }), {
      status: 403,
      body: 'unsupported protocol version 1.0.0: this server speaks Phoenix Channels vsn=2.0.0',
    });
    assert.deepEqual(await tryUpgrade(app.wsUrl, { query: '' }), {
      status: 403,
      body: 'unsupported protocol version (none): this server speaks Phoenix Channels vsn=2.0.0',
    });
    assert.deepEqual(await tryUpgrade(app.wsUrl, { query: 'token=abc' }), {
      status: 403,
      body: 'unsupported protocol version (none): this server speaks Phoenix Channels vsn=2.0.0',
    });
    assert.deepEqual(await tryUpgrade(app.wsUrl, { query: 'vsn=2.0' }), {
      status: 403,
      body: 'unsupported protocol version 2.0: this server speaks Phoenix Channels vsn=2.0.0',
    });
    // The exact vsn the stock client sends is accepted, with params before it (§1.1).
    assert.equal((await tryUpgrade(app.wsUrl, { query: 'token=abc&vsn=2.0.0' })).status, 101);
    await bystander.check('refused upgrades');
  });

  it('upgrade Origin: foreign -> 403; own host, an ORIGINS entry, or none -> accepted and working', { timeout: 10_000 }, async () => {
    const refused = async (origin: string) =>
      assert.deepEqual(await tryUpgrade(app.wsUrl, { headers: { Origin: origin } }), {
        status: 403,
        body: `origin ${origin} is not allowed`,
      }, `Origin ${origin} is refused`);
    await refused('http://evil.example.com');
    await refused('http://127.0.0.1:1'); // own hostname, another port: another origin
    await refused('https://chat.example.com.evil.example'); // not the listed host
    await refused('https://trusted.example.evil'); // the wildcard entry is not a prefix match
    await refused('https://eviltrusted.example'); // ... nor a bare suffix match
    await refused('http://chat.example.com'); // a full-origin entry pins the scheme
    await refused('https://chat.example.com:8443'); // ... and the port
    await refused('null'); // sandboxed iframe / file:// pages send the literal "null"

    const accepted: Array<Record<string, string>> = [
      { Origin: `http://127.0.0.1:${app.port}` }, // the server's own host (Host header)
      { Origin: 'https://chat.example.com' }, // a full origin in ORIGINS
      { Origin: 'https://rooms.trusted.example:8443' }, // *.trusted.example
      {}, // no Origin: not a browser, passes (§1.1)
    ];
    for (const headers of accepted) {
      const raw = await rawSocket(app, { headers });
      const ref = raw.ref();
      raw.send([null, ref, 'phoenix', 'heartbeat', {}]);
      assert.equal((await raw.reply(ref)).text, okFrame(null, ref, 'phoenix', {}), `socket with ${JSON.stringify(headers)} works`);
    }
    await bystander.check('origin checks');
  });

  it('malformed JSON text frame: closed with 1007 malformed_json; other sockets unaffected', { timeout: 10_000 }, async () => {
    const { raw } = await joinedRaw(app, ROOM);
    const survivor = await joinedRaw(app, ROOM);
    raw.sendText('["1","2","room:commons","new_msg",{"body":');
    assert.deepEqual(await raw.closed.then(({ code, reason }) => ({ code, reason })), { code: 1007, reason: 'malformed_json' });
    await survivor.raw.expectNone((f) => f[3] === 'phx_error' || f[3] === 'phx_close', 'phx_error/phx_close on another socket', 100);
    await assertRawWorks(survivor.raw, survivor.joinRef, survivor.topic);
    await bystander.check('malformed JSON');
  });

  it('unreadable frames with no ref/topic to reply to are closed with the documented code', { timeout: 10_000 }, async () => {
    const cases: Array<{ send: (raw: RawSocket) => void; code: number; reason: string | undefined; what: string }> = [
      { what: 'a JSON object', send: (raw) => raw.sendText('{"topic":"room:commons"}'), code: 1007, reason: 'bad_frame' },
      { what: 'a JSON scalar', send: (raw) => raw.sendText('42'), code: 1007, reason: 'bad_frame' },
      { what: 'a 5-array with a null ref', send: (raw) => raw.send([null, null, TOPIC, 'new_msg', []]), code: 1007, reason: 'bad_frame' },
      { what: 'a 5-array with a numeric ref', send: (raw) => raw.send(['1', 2, TOPIC, 'new_msg', []]), code: 1007, reason: 'bad_frame' },
      { what: 'a 5-array with an empty topic', send: (raw) => raw.send(['1', '2', '', 'new_msg', []]), code: 1007, reason: 'bad_frame' },
      { what: 'binary of kind 1 (reply)', send: (raw) => raw.sendBinary(new Uint8Array([1, 1, 1, 1, 1, 49, 50, 116, 111, 107])), code: 1003, reason: 'unsupported_binary_kind' },
      { what: 'an oversized frame with no readable header', send: (raw) => raw.sendText(JSON.stringify({ pad: 'x'.repeat(2_000) })), code: 1009, reason: 'frame_too_large' },
      // Past the transport's hard limit (1 MiB) uWS drops the connection itself, whatever the header says.
      // NB: errors.ts and socket.ts say "uWS closes with 1009" here; uWS sends no close frame, so it is 1006.
      { what: 'a frame above 1 MiB', send: (raw) => raw.send(['1', '2', TOPIC, 'new_msg', { body: 'z'.repeat(1_100_000) }]), code: 1006, reason: '' },
    ];
    for (const c of cases) {
      const raw = await rawSocket(app);
      c.send(raw);
      const closed = await Promise.race([raw.closed, sleep(3_000).then(() => undefined)]); // a deadline
      assert.ok(closed !== undefined, `${c.what}: the socket is closed`);
      assert.equal(closed.code, c.code, `${c.what}: close code`);
      if (c.reason !== undefined) assert.equal(closed.reason, c.reason, `${c.what}: close reason`);
      assert.deepEqual(raw.received.map((r) => r.text), [], `${c.what}: no frame before the close`);
    }
    await bystander.check('unreadable frames');
  });

  it('valid JSON of the wrong shape with a readable ref+topic: bad_frame reply echoing the refs; the socket carries on', { timeout: 10_000 }, async () => {
    const { raw, joinRef, topic } = await joinedRaw(app, ROOM);
    const cases: Array<{ frame: unknown[]; expectedJoinRef: string | null; ref: string }> = [
      { frame: [joinRef, 'a1', topic, 'new_msg', ['body', 'array payload']], expectedJoinRef: joinRef, ref: 'a1' },
      { frame: [joinRef, 'a2', topic, 'new_msg'], expectedJoinRef: joinRef, ref: 'a2' }, // 4 elements
      { frame: [joinRef, 'a3', topic, 'new_msg', null], expectedJoinRef: joinRef, ref: 'a3' },
      { frame: [joinRef, 'a4', topic, 'new_msg', 'body'], expectedJoinRef: joinRef, ref: 'a4' },
      { frame: [joinRef, 'a5', topic, '', { body: 'empty event' }], expectedJoinRef: joinRef, ref: 'a5' },
      { frame: [joinRef, 'a6', topic, 7, { body: 'numeric event' }], expectedJoinRef: joinRef, ref: 'a6' },
      // A join_ref that is not a string cannot be echoed: the reply carries null (§10.2).
      { frame: [Number(joinRef.slice(1)), 'a7', topic, 'new_msg', { body: 'numeric join_ref' }], expectedJoinRef: null, ref: 'a7' },
      { frame: [null, '0', topic, 'phx_join', []], expectedJoinRef: null, ref: '0' }, // refs are echoed as sent, "0" too
    ];
    for (const c of cases) {
      raw.send(c.frame);
      const reply = await raw.reply(c.ref);
      assert.equal(replyText(reply), errorFrame(c.expectedJoinRef, c.ref, topic, { reason: 'bad_frame' }), `reply to ${JSON.stringify(c.frame)}`);
    }
    await raw.expectNone((f) => f[3] === 'phx_close' || f[3] === 'phx_error', 'phx_close/phx_error after bad frames', 100);
    // Nothing of the bad frames reached the room.
    assert.equal([...bystander.seen.values()].filter((m) => /array payload|empty event|numeric/.test(String(m['body']))).length, 0);
    await assertRawWorks(raw, joinRef, topic);
    await bystander.check('bad_frame');
  });

  it('a binary push (phoenix Serializer, ArrayBuffer payload): binary_not_supported reply; the socket carries on', { timeout: 10_000 }, async () => {
    const { raw, joinRef, topic } = await joinedRaw(app, ROOM);
    const encoded = Serializer.encode(
      { join_ref: joinRef, ref: 'bin1', topic, event: 'new_msg', payload: new Uint8Array([1, 2, 3]).buffer },
      (frame) => frame,
    );
    assert.ok(encoded instanceof ArrayBuffer, 'the stock serializer produced a binary frame');
    raw.sendBinary(encoded);
    assert.equal(replyText(await raw.reply('bin1')), errorFrame(joinRef, 'bin1', topic, { reason: 'binary_not_supported' }));
    // Same for a binary frame on a topic not joined: the header is readable, so it is a reply too.
    const other = Serializer.encode({ join_ref: '99', ref: 'bin2', topic: 'room:elsewhere', event: 'new_msg', payload: new ArrayBuffer(4) }, (f) => f);
    raw.sendBinary(other as ArrayBuffer);
    assert.equal(replyText(await raw.reply('bin2')), errorFrame('99', 'bin2', 'room:elsewhere', { reason: 'binary_not_supported' }));
    assert.equal(raw.binary.length, 0, 'the server never answers in binary');
    await assertRawWorks(raw, joinRef, topic);
    await bystander.check('binary frame');
  });

  it('a frame above MAX_FRAME_BYTES (1024): frame_too_large reply, exactly at the limit accepted; the socket carries on', { timeout: 10_000 }, async () => {
    const { raw, joinRef, topic } = await joinedRaw(app, ROOM);
    const frameOfBytes = (ref: string, bytes: number): string => {
      // Pad the body with 2-byte characters (the body is limited to 500 characters, not bytes).
      const head = JSON.stringify([joinRef, ref, topic, 'new_msg', { body: '' }]);
      const room = bytes - Buffer.byteLength(head);
      const body = 'é'.repeat(Math.floor(room / 2)) + 'a'.repeat(room % 2);
      const text = JSON.stringify([joinRef, ref, topic, 'new_msg', { body }]);
      assert.equal(Buffer.byteLength(text), bytes);
      return text;
    };
    raw.sendText(frameOfBytes('big1', 1025));
    assert.equal(replyText(await raw.reply('big1')), errorFrame(joinRef, 'big1', topic, { reason: 'frame_too_large' }));
    raw.sendText(JSON.stringify([joinRef, 'big2', topic, 'new_msg', { body: 'y'.repeat(100_000) }]));
    assert.equal(replyText(await raw.reply('big2')), errorFrame(joinRef, 'big2', topic, { reason: 'frame_too_large' }));
    raw.sendText(frameOfBytes('fits', 1024));
    const fits = await raw.reply('fits');
    assert.equal(fits.frame[4]['status'], 'ok', `a 1024-byte frame is accepted: ${fits.text}`);
    await assertRawWorks(raw, joinRef, topic);
    assert.ok(![...bystander.seen.values()].some((m) => String(m['body']).startsWith('y')), 'the refused frame reached nobody');
    await bystander.check('frame too large');
  });

  it('push to a topic not joined: unmatched topic with join_ref null; leave of it: ok (§3, §6.1)', { timeout: 10_000 }, async () => {
    const raw = await rawSocket(app);
    raw.send([null, 'u1', 'room:nowhere', 'new_msg', { body: 'hello?' }]);
    assert.equal(replyText(await raw.reply('u1')), '[null,"u1","room:nowhere","phx_reply",{"status":"error","response":{"reason":"unmatched topic"}}]');
    raw.send(['42', 'u2', 'room:nowhere', 'new_msg', { body: 'hello?' }]);
    assert.equal(replyText(await raw.reply('u2')), errorFrame(null, 'u2', 'room:nowhere', { reason: 'unmatched topic' }));
    raw.send(['42', 'u3', 'users:lobby', 'whatever', {}]);
    assert.equal(replyText(await raw.reply('u3')), errorFrame(null, 'u3', 'users:lobby', { reason: 'unmatched topic' }));
    raw.send(['42', 'u4', 'room:nowhere', 'phx_leave', {}]);
    assert.equal(replyText(await raw.reply('u4')), okFrame('42', 'u4', 'room:nowhere', {}));
    // The same socket then joins and works.
    const name = uniqueName('lost');
    const { joinRef, reply } = await raw.join(TOPIC, { username: name, token: token(name) });
    assert.equal(reply.frame[4]['status'], 'ok');
    await assertRawWorks(raw, joinRef, TOPIC);
    await bystander.check('unmatched topic push');
  });

  it('join of an unknown topic: unmatched topic; join of room:BAD NAME: invalid_params then phx_close', { timeout: 10_000 }, async () => {
    const raw = await rawSocket(app);
    raw.send(['j1', 'j1', 'foo:bar', 'phx_join', {}]);
    assert.equal(replyText(await raw.reply('j1')), '[null,"j1","foo:bar","phx_reply",{"status":"error","response":{"reason":"unmatched topic"}}]');
    raw.send(['j2', 'j2', 'phoenix', 'phx_join', {}]);
    assert.equal(replyText(await raw.reply('j2')), errorFrame(null, 'j2', 'phoenix', { reason: 'unmatched topic' }));

    const name = uniqueName('badroom');
    const bad = 'room:BAD NAME';
    raw.send(['j3', 'j3', bad, 'phx_join', { username: name, token: token(name) }]);
    const reply = await raw.reply('j3');
    assert.equal(
      replyText(reply),
      errorFrame('j3', 'j3', bad, { reason: 'invalid_params', errors: { topic: 'room name may contain only a-z, 0-9, _ and -' } }),
    );
    const close = await raw.waitFor((f) => f[2] === bad && f[3] === 'phx_close', 'phx_close for room:BAD NAME');
    assert.equal(close.text, closeFrame('j3', bad));
    assert.ok(raw.received.indexOf(close) > raw.received.indexOf(reply), 'phx_close follows the error reply');

    const tooLong = `room:${'a'.repeat(33)}`;
    raw.send(['j4', 'j4', tooLong, 'phx_join', { username: name, token: token(name) }]);
    assert.equal(
      replyText(await raw.reply('j4')),
      errorFrame('j4', 'j4', tooLong, { reason: 'invalid_params', errors: { topic: 'room name must be at most 32 characters' } }),
    );
    assert.equal((await raw.waitFor((f) => f[2] === tooLong && f[3] === 'phx_close', 'phx_close')).text, closeFrame('j4', tooLong));

    // None of this counted as a joined channel: a push there is unmatched, and a good join works.
    raw.send(['j3', 'p1', bad, 'new_msg', { body: 'x' }]);
    assert.equal(replyText(await raw.reply('p1')), errorFrame(null, 'p1', bad, { reason: 'unmatched topic' }));
    const { joinRef, reply: ok } = await raw.join(TOPIC, { username: name, token: token(name) });
    assert.equal(ok.frame[4]['status'], 'ok');
    await assertRawWorks(raw, joinRef, TOPIC);
    await bystander.check('unknown topics');
  });

  it('unknown event on a joined room (and on the lobby): unknown_event reply; the channel stays joined', { timeout: 10_000 }, async () => {
    const { raw, joinRef, topic } = await joinedRaw(app, ROOM);
    raw.send([joinRef, 'e1', topic, 'dance', { style: 'tango' }]);
    assert.equal(replyText(await raw.reply('e1')), errorFrame(joinRef, 'e1', topic, { reason: 'unknown_event', event: 'dance' }));
    raw.send([joinRef, 'e2', topic, 'phx_reply', {}]); // a server-only event from a client
    assert.equal(replyText(await raw.reply('e2')), errorFrame(joinRef, 'e2', topic, { reason: 'unknown_event', event: 'phx_reply' }));
    const lobby = await raw.join('users:lobby', {});
    assert.equal(lobby.reply.frame[4]['status'], 'ok');
    raw.send([lobby.joinRef, 'e3', 'users:lobby', 'new_msg', { body: 'not here' }]);
    assert.equal(replyText(await raw.reply('e3')), errorFrame(lobby.joinRef, 'e3', 'users:lobby', { reason: 'unknown_event', event: 'new_msg' }));
    await raw.expectNone((f) => f[3] === 'phx_close' || f[3] === 'phx_error', 'phx_close/phx_error', 100);
    await assertRawWorks(raw, joinRef, topic);
    await bystander.check('unknown event');
  });

  it('invalid join params: invalid_params with errors per field, then phx_close; a valid join after works', { timeout: 10_000 }, async () => {
    const raw = await rawSocket(app);
    const topic = 'room:params';
    const name = uniqueName('params');
    const cases: Array<{ params: Record<string, unknown>; errors: Record<string, string> }> = [
      { params: { token: token(name) }, errors: { username: 'must be a string' } },
      { params: { username: name, token: 'short' }, errors: { token: 'must be 16 to 128 letters, digits, _ or -' } },
      { params: { username: name, token: 'has spaces in the token!!' }, errors: { token: 'must be 16 to 128 letters, digits, _ or -' } },
      { params: { username: 'two words', token: token(name) }, errors: { username: 'may contain only letters, digits and _ - .' } },
      { params: { username: 'x'.repeat(31), token: token(name) }, errors: { username: 'must be at most 30 characters' } },
      { params: {}, errors: { username: 'must be a string', token: 'must be a string' } },
      { params: { username: name, token: token(name), last_seen_id: 'yesterday' }, errors: { last_seen_id: 'must be a number' } },
    ];
    for (const c of cases) {
      const joinRef = raw.ref();
      raw.send([joinRef, joinRef, topic, 'phx_join', c.params]);
      const reply = await raw.reply(joinRef);
      assert.equal(replyText(reply), errorFrame(joinRef, joinRef, topic, { reason: 'invalid_params', errors: c.errors }), `params ${JSON.stringify(c.params)}`);
      const close = await raw.waitFor((f) => f[0] === joinRef && f[3] === 'phx_close', `phx_close for join ${joinRef}`);
      assert.equal(close.text, closeFrame(joinRef, topic));
      assert.ok(raw.received.indexOf(close) === raw.received.indexOf(reply) + 1, 'phx_close right after the error reply');
    }
    const { joinRef, reply } = await raw.join(topic, { username: name, token: token(name) });
    assert.equal(reply.frame[4]['status'], 'ok', reply.text);
    await assertRawWorks(raw, joinRef, topic);
    await bystander.check('invalid join params');
  });

  it('MAX_CHANNELS=3: the 4th topic gets "too many channels joined"; rejoining a joined topic or leaving one still works', { timeout: 10_000 }, async () => {
    const raw = await rawSocket(app);
    const name = uniqueName('greedy');
    const params = { username: name, token: token(name) };
    const refs: Record<string, string> = {};
    for (const topic of ['room:c1', 'room:c2', 'users:lobby']) {
      const { joinRef, reply } = await raw.join(topic, topic === 'users:lobby' ? {} : params);
      assert.equal(reply.frame[4]['status'], 'ok', `${topic}: ${reply.text}`);
      refs[topic] = joinRef;
    }
    const fourth = await raw.join('room:c4', params);
    assert.equal(replyText(fourth.reply), errorFrame(fourth.joinRef, fourth.joinRef, 'room:c4', { reason: 'too many channels joined' }));
    // A push there is unmatched: the refused join left nothing behind.
    raw.send([fourth.joinRef, 'x1', 'room:c4', 'new_msg', { body: 'x' }]);
    assert.equal(replyText(await raw.reply('x1')), errorFrame(null, 'x1', 'room:c4', { reason: 'unmatched topic' }));
    // At the limit, a rejoin of a joined topic replaces it rather than counting as a 4th.
    const again = await raw.join('room:c1', params);
    assert.equal(again.reply.frame[4]['status'], 'ok', again.reply.text);
    // Leaving one frees a slot.
    raw.send([again.joinRef, 'l1', 'room:c1', 'phx_leave', {}]);
    assert.equal(replyText(await raw.reply('l1')), okFrame(again.joinRef, 'l1', 'room:c1', {}));
    const retry = await raw.join('room:c4', params);
    assert.equal(retry.reply.frame[4]['status'], 'ok', retry.reply.text);
    await assertRawWorks(raw, retry.joinRef, 'room:c4');
    await bystander.check('too many channels');
  });

  it('a push with a stale join_ref (after a rejoin) is ignored with no reply; the current join_ref (and null) work', { timeout: 10_000 }, async () => {
    const name = uniqueName('stale');
    const params = { username: name, token: token(name) };
    const raw = await rawSocket(app);
    const first = await raw.join(TOPIC, params);
    assert.equal(first.reply.frame[4]['status'], 'ok');
    const second = await raw.join(TOPIC, params);
    assert.equal(second.reply.frame[4]['status'], 'ok');
    assert.notEqual(first.joinRef, second.joinRef);

    raw.send([first.joinRef, 's1', TOPIC, 'new_msg', { body: 'from the old join' }]);
    raw.send([first.joinRef, 's2', TOPIC, 'dance', {}]);
    raw.send([first.joinRef, 's3', TOPIC, 'phx_leave', {}]);
    const current = await raw.push(second.joinRef, TOPIC, 'new_msg', { body: 'from the current join' });
    assert.equal(current.frame[0], second.joinRef);
    assert.equal(current.frame[4]['status'], 'ok', current.text);
    await raw.expectNone((f) => f[1] === 's1' || f[1] === 's2' || f[1] === 's3', 'reply to a stale join_ref', 300);
    assert.ok(![...bystander.seen.values()].some((m) => m['body'] === 'from the old join'), 'the stale push was not broadcast');
    // The stale phx_leave did not leave the current join.
    const viaNull = await raw.push(null, TOPIC, 'new_msg', { body: 'null join_ref is accepted (§3)' });
    assert.equal(viaNull.frame[4]['status'], 'ok', viaNull.text);
    await assertRawWorks(raw, second.joinRef, TOPIC);
    await bystander.check('stale join_ref');
  });

  it('duplicate join of a topic: the new join is answered ok and the old join_ref gets phx_close, nothing else', { timeout: 10_000 }, async () => {
    const name = uniqueName('dup');
    const params = { username: name, token: token(name) };
    const raw = await rawSocket(app);
    const first = await raw.join(TOPIC, params);
    assert.equal(first.reply.frame[4]['status'], 'ok');
    const second = await raw.join(TOPIC, params);
    assert.equal(second.reply.frame[0], second.joinRef);
    assert.equal(second.reply.frame[4]['status'], 'ok');
    const close = await raw.waitFor((f) => f[0] === first.joinRef && f[3] === 'phx_close', 'phx_close for the old join_ref');
    assert.equal(close.text, closeFrame(first.joinRef, TOPIC));
    assert.equal(raw.all((f) => f[3] === 'phx_close').length, 1, 'exactly one phx_close');
    assert.equal(raw.all((f) => f[3] === 'phx_error').length, 0);
    // The new instance got its own presence_state.
    await raw.waitFor((f) => f[0] === second.joinRef && f[3] === 'presence_state', 'presence_state for the new join');
    await assertRawWorks(raw, second.joinRef, TOPIC);
    await bystander.check('duplicate join');
  });

  it('duplicate join wire order (§4.5): new join reply, then phx_close for the old join_ref, then the new pushes', { timeout: 10_000 }, async () => {
    const name = uniqueName('order');
    const params = { username: name, token: token(name) };
    const raw = await rawSocket(app);
    const first = await raw.join(TOPIC, params);
    assert.equal(first.reply.frame[4]['status'], 'ok');
    const second = await raw.join(TOPIC, params);
    await raw.waitFor((f) => f[0] === second.joinRef && f[3] === 'presence_state', 'presence_state for the new join');
    const close = await raw.waitFor((f) => f[0] === first.joinRef && f[3] === 'phx_close', 'phx_close for the old join_ref');
    const afterFirst = raw.received.slice(raw.received.indexOf(first.reply));
    const sequence = afterFirst
      .filter((r) => r === second.reply || r === close || (r.frame[0] === second.joinRef && r.frame[3] === 'presence_state'))
      .map((r) => `${r.frame[0]}:${r.frame[3]}`);
    assert.deepEqual(
      sequence,
      [`${second.joinRef}:phx_reply`, `${first.joinRef}:phx_close`, `${second.joinRef}:presence_state`],
      'PROTOCOL.md §4.5: "new join reply → phx_close for the old join_ref → whatever the new channel pushes"',
    );
    await bystander.check('duplicate join order');
  });

  it('heartbeat is answered exactly, with nothing joined, echoing the ref', { timeout: 10_000 }, async () => {
    const raw = await rawSocket(app);
    raw.sendText('[null,"7","phoenix","heartbeat",{}]');
    assert.equal(replyText(await raw.reply('7')), '[null,"7","phoenix","phx_reply",{"status":"ok","response":{}}]');
    raw.send([null, 'hb-ä', 'phoenix', 'heartbeat', {}]);
    assert.equal(replyText(await raw.reply('hb-ä')), '[null,"hb-ä","phoenix","phx_reply",{"status":"ok","response":{}}]');
    assert.equal(raw.received.length, 2, 'nothing else was sent');
    await bystander.check('heartbeat');
  });
});

// --- rate limit ---------------------------------------------------------------------------------------

describe('protocol errors: rate limit (RATE_LIMIT_PER_SEC=5, RATE_LIMIT_BURST=5)', () => {
  let app: TestApp;
  let bystander: Bystander;

  before(async () => {
    app = await startTestApp({ env: { RATE_LIMIT_PER_SEC: '5', RATE_LIMIT_BURST: '5' } });
    bystander = await Bystander.start(app, 'limited');
  });
  afterEach(closeRawSockets);
  after(async () => {
    await closeRawSockets();
    bystander?.stop();
    await app?.stop();
  });

  it('a burst of 20 pushes: every push gets a reply, the excess rate_limited; later pushes succeed again', { timeout: 15_000 }, async () => {
    const { raw, joinRef, topic } = await joinedRaw(app, 'limited'); // the join took 1 of the 5 tokens
    const refs = Array.from({ length: 20 }, (_, i) => `burst${i}`);
    const started = Date.now();
    for (const [i, ref] of refs.entries()) raw.send([joinRef, ref, topic, 'new_msg', { body: `burst message ${i}` }]);
    const replies = await Promise.all(refs.map((ref) => raw.reply(ref)));
    const elapsedS = (Date.now() - started) / 1000;
    for (const ref of refs) assert.equal(raw.all((f) => f[1] === ref).length, 1, `exactly one reply to ${ref}`);

    const accepted = replies.filter((r) => r.frame[4]['status'] === 'ok');
    const limited = replies.filter((r) => r.frame[4]['status'] !== 'ok');
    for (const reply of limited) {
      assert.equal(reply.text, errorFrame(joinRef, reply.frame[1] as string, topic, { reason: 'rate_limited' }));
    }
    // 4 tokens left after the join, plus what refilled (5/s) while the burst was handled.
    const maxAccepted = 4 + Math.ceil(elapsedS * 5) + 1;
    assert.ok(accepted.length >= 4 && accepted.length <= maxAccepted, `accepted ${accepted.length} of 20 (max ${maxAccepted})`);
    assert.ok(limited.length >= 20 - maxAccepted, `${limited.length} rate_limited`);
    assert.deepEqual(
      replies.slice(0, 4).map((r) => r.frame[4]['status']),
      ['ok', 'ok', 'ok', 'ok'],
      'the first pushes of the burst fit in the bucket',
    );

    // Exactly the accepted ones were broadcast; the refused ones were dropped.
    const acceptedIds = accepted.map((r) => (r.frame[4]['response'] as { id: number }).id);
    await eventually(() => acceptedIds.every((id) => bystander.seen.has(id)), 3_000);
    // The limit is per socket: the bystander is not limited, and heartbeats are never limited.
    // Its message, sent after every reply to the burst, is broadcast after anything the burst was: once it is back, the count is final.
    await bystander.check('rate limited neighbour');
    const burstSeen = [...bystander.seen.values()].filter((m) => String(m['body']).startsWith('burst message'));
    assert.equal(burstSeen.length, accepted.length, 'the bystander got exactly the accepted messages');
    const hb = raw.ref();
    raw.send([null, hb, 'phoenix', 'heartbeat', {}]);
    assert.equal((await raw.reply(hb)).text, okFrame(null, hb, 'phoenix', {}));

    // Time is the subject: at 5/s the bucket has a token again 200 ms after the burst emptied it.
    await sleep(300);
    const later = await raw.push(joinRef, topic, 'new_msg', { body: 'after a refill' });
    assert.equal(later.frame[4]['status'], 'ok', later.text);
    assert.ok(raw.isOpen, 'rate limiting replies, it does not close');
    await bystander.check('after the burst');
  });
});

// --- idle timeout -------------------------------------------------------------------------------------

describe('protocol errors: idle timeout (IDLE_TIMEOUT_S=8)', () => {
  let app: TestApp;
  let bystander: Bystander;

  before(async () => {
    app = await startTestApp({ env: { IDLE_TIMEOUT_S: '8' } });
    bystander = await Bystander.start(app, 'idle'); // heartbeats every 2 s
  });
  afterEach(closeRawSockets);
  after(async () => {
    await closeRawSockets();
    bystander?.stop();
    await app?.stop();
  });

  it('a silent socket is closed (1006) within 14 s; one sending heartbeats every 2 s stays open', { timeout: 20_000 }, async () => {
    const { value: silent, session: silentSession } = await withSession(app, () => joinedRaw(app, 'idle'));
    const talker = await rawSocket(app);
    let beats = 0;
    const beat = setInterval(() => talker.send([null, `hb${++beats}`, 'phoenix', 'heartbeat', {}]), 2_000);
    try {
      const closed = await Promise.race([silent.raw.closed, sleep(15_000).then(() => undefined)]); // a deadline
      assert.ok(closed !== undefined, 'the silent socket was closed within 15 s of its last frame');
      const silentFor = (closed.at - silent.raw.lastSentAt) / 1000;
      // uWS ends an idle socket without a close frame; the lower bound is the next test's subject.
      assert.equal(closed.code, 1006);
      assert.ok(silentFor > 3 && silentFor <= 14, `closed after ${silentFor.toFixed(1)} s of silence`);
      await eventually(async () => !(await sessionAlive(app, silentSession)), 3_000); // its Session ended too
      assert.ok(talker.isOpen, 'the heartbeating socket is still open');
      await talker.reply(`hb${beats}`);
      assert.equal(talker.all((f) => f[3] === 'phx_reply').length, beats, 'every heartbeat was answered');
      await bystander.check('idle timeout');
    } finally {
      clearInterval(beat);
    }
  });

  it('no socket is closed for idleness before IDLE_TIMEOUT_S: heartbeats every 6 s keep it open, silence lasts >= 8 s', { timeout: 20_000 }, async () => {
    // §1.2/§7: the idle timeout closes a connection that has received nothing *for this long*.
    const silent = await rawSocket(app);
    const steady = await rawSocket(app);
    let beats = 0;
    const beat = setInterval(() => steady.send([null, `hb${++beats}`, 'phoenix', 'heartbeat', {}]), 6_000);
    try {
      // The silent socket's close is the event awaited; the steady one, open as long, is checked then.
      const silentClose = await Promise.race([silent.closed, sleep(13_000).then(() => undefined)]); // a deadline
      assert.ok(silentClose !== undefined, 'the silent socket was closed within 13 s');
      clearInterval(beat);
      const lastBeatAt = steady.lastSentAt;
      // Answered only while the socket is open, and after the replies to every beat before it.
      const checked = await steady.heartbeat().catch((error: unknown) => String(error));
      const steadyClose = steady.closedWith;
      assert.equal(
        steadyClose,
        undefined,
        `a socket never silent for more than 6 s was closed for idleness ${steadyClose === undefined ? '' : ((steadyClose.at - lastBeatAt) / 1000).toFixed(2)} s after its last heartbeat (IDLE_TIMEOUT_S=8)`,
      );
      assert.match(checked, /"status":"ok"/, 'the steady socket still answers');
      const silentFor = (silentClose.at - silent.lastSentAt) / 1000;
      assert.equal(steady.all((f) => f[3] === 'phx_reply' && String(f[1]).startsWith('hb')).length, beats, 'every heartbeat was answered');
      assert.ok(silentFor >= 7.9, `the silent socket was closed after only ${silentFor.toFixed(2)} s of silence (IDLE_TIMEOUT_S=8)`);
      await bystander.check('idle timeout bound');
    } finally {
      clearInterval(beat);
    }
  });
});

// --- slow reader --------------------------------------------------------------------------------------

describe('protocol errors: slow reader (SLOW_READER_BYTES=64 KiB)', () => {
  let app: TestApp;

  before(async () => {
    app = await startTestApp({ env: { SLOW_READER_BYTES: String(64 * 1024), RATE_LIMIT_PER_SEC: '100000', RATE_LIMIT_BURST: '100000' } });
  });
  afterEach(closeRawSockets);
  after(async () => {
    await closeRawSockets();
    await app?.stop();
  });

  it('a reader that stops reading is closed; a normal reader gets every message; memory stays bounded', { timeout: 60_000 }, async (t) => {
    const ROOM = 'flood';
    const { value: slow, session: slowSession } = await withSession(app, () => joinedRaw(app, ROOM, uniqueName('slow')));
    const reader = await joinedRaw(app, ROOM, uniqueName('reader'));
    // Several flooders: each Session handles its pushes one at a time, so one socket alone is slow to fill a buffer.
    const flooders = await Promise.all([1, 2, 3, 4].map(() => joinedRaw(app, ROOM, uniqueName('flooder'))));
    const readerIds = new Set<number>();
    let readerDuplicates = 0;
    reader.raw.ws.on('message', (data, isBinary) => {
      if (isBinary) return;
      const frame = JSON.parse(String(data)) as WireFrame;
      if (frame[3] !== 'new_msg') return;
      const id = frame[4]['id'] as number;
      if (readerIds.has(id)) readerDuplicates += 1;
      readerIds.add(id);
    });
    // The flood is counted as it comes, not kept, so the test's own memory stays flat.
    const noBroadcasts = (f: WireFrame) =>
      !(f[3] === 'new_msg' && String(f[4]['body']).startsWith('flood ')) && !(f[3] === 'phx_reply' && String(f[1]).startsWith('f'));
    reader.raw.keep = noBroadcasts;
    for (const flooder of flooders) flooder.raw.keep = noBroadcasts;

    // Stop reading: the kernel buffers fill, then the server's send buffer for this socket grows.
    const tcp = (slow.raw.ws as unknown as { _socket: { pause(): void; resume(): void } })._socket;
    tcp.pause();

    const body = (i: number) => `flood ${i} `.padEnd(400, 'x');
    const acceptedIds: number[] = [];
    const rejected: string[] = [];
    let sent = 0;
    const pending = new Map<string, (r: WireFrame) => void>();
    for (const flooder of flooders) {
      flooder.raw.ws.on('message', (data, isBinary) => {
        if (isBinary) return;
        const frame = JSON.parse(String(data)) as WireFrame;
        if (frame[3] === 'phx_reply' && frame[1] !== null) pending.get(frame[1])?.(frame);
      });
    }
    const sendOne = (): Promise<void> => {
      const ref = `f${++sent}`;
      const flooder = flooders[sent % flooders.length]!;
      return new Promise((resolve) => {
        pending.set(ref, (frame) => {
          pending.delete(ref);
          const response = frame[4]['response'] as { id?: number };
          if (frame[4]['status'] === 'ok' && typeof response.id === 'number') acceptedIds.push(response.id);
          else rejected.push(JSON.stringify(frame));
          resolve();
        });
        flooder.raw.send([flooder.joinRef, ref, flooder.topic, 'new_msg', { body: body(sent) }]);
      });
    };
    const memoryBefore = process.memoryUsage().rss;
    let memoryPeak = memoryBefore;
    const MAX_MESSAGES = 40_000; // 16 MB of bodies: far beyond the 64 KiB limit plus the kernel's buffers
    const WINDOW = 200;
    const floodStart = Date.now();
    let slowClosedAfter: number | undefined;
    while (sent < MAX_MESSAGES && Date.now() - floodStart < 40_000) {
      await Promise.all(Array.from({ length: WINDOW }, sendOne));
      memoryPeak = Math.max(memoryPeak, process.memoryUsage().rss);
      if (sent % (WINDOW * 5) === 0 && !(await sessionAlive(app, slowSession))) {
        slowClosedAfter = sent;
        break;
      }
    }
    assert.ok(slowClosedAfter !== undefined, `the slow reader's session was not ended after ${sent} messages of ~400 bytes`);
    // Keep flooding a little after the close: the others must not notice anything.
    for (let i = 0; i < 3; i += 1) await Promise.all(Array.from({ length: WINDOW }, sendOne));
    memoryPeak = Math.max(memoryPeak, process.memoryUsage().rss);

    assert.deepEqual(rejected, [], 'every flood push was accepted');
    await eventually(() => acceptedIds.every((id) => readerIds.has(id)), 10_000).catch(() => {
      const missing = acceptedIds.filter((id) => !readerIds.has(id));
      assert.fail(`the normal reader is missing ${missing.length} of ${acceptedIds.length} messages, e.g. ${missing.slice(0, 5).join(', ')}`);
    });
    assert.equal(readerDuplicates, 0, 'no message twice');
    assert.ok(reader.raw.isOpen && flooders.every((f) => f.raw.isOpen), 'the normal reader and the flooders are still connected');

    // The slow socket, once it reads again, finds the connection closed by the server.
    tcp.resume();
    const closed = await Promise.race([slow.raw.closed, sleep(10_000).then(() => undefined)]); // a deadline
    assert.ok(closed !== undefined, 'the slow client sees its connection closed');
    // Closed at the transport: no close frame can get through a full send buffer, so the client sees 1006.
    assert.equal(closed.code, 1006);
    const received = slow.raw.all((f) => f[3] === 'new_msg').length;
    assert.ok(received < acceptedIds.length, `the slow client got only a part (${received} of ${acceptedIds.length}) before the close`);

    // Memory: the server did not buffer the flood for the slow socket (16 MB+ if it had, per 40k).
    const growthMb = (memoryPeak - memoryBefore) / 1024 / 1024;
    assert.ok(growthMb < 128, `rss grew by ${growthMb.toFixed(1)} MB during the flood`);

    await assertRawWorks(reader.raw, reader.joinRef, reader.topic);
    t.diagnostic(`slow reader closed after ${slowClosedAfter} messages; peak rss +${growthMb.toFixed(1)} MB; it had read ${received} of them`);
  });
});
