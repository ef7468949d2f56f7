import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Presence, type Channel, type Socket } from 'phoenix';
import { startTestApp, type TestApp } from './support/app.js';
import { freshDatabase, type TestDatabase } from './support/db.js';
import { connect, join, push } from './support/phoenix-client.js';
import { Changes } from './support/probe.js';
import { startServerProcess, type ServerProcess } from './support/server-process.js';

/**
 * Rooms past PRESENCE_FULL_LIMIT, over the stock phoenix.js client: small
 * rooms keep Phoenix's presence_state and presence_diff; large ones get
 * presence_summary (count, recent speakers) instead, and go back to full
 * below 90% of the limit. What members receive over a fill grows linearly
 * with the room where full presence grows with its square.
 */

const LIMIT = 5;
// Joins and sockets are many and quick here; the limits are not what is tested.
const ENV = { PRESENCE_FULL_LIMIT: String(LIMIT), JOIN_RATE_PER_SEC: '1000', JOIN_BURST: '1000', RATE_LIMIT_PER_SEC: '1000', RATE_LIMIT_BURST: '1000', MAX_SOCKETS_PER_IP: '0' };

type Summary = { count: number; recent: string[] };
type PresencePush = { readonly event: string; readonly payload: Record<string, unknown> };
const PRESENCE_EVENTS = ['presence_state', 'presence_diff', 'presence_summary'];

const token = (name: string) => `${name}-token-`.padEnd(24, 'x');

/** A phoenix.js member of a room, keeping every presence push it gets and their bytes. */
class Member {
  readonly socket: Socket;
  readonly channel: Channel;
  readonly presence: Presence;
  readonly pushes: PresencePush[] = [];
  bytes = 0;
  private readonly changes = new Changes();

  /** `room`, or the whole topic (`users:lobby`) with the join's params. */
  constructor(wsUrl: string, room: string | { readonly topic: string; readonly params: Record<string, unknown> }, readonly name: string) {
    this.socket = connect(wsUrl);
    this.channel =
      typeof room === 'string'
        ? this.socket.channel(`room:${room}`, { username: name, token: token(name) })
        : this.socket.channel(room.topic, room.params);
    this.presence = new Presence(this.channel);
    for (const event of PRESENCE_EVENTS) {
      this.channel.on(event, (payload: Record<string, unknown>) => {
        this.pushes.push({ event, payload });
        this.bytes += JSON.stringify(payload).length;
        this.changes.changed();
      });
    }
  }

  async join(): Promise<this> {
    const joined = await join(this.channel);
    assert.equal(joined.status, 'ok', JSON.stringify(joined.response));
    return this;
  }

  get summaries(): Summary[] {
    return this.pushes.filter((p) => p.event === 'presence_summary').map((p) => p.payload as Summary);
  }

  get last(): PresencePush | undefined {
    return this.pushes.at(-1);
  }

  online(): string[] {
    return this.presence.list((key) => key).sort();
  }

  until(condition: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
    return this.changes.until(condition, `${this.name}: ${what}`, timeoutMs);
  }

  async say(body: string): Promise<void> {
    assert.equal((await push(this.channel, 'new_msg', { body })).status, 'ok');
  }
}

const names = (prefix: string, n: number) => Array.from({ length: n }, (_, i) => `${prefix}${i}`);

/** `n` members join `room`, ten at a time; resolves once every one of them has its first presence push. */
async function fillRoom(wsUrl: string, room: string, n: number, track: Member[]): Promise<Member[]> {
  const members: Member[] = [];
  for (let wave = 0; wave < n; wave += 10) {
    const joined = await Promise.all(names(`${room}_`, n).slice(wave, wave + 10).map((name) => {
      const member = new Member(wsUrl, room, name);
      track.push(member);
      return member.join();
    }));
    members.push(...joined);
  }
  await Promise.all(members.map((m) => m.until(() => m.pushes.length > 0, 'its first presence push')));
  return members;
}

const N = 60;
/** Linear in N: summaries are a few dozen bytes, and each member gets about one a second. Full presence sends ~N^2 metas of ~90 bytes. */
const BYTES_PER_MEMBER = 2_000;

