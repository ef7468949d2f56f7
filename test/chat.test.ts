import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Presence, type Channel, type Socket } from 'phoenix';
import { WebSocket } from 'ws';
import * as PubSub from '../src/pubsub/pubsub.js';
import { startTestApp, type TestApp } from './support/app.js';
import { connect, join, push, type Reply } from './support/phoenix-client.js';
import { parseMetrics } from './support/ops.js';
import { Changes, eventually, sleep } from './support/probe.js';

let app: TestApp;
const sockets: Socket[] = [];

before(async () => {
  app = await startTestApp({ env: { RATE_LIMIT_PER_SEC: '1000', RATE_LIMIT_BURST: '1000' } });
});
after(async () => {
  for (const socket of sockets) socket.disconnect();
  await app.stop();
});

const token = (seed: string) => `${seed}-token-`.padEnd(24, 'x');

interface Message {
  id: number;
  user: string;
  body: string;
  inserted_at: string;
}

/** A phoenix.js client in a room, keeping what it saw the way the browser client does. */
class Member {
  readonly socket: Socket;
  readonly channel: Channel;
  readonly seen: number[] = [];
  readonly messages = new Map<number, Message>();
  readonly errors: unknown[] = [];
  /** Told of every message seen, for `until`. */
  readonly arrivals = new Changes();
  lastSeenId: number | undefined = undefined;

  constructor(
    readonly name: string,
    readonly room: string,
    tokenSeed = name,
  ) {
    this.socket = connect(app.wsUrl);
    sockets.push(this.socket);
    this.channel = this.socket.channel(`room:${room}`, () => ({
      username: name,
      token: token(tokenSeed),
      ...(this.lastSeenId === undefined ? {} : { last_seen_id: this.lastSeenId }),
    }));
    this.channel.on('new_msg', (payload) => this.receive(payload as unknown as Message));
    this.channel.onError((reason) => this.errors.push(reason));
  }

  receive(message: Message): void {
    this.seen.push(message.id);
    this.messages.set(message.id, message);
    this.lastSeenId = Math.max(this.lastSeenId ?? 0, message.id);
    this.arrivals.changed();
  }

  /** Resolves once this member has seen `count` messages in all. */
  seenAtLeast(count: number, timeoutMs?: number): Promise<void> {
    return this.arrivals.until(() => this.seen.length >= count, `${this.name} seeing ${count} messages`, timeoutMs);
  }

  join(): Promise<Reply> {
    // phoenix.js runs these hooks again on every automatic rejoin, whose reply carries the catch-up.
    return new Promise((resolve) => {
      this.channel
        .join()
        .receive('ok', (response) => {
          for (const message of response['messages'] as Message[]) this.receive(message);
          resolve({ status: 'ok', response });
        })
        .receive('error', (response) => resolve({ status: 'error', response }))
        .receive('timeout', () => resolve({ status: 'timeout', response: {} }));
    });
  }

  say(body: string): Promise<Reply> {
    return push(this.channel, 'new_msg', { body });
  }
}

async function sessionOf(socketCountBefore: number): Promise<string> {
  const sessions = await app.sessions();
  assert.ok(sessions.length > socketCountBefore);
  return sessions.at(-1)?.id ?? '';
}

