import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { SignJWT } from 'jose';
import type { Channel, Socket } from 'phoenix';
import { z } from 'zod';
import { kill } from '../supervision/index.js';
import { startTestApp, type TestApp } from './support/app.js';
import { parseMetrics } from './support/ops.js';
import { connect, push, type Reply } from './support/phoenix-client.js';
import { eventually } from './support/probe.js';
import { tryUpgrade } from './support/raw-socket.js';

/**
 * Whose a name is, with the stock phoenix.js client: claimed names (the
 * default), open names, signed tokens (JWT) from an application with accounts
 * of its own, and retries that do not double a message.
 */

const browserToken = (seed: string) => `${seed}-token-`.padEnd(24, 'x');
const FAST = { RATE_LIMIT_PER_SEC: '1000', RATE_LIMIT_BURST: '1000' };

interface Message {
  id: number;
  user: string;
  body: string;
}

const sockets: Socket[] = [];
after(() => {
  for (const socket of sockets) socket.disconnect();
});

/** One person in a room: a browser token (or a signed token for the socket), one socket, what it saw. */
class Person {
  readonly socket: Socket;
  readonly channel: Channel;
  readonly seen: Message[] = [];
  lastSeenId: number | undefined;

  constructor(
    app: TestApp,
    readonly room: string,
    joinParams: Record<string, unknown>,
    socketParams: () => Record<string, unknown> = () => ({}),
  ) {
    this.socket = connect(app.wsUrl, { params: socketParams });
    sockets.push(this.socket);
    this.channel = this.socket.channel(`room:${room}`, () => ({
      ...joinParams,
      ...(this.lastSeenId === undefined ? {} : { last_seen_id: this.lastSeenId }),
    }));
    this.channel.on('new_msg', (payload) => this.record([payload as unknown as Message]));
  }

  /** Everything it was given, doubles included (a double is what the tests look for). */
  private record(messages: readonly Message[]): void {
    for (const message of messages) {
      this.seen.push(message);
      this.lastSeenId = Math.max(this.lastSeenId ?? 0, message.id);
    }
  }

  static browser(app: TestApp, room: string, name: string, tokenSeed = name): Person {
    return new Person(app, room, { username: name, token: browserToken(tokenSeed) });
  }

  /** The first join's answer; this join's history, and that of every rejoin phoenix.js makes by itself, is recorded. */
  join(): Promise<Reply> {
    return new Promise((resolve) => {
      this.channel
        .join()
        .receive('ok', (response: Record<string, unknown>) => {
          this.record((response['messages'] ?? []) as Message[]);
          resolve({ status: 'ok', response });
        })
        .receive('error', (response: Record<string, unknown>) => resolve({ status: 'error', response }))
        .receive('timeout', () => resolve({ status: 'timeout', response: {} }));
    });
  }

  say(body: string, extra: Record<string, unknown> = {}, timeoutMs?: number): Promise<Reply> {
    return push(this.channel, 'new_msg', { body, ...extra }, timeoutMs);
  }

  leave(): void {
    this.socket.disconnect();
  }
}

const TAKEN = { status: 'error', response: { reason: 'username_taken' } };
const messageCount = async (app: TestApp, where: { nonce: string }): Promise<number> =>
  z.coerce.number().parse((await app.db.sql`SELECT count(*) AS n FROM messages WHERE nonce = ${where.nonce}`)[0]?.['n']);

