import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startTestApp, type TestApp } from './support/app.js';
import { ADMIN_TOKEN, Member, admin, freePort } from './support/ops.js';
import { eventually } from './support/probe.js';

/**
 * The observer's API on one node, with real phoenix.js clients: the paged
 * session search, the once-a-second charts, the restart log, chaos, and the
 * kick of a user's every socket.
 */

interface SessionRow {
  id: string;
  user: string | null;
  topics: string[];
  restarts: number;
  mailbox: number | null;
  since: string | null;
}
interface SessionPage {
  count: number;
  total: number;
  offset: number;
  limit: number;
  sessions: SessionRow[];
}
interface Series {
  at: number[];
  sockets: number[];
  sessions: number[];
  joins: number[];
  messagesIn: number[];
  messagesOut: number[];
  restarts: number[];
}
interface Chaos {
  running: boolean;
  rate: number;
  until: number | null;
  killed: number;
}
interface Stats {
  node: string;
  series: Series;
  nodes: Array<{ node: string; sockets: number; sessions: number; ageMs: number }>;
  mailboxes: Record<string, number | null>;
  chaos: Chaos;
}
interface LogEntry {
  at: number;
  type: 'restarted' | 'gave_up';
  path: string;
  reason: string;
  restarts: number;
}

const sum = (values: number[]): number => values.reduce((a, b) => a + b, 0);

