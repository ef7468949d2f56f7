import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Chaos, chaosParams } from '../src/endpoint/chaos.js';
import { History, type Reading } from '../src/metrics/history.js';
import { NodeTable } from '../src/metrics/node-table.js';
import { Ring } from '../src/metrics/ring.js';
import { SupervisorLog } from '../src/metrics/supervisor-log.js';

/** The observer's pure parts: its ring buffers, the per-second rates, the node table's expiry, the chaos plan. */

const reading = (at: number, totals: Partial<Reading> = {}): Reading => ({
  at,
  sockets: 0,
  sessions: 0,
  joins: 0,
  messagesIn: 0,
  messagesOut: 0,
  restarts: 0,
  ...totals,
});

describe('Ring', () => {
  it('keeps the last `capacity` items, oldest first', () => {
    const ring = new Ring<number>(3);
    assert.deepEqual(ring.toArray(), []);
    assert.equal(ring.last(), undefined);
    for (let i = 1; i <= 7; i += 1) ring.push(i);
    assert.deepEqual(ring.toArray(), [5, 6, 7]);
    assert.equal(ring.last(), 7);
    assert.equal(ring.size, 3);
  });
});

describe('History', () => {
  it('turns running totals into per-second rates; gauges pass as they are', () => {
    const history = new History();
    assert.equal(history.record(reading(1_000, { joins: 10, messagesIn: 100 })), undefined, 'the first reading only starts the rates');
    history.record(reading(2_000, { sockets: 4, sessions: 4, joins: 14, messagesIn: 150, messagesOut: 300, restarts: 1 }));
    // Half a second late: the rate is over the time that passed, not per tick.
    history.record(reading(3_500, { sockets: 5, sessions: 5, joins: 17, messagesIn: 180, messagesOut: 330, restarts: 1 }));
    assert.deepEqual(history.series(), {
      at: [2_000, 3_500],
      sockets: [4, 5],
      sessions: [4, 5],
      joins: [4, 2],
      messagesIn: [50, 20],
      messagesOut: [300, 20],
      restarts: [1, 0],
    });
    assert.equal(history.latest()?.at, 3_500);
  });

  it('drops readings that come in a burst (ticks queued behind a slow one); the next rate spans the whole gap', () => {
    const history = new History();
    history.record(reading(0));
    history.record(reading(1_000, { joins: 10 }));
    assert.equal(history.record(reading(1_010, { joins: 11 })), undefined);
    assert.equal(history.record(reading(1_400, { joins: 12 })), undefined);
    history.record(reading(3_000, { joins: 30 }));
    assert.deepEqual(history.series().joins, [10, 10]);
    assert.deepEqual(history.series().at, [1_000, 3_000]);
  });

    it('keeps 300 points, one a second: the last five minutes', () => {
    const history = new History();
    for (let s = 0; s <= 400; s += 1) history.record(reading(s * 1_000, { joins: s * 2 }));
    const series = history.series();
    assert.equal(series.at.length, 300);
    assert.equal(series.at[0], 101_000);
    assert.equal(series.at.at(-1), 400_000);
    assert.ok(series.joins.every((rate) => rate === 2));
  });
});

describe('NodeTable', () => {
  it('shows each node’s latest sample and drops a node unheard from for 10 s', () => {
    const table = new NodeTable();
    table.heard('b', reading(0, { sockets: 1 }), 0);
    table.heard('a', reading(0, { sockets: 2 }), 0);
    table.heard('a', reading(5_000, { sockets: 3 }), 5_000);
    assert.deepEqual(
      table.rows(9_000).map((row) => [row.node, row.sockets, row.ageMs]),
      [
        ['a', 3, 4_000],
        ['b', 1, 9_000],
      ],
    );
    assert.deepEqual(table.rows(10_001).map((row) => row.node), ['a'], 'b was last heard 10.001 s ago');
    table.heard('b', reading(11_000), 11_000);
    assert.deepEqual(table.rows(11_000).map((row) => row.node), ['a', 'b'], 'a node that comes back is listed again');
  });
});

describe('SupervisorLog', () => {
  it('the last 100 restarts and give-ups, newest first, with path and reason', () => {
    const log = new SupervisorLog();
    for (let i = 0; i < 150; i += 1) {
      log.add({ type: i % 2 === 0 ? 'restarted' : 'gave_up', supervisor: '/app/endpoint/sessions', child: `s${i}`, path: `/app/endpoint/sessions/s${i}`, reason: 'crash: boom', restarts: 1, dynamic: true }, i);
    }
    const entries = log.entries();
    assert.equal(entries.length, 100);
    assert.deepEqual(entries[0], { at: 149, type: 'gave_up', path: '/app/endpoint/sessions/s149', reason: 'crash: boom', restarts: 1 });
    assert.equal(entries.at(-1)?.path, '/app/endpoint/sessions/s50');
  });
});

describe('Chaos', () => {
  it('kills `rate` a tick for `seconds`, then stops by itself', () => {
    const chaos = new Chaos();
    assert.equal(chaos.due(0), 0, 'off until started');
    chaos.start({ rate: 3, seconds: 2 }, 10_000);
    assert.deepEqual(chaos.state(), { running: true, rate: 3, until: 12_000, killed: 0 });
    assert.equal(chaos.due(10_000), 3);
    chaos.killedSome(3);
    assert.equal(chaos.due(11_002), 3);
    chaos.killedSome(2);
    // The interval's third tick may come a moment before `until` (timers and Date.now differ): still the end.
    assert.equal(chaos.due(11_999), 0, 'the tick at T s is past the end');
    assert.equal(chaos.due(12_003), 0);
    assert.deepEqual(chaos.state(), { running: false, rate: 3, until: 11_999, killed: 5 });
  });

  it('stop ends it at once; a new start counts afresh', () => {
    const chaos = new Chaos();
    chaos.start({ rate: 1, seconds: 60 }, 0);
    chaos.killedSome(1);
    chaos.stop(5_000);
    assert.deepEqual(chaos.state(), { running: false, rate: 1, until: 5_000, killed: 1 });
    assert.equal(chaos.due(6_000), 0);
    chaos.start({ rate: 2, seconds: 1 }, 7_000);
    assert.deepEqual(chaos.state(), { running: true, rate: 2, until: 8_000, killed: 0 });
  });

  it('its parameters are bounded, each refusal with a reason', () => {
    assert.deepEqual(chaosParams.parse({ rate: '5', seconds: '10' }), { rate: 5, seconds: 10 });
    const reason = (input: Record<string, string | undefined>) => {
      const parsed = chaosParams.safeParse(input);
      return parsed.success ? 'accepted' : parsed.error.issues.map((issue) => issue.message).join('; ');
    };
    assert.equal(reason({}), 'rate is required: ?rate=K&seconds=T; seconds is required: ?rate=K&seconds=T');
    assert.equal(reason({ rate: '0', seconds: '1' }), 'rate must be at least 1');
    assert.equal(reason({ rate: '1001', seconds: '1' }), 'rate must be at most 1000');
    assert.equal(reason({ rate: '1.5', seconds: '1' }), 'rate must be a whole number');
    assert.equal(reason({ rate: 'lots', seconds: '1' }), 'rate must be a number');
    assert.equal(reason({ rate: '1', seconds: '601' }), 'seconds must be at most 600');
  });
});