describe('large rooms (PRESENCE_FULL_LIMIT)', { timeout: 120_000 }, () => {
  let app: TestApp;
  const members: Member[] = [];

  before(async () => {
    app = await startTestApp({ env: ENV });
  });
  after(async () => {
    for (const member of members) member.socket.disconnect();
    await app?.stop();
  });

  const member = async (room: string, name: string) => {
    const m = new Member(app.wsUrl, room, name);
    members.push(m);
    return m.join();
  };

  it('up to the limit: presence_state on join and presence_diff after, as ever', async () => {
    const [ann, bea, cid] = [await member('small', 'ann'), await member('small', 'bea'), await member('small', 'cid')];
    await ann.until(() => ann.online().join() === 'ann,bea,cid', 'everyone by diffs');
    await cid.until(() => cid.pushes.length > 0, 'its state');
    assert.equal(cid.pushes[0]?.event, 'presence_state');
    assert.deepEqual(cid.online(), ['ann', 'bea', 'cid']);
    assert.ok(ann.pushes.some((p) => p.event === 'presence_diff'));
    assert.deepEqual([ann, bea, cid].flatMap((m) => m.summaries), [], 'no summary in a small room');
  });

  it('past it: members get one summary on crossing, a late joiner a summary with count and speakers and no state; below 90% full state again', async () => {
    const first = await Promise.all(names('m', LIMIT).map((name) => member('crowd', name)));
    for (const m of first) await m.until(() => m.online().length === LIMIT, 'everyone there');
    await first[0]?.say('hello while small');
    await first[1]?.say('me too');

    const sixth = await member('crowd', 'm5');
    for (const m of first) await m.until(() => m.summaries.length > 0, 'the crossing summary');
    for (const m of first) assert.deepEqual(m.summaries[0], { count: LIMIT + 1, recent: ['m1', 'm0'] }, `${m.name}: one summary on crossing`);
    await sixth.until(() => sixth.summaries.length > 0, 'its summary');
    assert.equal(sixth.pushes[0]?.event, 'presence_summary', 'joined past the limit: a summary, not a state');

    const late = await member('crowd', 'late');
    await late.until(() => late.pushes.length > 0, 'its join push');
    assert.deepEqual(late.pushes[0], { event: 'presence_summary', payload: { count: LIMIT + 2, recent: ['m1', 'm0'] } });
    // A speaker in the large room: everyone hears of it within the interval (1 s at this size).
    await sixth.say('hi from the crowd');
    await late.until(() => late.summaries.some((s) => s.recent[0] === 'm5'), 'm5 among the recent speakers');
    assert.deepEqual(late.summaries.at(-1), { count: LIMIT + 2, recent: ['m5', 'm1', 'm0'] });
    // A speaker who leaves is not listed.
    first[1]?.channel.leave();
    await late.until(() => late.summaries.at(-1)?.count === LIMIT + 1, 'the leave counted');
    assert.deepEqual(late.summaries.at(-1), { count: LIMIT + 1, recent: ['m5', 'm0'] });
    assert.ok(!late.pushes.some((p) => p.event !== 'presence_summary'), 'no presence_state or diff in a large room');
    assert.deepEqual(late.online(), [], "stock phoenix.js: its Presence has no list here, and nothing broke it");

    // 6 -> 4 (below 90% of 5): every member is sent the full state again, and diffs follow.
    for (const m of [first[2], first[3]]) m?.channel.leave();
    const stayed = [first[0], first[4], sixth, late].filter((m): m is Member => m !== undefined);
    for (const m of stayed) await m.until(() => m.last?.event === 'presence_state', 'the full state again');
    for (const m of stayed) assert.deepEqual(m.online(), ['late', 'm0', 'm4', 'm5'], `${m.name}: the full list`);
    await member('crowd', 'back');
    for (const m of stayed) await m.until(() => m.online().includes('back'), 'a diff again');
    assert.equal(late.last?.event, 'presence_diff');
  });

  it('the lobby is sized too: past the limit online, a landing page gets the count, not everyone', async () => {
    // Everyone in a room above is in the lobby: more than LIMIT of them by now.
    const landing = new Member(app.wsUrl, { topic: 'users:lobby', params: {} }, 'landing page');
    members.push(landing);
    await landing.join();
    await landing.until(() => landing.pushes.length > 0, 'the lobby join push');
    assert.equal(landing.pushes[0]?.event, 'presence_summary');
    const { count } = landing.pushes[0]?.payload as Summary;
    assert.ok(count > LIMIT, `${count} online`);
  });

  it(`a fill of ${N} with limit ${LIMIT}: the presence bytes members get stay under ${BYTES_PER_MEMBER} x N`, async (t) => {
    const filled = await fillRoom(app.wsUrl, 'fill', N, members);
    for (const m of filled) await m.until(() => m.last?.event === 'presence_summary' && m.summaries.at(-1)?.count === N, 'the final count');
    const bytes = filled.reduce((sum, m) => sum + m.bytes, 0);
    t.diagnostic(`${bytes} presence payload bytes in all`);
    assert.ok(bytes < BYTES_PER_MEMBER * N, `${bytes} bytes over a fill of ${N}`);
  });
});