describe('the observer API', { timeout: 120_000 }, () => {
  let app: TestApp;
  const members: Member[] = [];
  const member = async (name: string, room: string): Promise<Member> => {
    const m = new Member(app.wsUrl, name, room);
    members.push(m);
    assert.equal((await m.join()).status, 'ok');
    return m;
  };
  const get = async <T>(path: string): Promise<T> => {
    const res = await admin(app.httpUrl, 'GET', path);
    assert.equal(res.status, 200, `${path}: ${JSON.stringify(res.body)}`);
    return res.body as T;
  };
  const stats = () => get<Stats>('/admin/stats');
  const restartLog = async () => (await get<{ restarts: LogEntry[] }>('/admin/restarts')).restarts;

  before(async () => {
    app = await startTestApp({ env: { ADMIN_TOKEN, PORT: String(await freePort()), RATE_LIMIT_PER_SEC: '1000', RATE_LIMIT_BURST: '1000' } });
  });
  after(async () => {
    for (const m of members) m.leave();
    await app.stop();
  });

  it('GET /admin/sessions searches by user, room or id, and pages; each row has user, rooms, mailbox, restarts, age', async () => {
    for (let i = 0; i < 7; i += 1) await member(`pager${i}`, i < 3 ? 'north' : 'south');
    await member('Quinn', 'north');
    const all = await get<SessionPage>('/admin/sessions');
    assert.equal(all.count, 8);
    assert.equal(all.total, 8);
    assert.equal(all.limit, 50, 'a page is 50 unless asked');

    const byRoom = await get<SessionPage>('/admin/sessions?q=NORTH');
    assert.equal(byRoom.count, 4, 'case does not matter');
    assert.deepEqual(byRoom.sessions.map((s) => s.user).sort(), ['Quinn', 'pager0', 'pager1', 'pager2']);
    const quinn = (await get<SessionPage>('/admin/sessions?q=quin')).sessions;
    assert.equal(quinn.length, 1);
    const row = quinn[0] as SessionRow;
    assert.deepEqual(row.topics, ['room:north']);
    assert.equal(row.mailbox, 0);
    assert.equal(row.restarts, 0);
    assert.ok(row.since !== null && Date.now() - Date.parse(row.since) < 60_000, 'its age: opened within the test');
    const byId = await get<SessionPage>(`/admin/sessions?q=${row.id}`);
    assert.deepEqual(byId.sessions.map((s) => s.user), ['Quinn']);

    // Pages of 3 over the 7 pagers: 3, 3, 1, each session once.
    const seen: string[] = [];
    for (const offset of [0, 3, 6]) {
      const page = await get<SessionPage>(`/admin/sessions?q=pager&offset=${offset}&limit=3`);
      assert.equal(page.count, 7);
      assert.equal(page.offset, offset);
      seen.push(...page.sessions.map((s) => s.user ?? ''));
    }
    assert.deepEqual(seen.sort(), ['pager0', 'pager1', 'pager2', 'pager3', 'pager4', 'pager5', 'pager6']);
    assert.equal((await get<SessionPage>('/admin/sessions?q=nobody-matches')).count, 0);

    for (const query of ['limit=0', 'limit=1001', 'limit=x', 'offset=-1', `q=${'x'.repeat(101)}`]) {
      const bad = await admin(app.httpUrl, 'GET', `/admin/sessions?${query}`);
      assert.equal(bad.status, 400, query);
      assert.equal(typeof (bad.body as { reason: unknown }).reason, 'string');
    }
  });

  it('GET /admin/stats: a point a second, and the joins and messages it counted; core mailboxes; this node in the table', async () => {
    const before = await stats();
    // Points come one a second: four more take about four seconds, each about a second after the one before.
    const started = Date.now();
    let now = before;
    await eventually(async () => {
      now = await stats();
      return now.series.at.length >= Math.min(300, before.series.at.length + 4);
    }, 10_000);
    const elapsed = Date.now() - started;
    assert.ok(elapsed > 2_500 && elapsed < 6_500, `four points took ${elapsed} ms`);
    const gaps = now.series.at.slice(1).map((at, i) => at - (now.series.at[i] ?? 0));
    for (const gap of gaps.slice(-4)) assert.ok(gap > 800 && gap < 1_300, `points ${gap} ms apart`);
    for (const key of ['sockets', 'sessions', 'joins', 'messagesIn', 'messagesOut', 'restarts'] as const) assert.equal(now.series[key].length, now.series.at.length, key);
    assert.equal(now.series.sockets.at(-1), members.length);

    // Joins and messages show up as rates: their sum over the points since is at least what was done.
    const from = now.series.at.at(-1) ?? 0;
    const a = await member('counter-a', 'counted');
    const b = await member('counter-b', 'counted');
    for (let i = 0; i < 10; i += 1) assert.equal((await a.say(`counted ${i}`)).status, 'ok');
    await b.seenAtLeast(10);
    await eventually(async () => {
      const { series } = await stats();
      const since = (values: number[]) => sum(values.filter((_, i) => (series.at[i] ?? 0) > from));
      // Two joins; ten pushes (plus heartbeats); each message out to both members, and the replies.
      return since(series.joins) >= 2 && since(series.messagesIn) >= 12 && since(series.messagesOut) >= 30;
    }, 10_000);

    const { mailboxes, nodes, node } = await stats();
    assert.deepEqual(Object.keys(mailboxes), ['repo', 'pubsub', 'presence', 'sessions', 'http']);
    for (const depth of Object.values(mailboxes)) assert.equal(typeof depth, 'number');
    assert.deepEqual(nodes.map((n) => n.node), [node], 'one node, heard from itself');
    assert.equal(nodes[0]?.sockets, members.length);
  });

  it('the restart log names a killed session with its path and reason, newest first', async () => {
    const victim = await member('logged', 'log');
    const id = (await get<SessionPage>('/admin/sessions?q=logged')).sessions[0]?.id;
    assert.ok(id);
    assert.equal((await admin(app.httpUrl, 'POST', `/admin/sessions/${id}/kill`)).status, 200);
    await eventually(async () => (await restartLog())[0]?.path === `/app/endpoint/sessions/${id}`, 5_000);
    const entry = (await restartLog())[0] as LogEntry;
    assert.equal(entry.type, 'restarted');
    assert.equal(entry.reason, 'crash: killed by the admin API');
    assert.equal(entry.restarts, 1);
    assert.ok(Math.abs(Date.now() - entry.at) < 10_000);
    await eventually(() => victim.channel.state === 'joined', 10_000);
    // It shows in the charts too.
    await eventually(async () => sum((await stats()).series.restarts) >= 1, 5_000);
  });

  it('chaos kills K random sessions a second for T seconds, then stops; stop ends it early; bad parameters are a 400', async () => {
    const logged = (await restartLog()).length;
    const started = Date.now();
    const res = await admin(app.httpUrl, 'POST', '/admin/chaos?rate=2&seconds=3');
    assert.equal(res.status, 200, JSON.stringify(res.body));
    const chaos = (res.body as { chaos: Chaos }).chaos;
    assert.equal(chaos.running, true);
    assert.equal(chaos.rate, 2);
    assert.ok(chaos.until !== null && Math.abs(chaos.until - (started + 3_000)) < 1_000);
    await eventually(async () => !(await stats()).chaos.running, 10_000);
    const took = Date.now() - started;
    assert.ok(took > 2_000 && took < 6_000, `ran ${took} ms`);
    const done = (await stats()).chaos;
    assert.equal(done.killed, 6, '2 a second for 3 seconds');
    await eventually(async () => (await restartLog()).length >= Math.min(100, logged + 6), 5_000);
    assert.deepEqual(new Set((await restartLog()).slice(0, 6).map((entry) => entry.reason)), new Set(['crash: killed by chaos (admin API)']), 'the log tells chaos from a person');
    for (const m of members) await eventually(() => m.channel.state === 'joined', 15_000);

    const long = await admin(app.httpUrl, 'POST', '/admin/chaos?rate=1&seconds=600');
    assert.equal(long.status, 200);
    await eventually(async () => (await stats()).chaos.killed >= 1, 5_000);
    const stopped = await admin(app.httpUrl, 'POST', '/admin/chaos/stop');
    assert.equal(stopped.status, 200);
    const after = (stopped.body as { chaos: Chaos }).chaos;
    assert.equal(after.running, false);
    assert.ok(after.until !== null && after.until <= Date.now());
    assert.equal((await stats()).chaos.killed, after.killed);

    for (const [query, reason] of [
      ['', 'rate is required: ?rate=K&seconds=T; seconds is required: ?rate=K&seconds=T'],
      ['?rate=0&seconds=5', 'rate must be at least 1'],
      ['?rate=5&seconds=601', 'seconds must be at most 600'],
      ['?rate=1001&seconds=5', 'rate must be at most 1000'],
      ['?rate=two&seconds=5', 'rate must be a number'],
      ['?rate=2&seconds=1.5', 'seconds must be a whole number'],
    ] as const) {
      const bad = await admin(app.httpUrl, 'POST', `/admin/chaos${query}`);
      assert.equal(bad.status, 400, query);
      assert.deepEqual(bad.body, { error: 'bad_request', reason }, query);
    }
    for (const m of members) await eventually(() => m.channel.state === 'joined', 15_000);
  });

  it('POST /admin/users/:name/disconnect closes every socket of that user (any case) with 1001 kicked; others stay; bad name 400, unknown 404', async () => {
    const tabs = [await member('kicked', 'kick'), await member('kicked', 'elsewhere')];
    const bystander = await member('stays', 'kick');
    const closes = tabs.map((tab) => new Promise<{ code: number; reason: string }>((resolve) => tab.socket.onClose((event: unknown) => resolve(event as { code: number; reason: string }))));
    let bystanderClosed = false;
    bystander.socket.onClose(() => (bystanderClosed = true));
    const res = await admin(app.httpUrl, 'POST', '/admin/users/KICKED/disconnect');
    assert.equal(res.status, 200);
    assert.deepEqual(res.body, { disconnected: 'kicked', localSockets: 2 });
    for (const close of await Promise.all(closes)) assert.deepEqual([close.code, close.reason], [1001, 'kicked']);
    const said = await bystander.say('still here');
    assert.equal(said.status, 'ok');
    assert.equal(bystanderClosed, false);

    const bad = await admin(app.httpUrl, 'POST', '/admin/users/no%20spaces/disconnect');
    assert.equal(bad.status, 400);
    assert.deepEqual(bad.body, { error: 'bad_request', reason: 'name may contain only letters, digits and _ - .' });
    const long = await admin(app.httpUrl, 'POST', `/admin/users/${'x'.repeat(31)}/disconnect`);
    assert.equal(long.status, 400);
    const unknown = await admin(app.httpUrl, 'POST', '/admin/users/never-signed-in/disconnect');
    assert.equal(unknown.status, 404);
    assert.deepEqual(unknown.body, { error: 'unknown_user', name: 'never-signed-in' });
  });
});
