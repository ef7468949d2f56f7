import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { pino } from 'pino';
import { WebSocket } from 'ws';
import { awaitExit } from '../supervision/index.js';
import { startTestApp, type TestApp } from './support/app.js';
import { ADMIN_TOKEN, Member, admin, freePort } from './support/ops.js';
import { eventually, sleep } from './support/probe.js';

interface Node {
  id: string;
  path: string;
  kind: string;
  alive: boolean;
  restarts: number;
  strategy?: string;
  childCount?: number;
  children?: Node[];
}
interface SessionRow {
  id: string;
  path: string | null;
  user: string | null;
  topics: string[];
  restarts: number;
  since: string | null;
}
type LogLine = Record<string, unknown> & { msg: string };

const child = (node: Node | undefined, id: string): Node | undefined => node?.children?.find((c) => c.id === id);

describe('admin API without ADMIN_TOKEN', () => {
  it('does not exist: every /admin route answers 404', async () => {
    const app = await startTestApp();
    try {
      for (const [method, path] of [
        ['GET', '/admin'],
        ['GET', '/admin/tree'],
        ['GET', '/admin/sessions'],
        ['POST', '/admin/sessions/kill?count=1'],
        ['POST', '/admin/actors/repo/kill'],
      ] as const) {
        const res = await admin(app.httpUrl, method, path);
        assert.equal(res.status, 404, `${method} ${path}`);
        assert.deepEqual(res.body, { error: 'not_found' });
      }
    } finally {
      await app.stop();
    }
  });

  it('a token shorter than 16 characters is refused by the config', async () => {
    const { parseConfig } = await import('../src/config.js');
    const parsed = parseConfig({ ADMIN_TOKEN: 'short' });
    assert.ok(!parsed.ok);
    assert.equal(parsed.error[0]?.variable, 'ADMIN_TOKEN');
  });
});