describe('the same fill with the limit raised (full presence all along)', { timeout: 120_000 }, () => {
  let app: TestApp;
  const members: Member[] = [];

  before(async () => {
    app = await startTestApp({ env: { ...ENV, PRESENCE_FULL_LIMIT: '1000' } });
  });
  after(async () => {
    for (const member of members) member.socket.disconnect();
    await app?.stop();
  });

  it(`exceeds ${BYTES_PER_MEMBER} x N: the bound above is one O(N^2) presence would not meet`, async (t) => {
    const filled = await fillRoom(app.wsUrl, 'fill', N, members);
    for (const m of filled) await m.until(() => m.online().length === N, 'everyone listed');
    const bytes = filled.reduce((sum, m) => sum + m.bytes, 0);
    t.diagnostic(`${bytes} presence payload bytes in all`);
    assert.ok(bytes > BYTES_PER_MEMBER * N, `${bytes} bytes over a fill of ${N}`);
    assert.deepEqual(filled.flatMap((m) => m.summaries), []);
  });
});

describe('large rooms across two nodes (CLUSTER=1)', { timeout: 120_000 }, () => {
  let db: TestDatabase;
  const nodes: ServerProcess[] = [];
  const members: Member[] = [];

  before(async () => {
    db = await freshDatabase({ migrated: true });
    for (const name of ['node-a', 'node-b']) {
      nodes.push(await startServerProcess({ ...ENV, PRESENCE_FULL_LIMIT: '3', CLUSTER: '1', NODE_NAME: name, DATABASE_URL: db.url, PRESENCE_HEARTBEAT_MS: '200' }));
    }
  });
  after(async () => {
    for (const member of members) member.socket.disconnect();
    for (const node of nodes) await node.stop();
    await db?.drop();
  });

  const member = async (node: ServerProcess | undefined, name: string) => {
    assert.ok(node !== undefined);
    const m = new Member(`${node.url.replace('http', 'ws')}/socket`, 'both', name);
    members.push(m);
    return m.join();
  };

  it("the count covers both nodes' members, and the recent speakers those who spoke on either", async () => {
    const [a, b] = nodes;
    const a1 = await member(a, 'a1');
    await member(a, 'a2');
    const b1 = await member(b, 'b1');
    await b1.until(() => b1.online().length === 3, 'both nodes listed');
    await b1.say('from node b');
    const b2 = await member(b, 'b2');
    // Four users on two nodes: past the limit of 3 on both.
    await a1.until(() => a1.summaries.some((s) => s.count === 4), 'the crossing seen on node a');
    await b2.until(() => b2.summaries.length > 0, 'a summary on node b');
    const late = await member(a, 'late');
    await late.until(() => late.summaries.some((s) => s.count === 5 && s.recent[0] === 'b1'), 'a summary counting both nodes, with b1 speaking on b');
    assert.ok(!late.pushes.some((p) => p.event === 'presence_state'));
  });
});