/** Joins until the join is answered ok (each attempt a fresh socket, as a person reloading); the refusals before it. */
async function joinWhenFree(make: () => Person, timeoutMs: number): Promise<{ person: Person; refusals: Reply[] }> {
  const refusals: Reply[] = [];
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const person = make();
    const reply = await person.join();
    if (reply.status === 'ok') return { person, refusals };
    refusals.push(reply);
    person.leave();
    if (Date.now() > deadline) throw new Error(`still refused: ${JSON.stringify(reply)}`);
    // A retry's interval: what frees the name is time (OPEN_HOLD_MS after the last sign-in), which no event announces.
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

/** 100 names, each joined at the same instant by two browsers: how many of each pair got in. */
async function racePairs(app: TestApp, mode: string): Promise<number[]> {
  const pairs = Array.from({ length: 100 }, (_, i) => [0, 1].map((side) => Person.browser(app, `race-${mode}`, `${mode}-racer-${i}`, `${mode}-${i}-side-${side}`)));
  const replies = await Promise.all(pairs.map((pair) => Promise.all(pair.map((person) => person.join()))));
  for (const pair of pairs) for (const person of pair) person.leave();
  for (const pair of replies) for (const reply of pair) if (reply.status !== 'ok') assert.deepEqual(reply, TAKEN);
  return replies.map((pair) => pair.filter((reply) => reply.status === 'ok').length);
}

describe('NAMES=claim (the default): a name is the first browser token\'s', () => {
  let app: TestApp;
  before(async () => {
    app = await startTestApp({ env: FAST });
  });
  after(async () => {
    await app.stop();
  });

  it('another browser signing in with an offline name is refused, and cannot delete its messages', async () => {
    const alice = Person.browser(app, 'claimed', 'alice');
    assert.equal((await alice.join()).status, 'ok');
    const posted = await alice.say('mine');
    assert.equal(posted.status, 'ok');
    alice.leave();

    const other = Person.browser(app, 'claimed', 'alice', 'another-browser');
    assert.deepEqual(await other.join(), TAKEN);
    const bob = Person.browser(app, 'claimed', 'bob');
    assert.equal((await bob.join()).status, 'ok');
    assert.deepEqual(await push(bob.channel, 'delete_msg', { id: posted.response['id'] }), { status: 'error', response: { reason: 'forbidden' } });

    const back = Person.browser(app, 'claimed', 'ALICE', 'alice');
    const rejoined = await back.join();
    assert.equal(rejoined.status, 'ok', 'the owner comes back, whatever case it types');
    assert.equal((rejoined.response['user'] as { name: string }).name, 'alice');
    assert.deepEqual(await push(back.channel, 'delete_msg', { id: posted.response['id'] }), { status: 'ok', response: {} });
  });

  it('100 pairs of browsers racing for a new name each: exactly one of each pair gets it', async () => {
    assert.deepEqual(await racePairs(app, 'claim'), Array.from({ length: 100 }, () => 1));
  });

  it('a nonce the user already sent with stores nothing again and returns the first id', async () => {
    const sender = Person.browser(app, 'nonces', 'nina');
    const watcher = Person.browser(app, 'nonces', 'walt');
    await sender.join();
    await watcher.join();
    const first = await sender.say('exactly once', { nonce: 'n-1' });
    const again = await sender.say('exactly once', { nonce: 'n-1' });
    const other = await sender.say('exactly once', { nonce: 'n-2' });
    assert.equal(first.status, 'ok');
    assert.deepEqual(again, first);
    assert.notEqual(other.response['id'], first.response['id']);
    await eventually(() => watcher.seen.some((m) => m.id === other.response['id']));
    assert.deepEqual(
      watcher.seen.filter((m) => m.body === 'exactly once').map((m) => m.id),
      [first.response['id'], other.response['id']],
      'broadcast once per nonce, in order',
    );
    assert.equal(await messageCount(app, { nonce: 'n-1' }), 1);
    // Nonces are per user: another user's n-1 is a message of its own.
    assert.notEqual((await watcher.say('mine too', { nonce: 'n-1' })).response['id'], first.response['id']);
    assert.deepEqual(await sender.say('bad', { nonce: 'x'.repeat(65) }), {
      status: 'error',
      response: { reason: 'invalid_params', errors: { nonce: 'must be at most 64 characters' } },
    });
  });

  it('a retry whose first reply was lost (its session killed between the insert and the reply) is stored and broadcast once', async () => {
    const known = new Set((await app.sessions()).map((s) => s.id));
    const sender = Person.browser(app, 'lost-reply', 'lou');
    assert.equal((await sender.join()).status, 'ok');
    const session = (await app.sessions()).find((s) => !known.has(s.id));
    assert.ok(session, "the sender's session");
    const watcher = Person.browser(app, 'lost-reply', 'wes');
    await watcher.join();

    // Inserts into messages wait while this transaction holds the table.
    let release = (): void => {};
    const released = new Promise<void>((resolve) => (release = resolve));
    let locked = (): void => {};
    const holding = new Promise<void>((resolve) => (locked = resolve));
    const lock = app.db.sql.begin(async (tx) => {
      await tx`LOCK TABLE messages IN SHARE ROW EXCLUSIVE MODE`;
      locked();
      await released;
    });
    await holding;
    const firstAttempt = sender.say('sent while it died', { nonce: 'lost-1' }, 2_000);
    await eventually(async () => {
      const [row] = await app.db.sql`SELECT count(*) AS n FROM pg_locks WHERE relation = 'messages'::regclass AND NOT granted`;
      return Number(row?.['n']) > 0;
    }, 5_000);
    // The insert is in flight; its Session dies now, and the reply it would send dies with it.
    assert.ok(kill(session.pid));
    release();
    await lock;
    assert.equal((await firstAttempt).status, 'timeout');
    const retry = await sender.say('sent while it died', { nonce: 'lost-1' });
    assert.equal(retry.status, 'ok');
    const id = retry.response['id'];
    assert.equal(await messageCount(app, { nonce: 'lost-1' }), 1);
    await eventually(() => sender.seen.some((m) => m.id === id) && watcher.seen.some((m) => m.id === id), 5_000);
    assert.equal(watcher.seen.filter((m) => m.id === id).length, 1, 'the watcher got it once');
    assert.equal(sender.seen.filter((m) => m.id === id).length, 1, 'the sender got it once, across its rejoin');
  });
});

describe('NAMES=open: a name is its browser\'s while it is online', () => {
  let app: TestApp;
  before(async () => {
    app = await startTestApp({ env: { ...FAST, NAMES: 'open' } });
  });
  after(async () => {
    await app.stop();
  });

  it('an offline name may be taken by another browser, which cannot delete the first one\'s messages', async () => {
    const alice = Person.browser(app, 'open', 'olive');
    await alice.join();
    const posted = await alice.say('written by the first olive');
    const second = Person.browser(app, 'open', 'olive', 'second-browser');
    assert.deepEqual(await second.join(), TAKEN, 'refused while the first is online');
    alice.leave();

    // Once the first is gone (and a few seconds after it last signed in), the name is free.
    const { person: taker } = await joinWhenFree(() => Person.browser(app, 'open', 'olive', 'second-browser'), 15_000);
    assert.deepEqual(await push(taker.channel, 'delete_msg', { id: posted.response['id'] }), { status: 'error', response: { reason: 'forbidden' } });
    const first = Person.browser(app, 'open', 'olive');
    assert.deepEqual(await first.join(), TAKEN, 'the first browser is refused while the second holds the name');
  });

  it('100 pairs of browsers racing for a new name each: exactly one of each pair gets it', async () => {
    assert.deepEqual(await racePairs(app, 'open'), Array.from({ length: 100 }, () => 1));
  });
});

const now = () => Math.floor(Date.now() / 1000);

async function refusedUpgrade(app: TestApp, token: string | undefined): Promise<{ status: number; body: string }> {
  return tryUpgrade(app.wsUrl, { query: `vsn=2.0.0${token === undefined ? '' : `&token=${encodeURIComponent(token)}`}` });
}

describe('signed tokens (AUTH_JWT_SECRET, HS256)', () => {
  const secret = 'a-secret-of-the-application-32-bytes-long';
  const key = new TextEncoder().encode(secret);
  const sign = (claims: Record<string, unknown>, options: { exp?: number; key?: Uint8Array } = {}) =>
    new SignJWT(claims).setProtectedHeader({ alg: 'HS256' }).setExpirationTime(options.exp ?? now() + 3600).sign(options.key ?? key);
  let app: TestApp;
  before(async () => {
    app = await startTestApp({ env: { ...FAST, AUTH_JWT_SECRET: secret } });
  });
  after(async () => {
    await app.stop();
  });

  it('a valid token signs the socket in: the name comes from the token, no name form', async () => {
    const token = await sign({ sub: 'user-42', name: 'Grace' });
    const grace = new Person(app, 'signed', {}, () => ({ token }));
    const joined = await grace.join();
    assert.equal(joined.status, 'ok');
    assert.equal((joined.response['user'] as { name: string }).name, 'Grace');
    const posted = await grace.say('hello from the application');
    assert.equal(posted.status, 'ok');
    // The same sub on another device is the same user: its messages are its own.
    const phone = new Person(app, 'signed', { username: 'grace' }, () => ({ token }));
    assert.equal((await phone.join()).status, 'ok');
    assert.deepEqual(await push(phone.channel, 'delete_msg', { id: posted.response['id'] }), { status: 'ok', response: {} });
  });

  it('refuses at the upgrade: missing, malformed, expired, wrong key, alg none; each counted in /metrics', async () => {
    const unsecured = `${Buffer.from('{"alg":"none","typ":"JWT"}').toString('base64url')}.${Buffer.from(JSON.stringify({ sub: 'x', name: 'x', exp: now() + 60 })).toString('base64url')}.`;
    const cases: Array<[string, string | undefined, string]> = [
      ['missing', undefined, 'missing'],
      ['malformed', 'not-a-jwt', 'malformed'],
      ['expired', await sign({ sub: 'old', name: 'old' }, { exp: now() - 10 }), 'expired'],
      ['wrong key', await sign({ sub: 'x', name: 'x' }, { key: new TextEncoder().encode('another-secret-of-32-bytes-or-more!!') }), 'bad_signature'],
      ['alg none', unsecured, 'bad_signature'],
      ['no sub', await sign({ name: 'nobody' }), 'bad_claims'],
      ['bad name', await sign({ sub: 'y', name: 'has spaces' }), 'bad_claims'],
    ];
    for (const [what, token, reason] of cases) {
      const answer = await refusedUpgrade(app, token);
      assert.equal(answer.status, 403, what);
      assert.match(answer.body, new RegExp(`^${reason}: `), what);
    }
    const metrics = parseMetrics(await (await fetch(`${app.httpUrl}/metrics`)).text());
    for (const reason of ['missing', 'malformed', 'expired', 'bad_signature', 'bad_claims']) {
      assert.ok((metrics.get(`chat_auth_refused_total{reason="${reason}"}`) ?? 0) >= 1, reason);
    }
  });

  it('a user renamed in the application: later joins read its messages under the new name, history held for joins too', async () => {
    const [asRuth, asRuthie, lobbyist] = await Promise.all([
      sign({ sub: 'user-50', name: 'Ruth' }),
      sign({ sub: 'user-50', name: 'Ruthie' }),
      sign({ sub: 'user-51', name: 'Lobbyist' }),
    ]);
    const author = new Person(app, 'renames', {}, () => ({ token: asRuth }));
    assert.equal((await author.join()).status, 'ok');
    const posted = await author.say('said as Ruth');
    assert.equal(posted.status, 'ok');
    await eventually(() => author.seen.length === 1);
    const authorsOf = async (): Promise<string[]> => {
      const n = sockets.length;
      const token = await sign({ sub: `reader-${n}`, name: `reader${n}` });
      const reader = new Person(app, 'renames', {}, () => ({ token }));
      const reply = await reader.join();
      assert.equal(reply.status, 'ok');
      reader.leave();
      return (reply.response['messages'] as Message[]).map((message) => message.user);
    };
    assert.deepEqual(await authorsOf(), ['Ruth']);
    assert.deepEqual(await authorsOf(), ['Ruth'], 'a second join, the history held on the node');

    const lobby = connect(app.wsUrl, { params: () => ({ token: lobbyist }) });
    sockets.push(lobby);
    const renames: unknown[] = [];
    const users = lobby.channel('users:lobby', {});
    users.on('user_renamed', (payload) => renames.push(payload));
    await new Promise((resolve, reject) => users.join().receive('ok', resolve).receive('error', reject));
    const renamed = new Person(app, 'renames', {}, () => ({ token: asRuthie }));
    assert.equal((await renamed.join()).status, 'ok');
    await eventually(() => renames.length === 1);
    assert.deepEqual(renames, [{ from: 'Ruth', name: 'Ruthie' }], 'the lobby is told');
    assert.deepEqual(await authorsOf(), ['Ruthie']);
  });

  it('a username in the join must be the token\'s', async () => {
    const token = await sign({ sub: 'user-7', name: 'heidi' });
    const wrong = new Person(app, 'signed', { username: 'mallory' }, () => ({ token }));
    assert.deepEqual(await wrong.join(), {
      status: 'error',
      response: { reason: 'invalid_params', errors: { username: 'does not match the signed-in user (heidi)' } },
    });
  });

  it('a socket whose token expires is closed at exp; its client reconnects with a fresh token and rejoins', async () => {
    let token = await sign({ sub: 'user-9', name: 'ivan' }, { exp: now() + 2 });
    const ivan = new Person(app, 'expiring', {}, () => ({ token }));
    const closes: number[] = [];
    ivan.socket.onClose((event: unknown) => closes.push(z.object({ code: z.number() }).parse(event).code));
    assert.equal((await ivan.join()).status, 'ok');
    token = await sign({ sub: 'user-9', name: 'ivan' });
    await eventually(() => closes.length > 0, 5_000);
    assert.equal(closes[0], 1008);
    await eventually(() => ivan.channel.state === 'joined' && ivan.socket.isConnected(), 5_000);
    assert.equal((await ivan.say('still me')).status, 'ok');
  });
});

describe('signed tokens (AUTH_JWT_PUBLIC_KEY, RS256 and ES256)', () => {
  const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const pem = (key: typeof rsa.publicKey) => key.export({ type: 'spki', format: 'pem' }).toString();

  for (const [alg, pair] of [['RS256', rsa], ['ES256', ec]] as const) {
    describe(alg, () => {
      let app: TestApp;
      before(async () => {
        app = await startTestApp({ env: { ...FAST, AUTH_JWT_PUBLIC_KEY: pem(pair.publicKey) } });
      });
      after(async () => {
        await app.stop();
      });

      it(`takes ${alg} tokens signed with the private key; refuses an HS256 token made with the public key as its secret`, async () => {
        const token = await new SignJWT({ sub: `${alg}-user`, name: `${alg.toLowerCase()}_user` }).setProtectedHeader({ alg }).setExpirationTime('1h').sign(pair.privateKey);
        const person = new Person(app, 'keys', {}, () => ({ token }));
        assert.equal((await person.join()).status, 'ok');
        const confused = await new SignJWT({ sub: 'attacker', name: 'attacker' })
          .setProtectedHeader({ alg: 'HS256' })
          .setExpirationTime('1h')
          .sign(new TextEncoder().encode(pem(pair.publicKey)));
        const answer = await refusedUpgrade(app, confused);
        assert.equal(answer.status, 403);
        assert.match(answer.body, /^bad_signature: /);
      });
    });
  }
});