describe('admin API with ADMIN_TOKEN', () => {
  let app: TestApp;
  const logs: LogLine[] = [];
  const members: Member[] = [];
  const member = (name: string, room: string): Member => {
    const m = new Member(app.wsUrl, name, room);
    members.push(m);
    return m;
  };
  const tree = async (): Promise<Node> => {
    const res = await admin(app.httpUrl, 'GET', '/admin/tree');
    assert.equal(res.status, 200);
    return (res.body as { tree: Node }).tree;
  };
  const sessions = async (): Promise<SessionRow[]> => {
    const res = await admin(app.httpUrl, 'GET', '/admin/sessions');
    assert.equal(res.status, 200);
    return (res.body as { sessions: SessionRow[] }).sessions;
  };

  before(async () => {
    // The tree's log lines, to check what a restart says about itself.
    const log = pino({ level: 'info' }, { write: (line: string) => void logs.push(JSON.parse(line) as LogLine) });
    const port = await freePort();
    app = await startTestApp({ log, env: { ADMIN_TOKEN, PORT: String(port), RATE_LIMIT_PER_SEC: '1000', RATE_LIMIT_BURST: '1000' } });
  });
  after(async () => {
    for (const m of members) m.leave();
    await app.stop();
  });

  it('wants the bearer token: missing or wrong is 401 with a JSON error, compared in constant time', async () => {
    for (const token of [null, 'wrong-token-wrong-token', `${ADMIN_TOKEN}x`, ADMIN_TOKEN.slice(0, -1)]) {
      for (const [method, path] of [
        ['GET', '/admin/tree'],
        ['GET', '/admin/sessions'],
        ['POST', '/admin/sessions/kill?count=1'],
        ['POST', '/admin/sessions/1-abc/kill'],
        ['POST', '/admin/actors/repo/kill'],
        ['GET', '/admin/stats'],
        ['GET', '/admin/restarts'],
        ['POST', '/admin/chaos?rate=1&seconds=1'],
        ['POST', '/admin/chaos/stop'],
        ['POST', '/admin/users/tina/disconnect'],
      ] as const) {
        const res = await admin(app.httpUrl, method, path, token);
        assert.equal(res.status, 401, `${method} ${path} with ${token ?? 'no token'}`);
        assert.equal((res.body as { error: string }).error, 'unauthorized');
      }
    }
    const raw = await fetch(`${app.httpUrl}/admin/tree`, { headers: { authorization: ADMIN_TOKEN } });
    assert.equal(raw.status, 401, 'the token without "Bearer" is not accepted');
    assert.equal((await admin(app.httpUrl, 'GET', '/admin/tree')).status, 200);
  });

  it('GET /admin serves the observer page without the token (the data calls need it)', async () => {
    const page = await admin(app.httpUrl, 'GET', '/admin', null);
    assert.equal(page.status, 200);
    assert.match(page.type ?? '', /text\/html/);
    assert.match(String(page.body), /\/assets\/admin\.js/);
    const script = await fetch(`${app.httpUrl}/assets/admin.js`);
    assert.equal(script.status, 200);
    assert.match(await script.text(), /\/admin\/tree/);
  });

  it('GET /admin/tree: the whole tree with kinds, strategies, restart counts and child counts', async () => {
    const a = member('tina', 'shape');
    assert.equal((await a.join()).status, 'ok');
    const root = await tree();
    assert.equal(root.id, 'app');
    assert.equal(root.kind, 'supervisor');
    assert.equal(root.strategy, 'rest_for_one');
    assert.deepEqual(root.children?.map((c) => c.id), ['repo', 'pubsub', 'presence', 'endpoint', 'observer']);
    assert.equal(root.childCount, 5);
    for (const c of root.children ?? []) {
      assert.equal(typeof c.restarts, 'number');
      assert.equal(c.alive, true);
    }
    assert.equal(child(root, 'repo')?.kind, 'worker');
    assert.equal(child(root, 'repo')?.path, '/app/repo');
    const endpoint = child(root, 'endpoint');
    assert.equal(endpoint?.kind, 'supervisor');
    assert.equal(endpoint?.strategy, 'one_for_all');
    const sessionsSup = child(endpoint, 'sessions');
    assert.equal(sessionsSup?.kind, 'dynamic_supervisor');
    assert.ok((sessionsSup?.childCount ?? 0) >= 1);
    assert.equal(child(endpoint, 'http')?.kind, 'worker');
    assert.equal((await admin(app.httpUrl, 'GET', '/admin/tree?limit=0')).status, 400, 'a bad limit is a 400');
  });

  it('GET /admin/sessions: id, user, topics, restarts, mailbox, since', async () => {
    const rows = await sessions();
    const tina = rows.find((row) => row.user === 'tina');
    assert.ok(tina, 'the joined user is listed');
    assert.deepEqual(tina.topics, ['room:shape']);
    assert.equal(tina.restarts, 0);
    assert.equal((tina as SessionRow & { mailbox: unknown }).mailbox, 0, 'nothing waiting in an idle session');
    assert.match(tina.id, /^[0-9a-z]+-[0-9a-f]{6}$/);
    assert.equal(tina.path, `/app/endpoint/sessions/${tina.id}`);
    assert.ok(tina.since !== null && Date.now() - Date.parse(tina.since) < 60_000);
    const res = await admin(app.httpUrl, 'GET', '/admin/sessions');
    assert.equal((res.body as { count: number }).count, rows.length);
  });

  it('POST /admin/sessions/:id/kill: a real crash; the session restarts and its client rejoins with nothing lost', async () => {
    const victim = member('ursula', 'kill');
    assert.equal((await victim.join()).status, 'ok');
    const sender = member('victor', 'kill');
    assert.equal((await sender.join()).status, 'ok');
    const id = (await sessions()).find((row) => row.user === 'ursula')?.id;
    assert.ok(id);
    const sent: number[] = [];
    let sending = true;
    const sending$ = (async () => {
      for (let i = 0; sending; i += 1) {
        const reply = await sender.say(`during the kill ${i}`);
        if (reply.status === 'ok') sent.push(reply.response['id'] as number);
        await sleep(5); // pacing: a steady stream through the kill
      }
    })();
    // The stream is flowing before the kill, and still after the rejoin.
    await victim.seenAtLeast(5);
    const killed = await admin(app.httpUrl, 'POST', `/admin/sessions/${id}/kill`);
    assert.equal(killed.status, 200);
    assert.deepEqual(killed.body, { killed: [{ id, path: `/app/endpoint/sessions/${id}` }] });
    await eventually(() => victim.errors.length === 1, 5_000).catch(async () => {
      assert.fail(`errors ${JSON.stringify(victim.errors)} rows ${JSON.stringify(await sessions())}`);
    });
    await eventually(() => victim.channel.state === 'joined', 10_000);
    await victim.seenAtLeast(victim.seen.length + 5);
    sending = false;
    await sending$;
    // The restarted session chats on.
    const own = await victim.say('back again');
    assert.equal(own.status, 'ok');
    sent.push(own.response['id'] as number);
    await eventually(() => sent.every((n) => victim.seen.includes(n)), 5_000);
    const after = victim.seen.filter((n) => n >= (sent[0] ?? 0));
    assert.deepEqual([...after].sort((a, b) => a - b), [...sent].sort((a, b) => a - b), 'every message exactly once');
    assert.equal(sender.errors.length, 0, 'the other session noticed nothing');
    const row = (await sessions()).find((r) => r.id === id);
    assert.equal(row?.restarts, 1, 'the same session id, restarted once');
    assert.equal(row?.user, 'ursula', 'user kept across the restart');
    const line = logs.find((l) => l.msg === 'child restarted' && l['child'] === id);
    assert.ok(line, 'the restart is one log line');
    assert.equal(line['path'], `/app/endpoint/sessions/${id}`);
    assert.equal(line['reason'], 'crash: killed by the admin API');
    assert.equal(line['restarts'], 1);
  });

  it('POST /admin/sessions/kill?count=N kills N at random; a bad count is a 400; an unknown id a 404', async () => {
    const bystanders = [member('wanda', 'rand'), member('xavier', 'rand'), member('yvonne', 'rand')];
    for (const m of bystanders) assert.equal((await m.join()).status, 'ok');
    const before = await sessions();
    const res = await admin(app.httpUrl, 'POST', '/admin/sessions/kill?count=2');
    assert.equal(res.status, 200);
    const body = res.body as { requested: number; killed: Array<{ id: string }> };
    assert.equal(body.requested, 2);
    assert.equal(body.killed.length, 2);
    assert.equal(new Set(body.killed.map((k) => k.id)).size, 2);
    for (const k of body.killed) assert.ok(before.some((row) => row.id === k.id));
    await eventually(async () => {
      const rows = await sessions();
      return body.killed.every((k) => rows.find((r) => r.id === k.id)?.restarts === (before.find((b) => b.id === k.id)?.restarts ?? 0) + 1);
    }, 5_000);
    const all = await admin(app.httpUrl, 'POST', '/admin/sessions/kill?count=100000');
    assert.equal((all.body as { killed: unknown[] }).killed.length, before.length, 'more than there are: all of them');

    for (const query of ['', '?count=0', '?count=-1', '?count=abc', '?count=1.5', '?count=100001']) {
      const bad = await admin(app.httpUrl, 'POST', `/admin/sessions/kill${query}`);
      assert.equal(bad.status, 400, query);
      assert.equal((bad.body as { error: string }).error, 'bad_request');
      assert.equal(typeof (bad.body as { reason: unknown }).reason, 'string');
    }
    const unknown = await admin(app.httpUrl, 'POST', '/admin/sessions/no-such-session/kill');
    assert.equal(unknown.status, 404);
    assert.deepEqual(unknown.body, { error: 'unknown_session', id: 'no-such-session' });
    const actor = await admin(app.httpUrl, 'POST', '/admin/actors/sessions/kill');
    assert.equal(actor.status, 404);
    assert.deepEqual(actor.body, { error: 'unknown_actor', id: 'sessions', known: ['repo', 'pubsub', 'presence', 'endpoint'] });
    for (const m of bystanders) await eventually(() => m.channel.state === 'joined', 10_000);
  });

  it('a session killed past its restart intensity is given up: one log line with path, reason, count', async () => {
    const raw = new WebSocket(`${app.wsUrl}/websocket?vsn=2.0.0`);
    const closed = new Promise<number>((resolve) => raw.on('close', (code) => resolve(code)));
    await new Promise((resolve) => raw.on('open', resolve));
    let id: string | undefined;
    await eventually(async () => {
      id = (await sessions()).find((row) => row.user === null && row.topics.length === 0 && row.restarts === 0)?.id;
      return id !== undefined;
    });
    for (let i = 0; i < 4; i += 1) {
      // Each kill hits the incarnation restarted after the one before: the exit puts the DOWN in the supervisor's
      // mailbox, and the next lookup (here, then the admin API's own) is answered after it.
      const session = (await app.sessions()).find((s) => s.id === id);
      assert.ok(session, `kill ${i + 1}: session ${String(id)} is alive`);
      const exited = awaitExit(session.pid);
      assert.equal((await admin(app.httpUrl, 'POST', `/admin/sessions/${id}/kill`)).status, 200);
      await exited;
    }
    assert.equal(await closed, 1011);
    const line = logs.find((l) => l.msg === 'child exceeded its restart intensity; giving up on it' && l['child'] === id);
    assert.ok(line, 'the give-up is logged');
    assert.equal(line['path'], `/app/endpoint/sessions/${id}`);
    assert.equal(line['reason'], 'crash: killed by the admin API');
    assert.equal(line['restarts'], 3);
  });

  for (const actor of ['pubsub', 'presence'] as const) {
    it(`POST /admin/actors/${actor}/kill: the tree is restored (rest_for_one) and chat works end to end`, async () => {
      const room = `after-${actor}`;
      const a = member(`${actor}-a`, room);
      const b = member(`${actor}-b`, room);
      assert.equal((await a.join()).status, 'ok');
      assert.equal((await b.join()).status, 'ok');
      const first = await a.say('before the kill');
      assert.equal(first.status, 'ok');
      await eventually(() => b.seen.includes(first.response['id'] as number));
      const before = await tree();

      const res = await admin(app.httpUrl, 'POST', `/admin/actors/${actor}/kill`);
      assert.equal(res.status, 200);
      assert.deepEqual(res.body, { killed: { id: actor, path: `/app/${actor}` } });

      // rest_for_one: the killed actor and everything after it start again.
      const restartedIds = actor === 'pubsub' ? ['pubsub', 'presence', 'endpoint'] : ['presence', 'endpoint'];
      await eventually(async () => {
        const root = await admin(app.httpUrl, 'GET', '/admin/tree').catch(() => undefined);
        if (root?.status !== 200) return false;
        const now = (root.body as { tree: Node }).tree;
        return restartedIds.every((id) => child(now, id)?.restarts === (child(before, id)?.restarts ?? 0) + 1 && child(now, id)?.alive === true);
      }, 10_000);
      const now = await tree();
      assert.equal(child(now, 'repo')?.restarts, child(before, 'repo')?.restarts, 'what comes before it is untouched');
      const line = logs.findLast((l) => l.msg === 'child restarted' && l['path'] === `/app/${actor}`);
      assert.equal(line?.['reason'], 'crash: killed by the admin API');

      // The clients reconnect to the new Endpoint, rejoin and catch up; chat and presence work again.
      await eventually(() => a.channel.state === 'joined' && b.channel.state === 'joined' && a.errors.length > 0, 15_000);
      await eventually(async () => (await a.say('after the kill')).status === 'ok', 10_000);
      const after = await b.say('reply after the kill');
      assert.equal(after.status, 'ok');
      await eventually(() => a.seen.includes(after.response['id'] as number), 5_000);
      const rows = await sessions();
      assert.ok(rows.some((r) => r.user === `${actor}-a` && r.topics.includes(`room:${room}`)), `the sessions are back, joined ${JSON.stringify(rows)}`);
    });
  }
});
