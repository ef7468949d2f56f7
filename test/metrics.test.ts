import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startTestApp, type TestApp } from './support/app.js';
import { Member, parseMetrics } from './support/ops.js';
import { eventually } from './support/probe.js';

describe('GET /metrics', () => {
  let app: TestApp;
  const members: Member[] = [];

  before(async () => {
    // A small bucket, so a few pushes are refused with rate_limited.
    app = await startTestApp({ env: { RATE_LIMIT_PER_SEC: '1', RATE_LIMIT_BURST: '3' } });
  });
  after(async () => {
    for (const m of members) m.leave();
    await app.stop();
  });

  const scrape = async (): Promise<Map<string, number>> => {
    const res = await fetch(`${app.httpUrl}/metrics`);
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type') ?? '', /^text\/plain; version=0\.0\.4/);
    return parseMetrics(await res.text());
  };
  const value = (metrics: Map<string, number>, key: string): number => metrics.get(key) ?? 0;

  it('is Prometheus text with every metric of the issue, no token needed', async () => {
    const metrics = await scrape();
    for (const key of [
      'chat_sockets_open',
      'chat_sessions',
      'chat_joins_total',
      'chat_messages_in_total',
      'chat_messages_out_total',
      'chat_broadcast_fanout_seconds_count',
      'chat_rate_limited_pushes_total',
      'chat_slow_reader_disconnects_total',
      'chat_mailbox_depth{actor="repo"}',
      'chat_mailbox_depth{actor="pubsub"}',
      'chat_mailbox_depth{actor="presence"}',
      'chat_db_pool_size',
      'chat_db_queries_in_flight',
      'chat_db_queries_queued',
      'process_resident_memory_bytes',
    ]) {
      assert.ok(metrics.has(key), `${key} is exported`);
    }
    assert.equal(value(metrics, 'chat_db_pool_size'), 10);
  });

  it('moves when traffic flows: sockets, sessions, joins, frames in and out, fan-out, rate limits, restarts', async () => {
    const before = await scrape();
    const a = new Member(app.wsUrl, 'mira', 'metrics');
    const b = new Member(app.wsUrl, 'noah', 'metrics');
    members.push(a, b);
    assert.equal((await a.join()).status, 'ok');
    assert.equal((await b.join()).status, 'ok');
    const sent = await a.say('counted');
    assert.equal(sent.status, 'ok');
    await eventually(() => b.seen.includes(sent.response['id'] as number));
    // The bucket holds 3: the join and one push took 2, so of these 3 at least 2 are refused.
    const refused = (await Promise.all([a.say('x'), a.say('y'), a.say('z')])).filter((r) => r.response['reason'] === 'rate_limited');
    assert.ok(refused.length >= 2, `refused ${refused.length}`);

    const during = await scrape();
    assert.equal(value(during, 'chat_sockets_open') - value(before, 'chat_sockets_open'), 2);
    assert.equal(value(during, 'chat_sessions') - value(before, 'chat_sessions'), 2);
    assert.equal(value(during, 'chat_joins_total') - value(before, 'chat_joins_total'), 2);
    assert.ok(value(during, 'chat_messages_in_total') - value(before, 'chat_messages_in_total') >= 6, 'joins and pushes came in');
    // Out: replies, presence, and the broadcast to both sockets by the fastlane.
    assert.ok(value(during, 'chat_messages_out_total') - value(before, 'chat_messages_out_total') >= 8, 'frames went out');
    assert.ok(value(during, 'chat_broadcast_fanout_seconds_count') > value(before, 'chat_broadcast_fanout_seconds_count'));
    assert.ok(value(during, 'chat_broadcast_fanout_seconds_bucket{le="+Inf"}') === value(during, 'chat_broadcast_fanout_seconds_count'));
    assert.equal(value(during, 'chat_rate_limited_pushes_total') - value(before, 'chat_rate_limited_pushes_total'), refused.length);

    const sessions = await app.sessions();
    const victim = sessions.at(-1);
    assert.ok(victim);
    const restarts = 'chat_actor_restarts_total{actor="/app/endpoint/sessions/*"}';
    await app.crashSession(victim.id);
    await eventually(async () => value(await scrape(), restarts) === value(before, restarts) + 1, 5_000);

    a.leave();
    b.leave();
    await eventually(async () => value(await scrape(), 'chat_sockets_open') === value(before, 'chat_sockets_open'), 5_000);
    const afterwards = await scrape();
    assert.equal(value(afterwards, 'chat_sessions'), value(before, 'chat_sessions'));
  });

  it('counts restarts of core actors by path', async () => {
    const { crashProcess, name, whereis } = await import('../supervision/index.js');
    const key = 'chat_actor_restarts_total{actor="/app/repo"}';
    const before = value(await scrape(), key);
    const repo = whereis(name('repo'));
    assert.ok(repo);
    crashProcess(repo, 'crashed by the metrics test');
    await eventually(async () => value(await scrape(), key) === before + 1, 10_000);
    // rest_for_one: what comes after the Repo restarts with it, each counted under its own path.
    await eventually(async () => {
      const after = await scrape();
      return ['pubsub', 'presence', 'endpoint'].every((id) => value(after, `chat_actor_restarts_total{actor="/app/${id}"}`) >= 1);
    }, 10_000);
  });
});

describe('mailbox depth', () => {
  it('counts what waits in a process mailbox, not the message being handled', async () => {
    const { cast, call, mailboxLength } = await import('../supervision/index.js');
    const { root, startProbe } = await import('./support/probe.js');
    const pid = await startProbe(root(), { id: 'busy', events: [] });
    assert.equal(mailboxLength(pid), 0);
    const sleeping = call(pid, { type: 'sleep', ms: 200 });
    await eventually(() => mailboxLength(pid) === 0, 1_000); // the call is taken and sleeping
    for (let i = 0; i < 5; i += 1) cast(pid, { type: 'inc' });
    assert.equal(mailboxLength(pid), 5, 'five casts wait behind the sleeping call');
    await sleeping;
    await eventually(() => mailboxLength(pid) === 0);
    assert.equal((await call(pid, { type: 'get' })).ok, true);
  });
});