describe('chat over the stock phoenix.js client', () => {
  it('two users chat: each sees both messages, the sender included, with ids from the database', async () => {
    const alice = new Member('alice', 'duo');
    const bob = new Member('bob', 'duo');
    assert.equal((await alice.join()).status, 'ok');
    assert.equal((await bob.join()).status, 'ok');
    const sent = await alice.say('hi bob');
    assert.equal(sent.status, 'ok');
    const id = sent.response['id'];
    assert.equal(typeof id, 'number');
    assert.equal((await bob.say('hi alice')).status, 'ok');
    await eventually(() => alice.seen.length === 2 && bob.seen.length === 2);
    const received = bob.messages.get(id as number);
    assert.equal(received?.user, 'alice');
    assert.equal(received?.body, 'hi bob');
    assert.ok(!Number.isNaN(Date.parse(received?.inserted_at ?? '')));
    assert.deepEqual(alice.seen, bob.seen, 'both saw the same messages in the same order');
  });

  it('a join replies with the last messages, or those after last_seen_id', async () => {
    const writer = new Member('writer', 'history');
    await writer.join();
    const ids: number[] = [];
    for (let i = 0; i < 5; i += 1) ids.push((await writer.say(`m${i}`)).response['id'] as number);
    const reader = new Member('reader', 'history');
    const full = await reader.join();
    assert.deepEqual((full.response['messages'] as Message[]).map((m) => m.id), ids);
    const late = new Member('late', 'history');
    late.lastSeenId = ids[2];
    const partial = await late.join();
    assert.deepEqual((partial.response['messages'] as Message[]).map((m) => m.id), ids.slice(3));
  });

  it('three tabs of one user are one presence key with three metas; leave and disconnect produce leaves', async () => {
    const watcher = new Member('watcher', 'tabs');
    const presence = new Presence(watcher.channel);
    await watcher.join();
    const tabs = [new Member('carol', 'tabs'), new Member('carol', 'tabs'), new Member('carol', 'tabs')];
    for (const tab of tabs) assert.equal((await tab.join()).status, 'ok', 'the same token joins as one more tab');
    const metasOf = (key: string) => presence.list((name, p) => ({ name, count: p.metas.length })).find((e) => e.name === key)?.count ?? 0;
    await eventually(() => metasOf('carol') === 3);
    await new Promise<void>((resolve) => tabs[0]?.channel.leave().receive('ok', () => resolve()));
    await eventually(() => metasOf('carol') === 2);
    tabs[1]?.socket.disconnect();
    await eventually(() => metasOf('carol') === 1);
    tabs[2]?.socket.disconnect();
    await eventually(() => metasOf('carol') === 0);
  });

  it('a name is the first browser token\'s: another token is refused (username_taken), online or not; the owner keeps chatting', async () => {
    const owner = new Member('dave', 'names');
    await owner.join();
    const impostor = new Member('Dave', 'names', 'someone-else');
    const refused = await impostor.join();
    assert.deepEqual(refused, { status: 'error', response: { reason: 'username_taken' } });
    assert.equal((await owner.say('still here')).status, 'ok');
    owner.socket.disconnect();
    const later = new Member('dave', 'names', 'someone-else');
    assert.deepEqual(await later.join(), { status: 'error', response: { reason: 'username_taken' } }, 'the owner being gone changes nothing');
    const back = new Member('dave', 'names');
    assert.equal((await back.join()).status, 'ok', 'the owner comes back to the name');
  });

  it('delete_msg: author only, broadcast as msg_deleted; load_older pages back', async () => {
    const author = new Member('erin', 'edits');
    const other = new Member('frank', 'edits');
    await author.join();
    await other.join();
    const deletions: unknown[] = [];
    other.channel.on('msg_deleted', (payload) => deletions.push(payload));
    const ids: number[] = [];
    for (let i = 0; i < 60; i += 1) ids.push((await author.say(`line ${i}`)).response['id'] as number);
    const target = ids[59] as number;
    assert.deepEqual(await push(other.channel, 'delete_msg', { id: target }), { status: 'error', response: { reason: 'forbidden' } });
    assert.deepEqual(await push(author.channel, 'delete_msg', { id: target }), { status: 'ok', response: {} });
    await eventually(() => deletions.length === 1);
    assert.deepEqual(deletions, [{ id: target }]);
    const older = await push(other.channel, 'load_older', { before_id: ids[55] });
    assert.deepEqual((older.response['messages'] as Message[]).map((m) => m.id), ids.slice(5, 55));
  });

  it('each join gets the room\'s history as stored, after deletes and new messages too; joins after the first read it from the node', async () => {
    const author = new Member('ivan', 'held');
    await author.join();
    const ids: number[] = [];
    for (let i = 0; i < 3; i += 1) ids.push((await author.say(`held ${i}`)).response['id'] as number);
    await author.seenAtLeast(3);
    const heldJoins = async () => parseMetrics(await (await fetch(`${app.httpUrl}/metrics`)).text()).get('chat_join_history_held_total') ?? 0;
    const historyOf = async (name: string) => {
      const reply = await new Member(name, 'held').join();
      assert.equal(reply.status, 'ok', name);
      return (reply.response['messages'] as Message[]).map((message) => `${message.id} ${message.body}`);
    };
    const page = (kept: number[]) => kept.map((i) => `${ids[i]} held ${i}`);
    const held = await heldJoins();
    assert.deepEqual(await historyOf('judy'), page([0, 1, 2]));
    assert.deepEqual(await historyOf('ken'), page([0, 1, 2]));
    assert.equal(await heldJoins(), held + 2, 'the author\'s join left the room\'s page, kept as it spoke');

    const deletions = new Changes();
    let deleted = 0;
    author.channel.on('msg_deleted', () => {
      deleted += 1;
      deletions.changed();
    });
    assert.equal((await push(author.channel, 'delete_msg', { id: ids[1] })).status, 'ok');
    await deletions.until(() => deleted === 1, 'the delete dispatched here');
    assert.deepEqual(await historyOf('liz'), page([0, 2]));
    ids.push((await author.say('held 3')).response['id'] as number);
    await author.seenAtLeast(4);
    assert.deepEqual(await historyOf('mia'), page([0, 2, 3]), 'the new message is in the next join\'s history');
    assert.equal(await heldJoins(), held + 4, 'the node kept its history as the room changed');
  });

  it('a killed session restarts; the client rejoins and has every message exactly once while the other user keeps sending', async () => {
    const before = (await app.sessions()).length;
    const victim = new Member('grace', 'crash');
    await victim.join();
    const victimSession = await sessionOf(before);
    const sender = new Member('heidi', 'crash');
    await sender.join();
    const sent: number[] = [];
    let sending = true;
    const sending$ = (async () => {
      for (let i = 0; sending; i += 1) {
        const reply = await sender.say(`burst ${i}`);
        if (reply.status === 'ok') sent.push(reply.response['id'] as number);
        await sleep(5); // pacing: a steady stream through the crash
      }
    })();
    // The stream is flowing before the crash, and still after the rejoin.
    await victim.seenAtLeast(5);
    await app.crashSession(victimSession);
    await eventually(() => victim.errors.length === 1, 5_000);
    await eventually(() => victim.channel.state === 'joined', 10_000);
    await victim.seenAtLeast(victim.seen.length + 5);
    sending = false;
    await sending$;
    await eventually(() => sent.every((id) => victim.messages.has(id)), 5_000);
    assert.deepEqual([...victim.seen].sort((a, b) => a - b), [...sent].sort((a, b) => a - b), 'every message exactly once');
    assert.deepEqual(victim.seen, [...victim.seen].sort((a, b) => a - b), 'in order');
    assert.equal(sender.errors.length, 0, 'the other user noticed nothing');
    assert.ok((await app.sessions()).some((s) => s.id === victimSession), 'the same session id was restarted');
  });

  it('a session crashing past its restart intensity is closed with 1011; the others carry on', async () => {
    const before = (await app.sessions()).length;
    const raw = new WebSocket(`${app.wsUrl}/websocket?vsn=2.0.0`);
    const closed = new Promise<number>((resolve) => raw.on('close', (code) => resolve(code)));
    await new Promise((resolve) => raw.on('open', resolve));
    await eventually(async () => (await app.sessions()).length > before);
    const id = await sessionOf(before);
    const bystander = new Member('ivan', 'loop');
    await bystander.join();
    // Each crash hits the incarnation restarted after the one before (crashSession waits for the exit).
    for (let i = 0; i < 4; i += 1) await app.crashSession(id).catch(() => undefined);
    assert.equal(await closed, 1011);
    assert.equal((await bystander.say('unharmed')).status, 'ok');
    assert.ok(!(await app.sessions()).some((s) => s.id === id), 'given up, not restarted again');
  });

  it('a user can be disconnected as a whole (users_socket:<name>): all their sockets close with 1001', async () => {
    const tabs = [new Member('judy', 'kick'), new Member('judy', 'kick')];
    for (const tab of tabs) await tab.join();
    const closes: number[] = [];
    for (const tab of tabs) tab.socket.onClose((event) => closes.push((event as { code: number }).code));
    PubSub.broadcast('users_socket:judy', 'disconnect', {});
    await eventually(() => closes.length >= 2);
    assert.deepEqual(closes.slice(0, 2), [1001, 1001]);
  });

  it('the lobby lists every user and who is online, live', async () => {
    const viewer = connect(app.wsUrl);
    sockets.push(viewer);
    const lobby = viewer.channel('users:lobby', {});
    const presence = new Presence(lobby);
    const joined: string[] = [];
    lobby.on('user_joined', (payload) => joined.push(payload['name'] as string));
    const reply = await join(lobby);
    assert.equal(reply.status, 'ok');
    const names = (reply.response['users'] as Array<{ name: string }>).map((u) => u.name);
    assert.ok(names.includes('alice') && names.includes('bob'));
    const newcomer = new Member('kate', 'somewhere');
    await newcomer.join();
    await eventually(() => joined.includes('kate'));
    await eventually(() => presence.list((name) => name).includes('kate'));
    newcomer.socket.disconnect();
    await eventually(() => !presence.list((name) => name).includes('kate'));
  });
});
