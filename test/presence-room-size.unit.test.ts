import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { parseConfig } from '../src/config.js';
import { RECENT_LIMIT, RecentNames, RoomSizes, summaryIntervalMs, type Mode, type Summary } from '../src/presence/room-size.js';

/**
 * The size rule of room presence (src/presence/room-size.ts), driven the way
 * the Presence actor drives it: counts after each change, speakers, and a
 * timer firing at nextDue. The clock is the test's.
 */

const TOPIC = 'room:big';

type Step =
  | { readonly kind: 'count'; readonly dt: number; readonly count: number }
  | { readonly kind: 'spoke'; readonly dt: number; readonly key: string }
  | { readonly kind: 'left'; readonly dt: number; readonly key: string };

type Sent = { readonly at: number; readonly summary: Summary; readonly crossing: boolean };

interface Run {
  readonly summaries: Sent[];
  readonly switches: Array<{ readonly at: number; readonly to: Mode; readonly count: number }>;
  /** Steps that changed what a summary would say (in any mode). */
  changes: number;
  elapsed: number;
}

/** Plays the steps as the actor would: each summary falling due between two steps goes out at its due time. */
function play(limit: number, steps: readonly Step[]): Run {
  const sizes = new RoomSizes(limit);
  const run: Run = { summaries: [], switches: [], changes: 0, elapsed: 0 };
  let now = 0;
  const fireUntil = (until: number): void => {
    for (let next = sizes.nextDue(); next !== undefined && next <= until; next = sizes.nextDue()) {
      const at = Math.max(next, now);
      assert.deepEqual(sizes.due(at), [TOPIC], 'what nextDue names is due then');
      run.summaries.push({ at, summary: sizes.broadcast(TOPIC, at), crossing: false });
    }
  };
  for (const step of steps) {
    fireUntil(now + step.dt);
    now += step.dt;
    const before = sizes.summary(TOPIC);
    if (step.kind === 'count') {
      const change = sizes.counted(TOPIC, step.count);
      if (change === 'to_large') {
        run.switches.push({ at: now, to: 'large', count: step.count });
        run.summaries.push({ at: now, summary: sizes.broadcast(TOPIC, now), crossing: true });
      } else if (change === 'to_full') {
        run.switches.push({ at: now, to: 'full', count: step.count });
      }
    } else if (step.kind === 'spoke') {
      sizes.spoke(TOPIC, step.key);
    } else {
      sizes.left(TOPIC, step.key);
    }
    if (JSON.stringify(before) !== JSON.stringify(sizes.summary(TOPIC))) run.changes += 1;
  }
  fireUntil(Number.POSITIVE_INFINITY);
  return { ...run, elapsed: Math.max(now, run.summaries.at(-1)?.at ?? 0) };
}

const key = fc.constantFrom(...Array.from({ length: 30 }, (_, i) => `u${i}`));
const steps = (maxCount: number) =>
  fc.array(
    fc.oneof(
      { weight: 4, arbitrary: fc.record({ kind: fc.constant('count' as const), dt: fc.nat(3_000), count: fc.integer({ min: 1, max: maxCount }) }) },
      { weight: 2, arbitrary: fc.record({ kind: fc.constant('spoke' as const), dt: fc.nat(3_000), key }) },
      { weight: 1, arbitrary: fc.record({ kind: fc.constant('left' as const), dt: fc.nat(3_000), key }) },
    ),
    { maxLength: 200 },
  );

/** A room filling from 1 to n, one join each `gaps[i]` ms. */
const fill = (n: number, gaps: readonly number[]): Step[] =>
  Array.from({ length: n }, (_, i) => ({ kind: 'count' as const, dt: gaps[i % gaps.length] ?? 0, count: i + 1 }));

describe('room size: full vs large presence', () => {
  it('the interval: one second up to 1,000 members, then count/1000 s (20 s at 20,000)', () => {
    assert.equal(summaryIntervalMs(1), 1_000);
    assert.equal(summaryIntervalMs(1_000), 1_000);
    assert.equal(summaryIntervalMs(5_000), 5_000);
    assert.equal(summaryIntervalMs(20_000), 20_000);
  });

  it('a room switches at the limit: full up to it, large past it, and full again only below 90% of it', () => {
    const sizes = new RoomSizes(10);
    assert.equal(sizes.counted(TOPIC, 10), undefined);
    assert.equal(sizes.mode(TOPIC), 'full');
    assert.equal(sizes.counted(TOPIC, 11), 'to_large');
    assert.equal(sizes.counted(TOPIC, 9), undefined, '9 is not below 90% of 10');
    assert.equal(sizes.mode(TOPIC), 'large');
    assert.equal(sizes.counted(TOPIC, 8), 'to_full');
    assert.equal(sizes.counted(TOPIC, 0), undefined);
    assert.equal(sizes.mode(TOPIC), 'full', 'an emptied room is forgotten');
  });

  it('property: mode never flaps inside the band; switches alternate and happen only outside it', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 50 }), steps(80), (limit, script) => {
        const run = play(limit, script);
        let mode: Mode = 'full';
        for (const change of run.switches) {
          assert.notEqual(change.to, mode, 'switches alternate');
          if (change.to === 'large') assert.ok(change.count > limit, `to large at ${change.count} > ${limit}`);
          else assert.ok(change.count < 0.9 * limit, `to full at ${change.count} < 90% of ${limit}`);
          mode = change.to;
        }
      }),
      { numRuns: 300 },
    );
  });

  it('property: summaries go out only when something changed, no sooner than the interval at the count they carry', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 30 }), steps(3_000), (limit, script) => {
        const run = play(limit, script);
        const due = run.summaries.filter((s) => !s.crossing);
        assert.ok(due.length <= run.changes, `${due.length} summaries for ${run.changes} changes`);
        for (let i = 1; i < run.summaries.length; i++) {
          const [prev, next] = [run.summaries[i - 1], run.summaries[i]];
          if (prev === undefined || next === undefined || next.crossing) continue;
          assert.ok(next.at - prev.at >= summaryIntervalMs(next.summary.count), `${next.at - prev.at} ms apart at count ${next.summary.count}`);
          assert.notDeepEqual(next.summary, prev.summary, 'a repeat is not sent');
        }
      }),
      { numRuns: 300 },
    );
  });

  it('property: over any fill the summary frames members get, all together, are at most elapsed ms + N per crossing: O(N) at any join rate', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 20 }),
        fc.integer({ min: 50, max: 5_000 }),
        fc.array(fc.nat(200), { minLength: 1, maxLength: 20 }),
        (limit, n, gaps) => {
          const run = play(limit, fill(n, gaps));
          // Each summary reaches `count` members; the join that is answered with one is not counted here (one frame per join).
          const frames = run.summaries.reduce((sum, s) => sum + s.summary.count, 0);
          const crossings = run.switches.filter((s) => s.to === 'large').length;
          assert.ok(crossings <= 1, 'a room that only fills crosses once');
          assert.ok(frames <= run.elapsed + n * crossings, `${frames} frames, ${run.elapsed} ms, N = ${n}`);
          // What full presence would have sent: every join a diff to everyone there (state to the joiner aside).
          if (n >= 1_000 && gaps.every((gap) => gap <= 1)) assert.ok(frames < (n * (n - 1)) / 2 / 10, 'a fast fill is far under full presence');
        },
      ),
      { numRuns: 200 },
    );
  });

  it('property: recent holds at most 20 distinct names, newest first, none that left', () => {
    fc.assert(
      fc.property(
        fc.array(fc.oneof(fc.record({ spoke: key }), fc.record({ left: key })), { maxLength: 300 }),
        (script) => {
          const sizes = new RoomSizes(1);
          sizes.counted(TOPIC, 5);
          const model: string[] = [];
          for (const step of script) {
            if ('spoke' in step) {
              sizes.spoke(TOPIC, step.spoke);
              model.splice(0, model.length, step.spoke, ...model.filter((name) => name !== step.spoke));
            } else {
              sizes.left(TOPIC, step.left);
              model.splice(0, model.length, ...model.filter((name) => name !== step.left));
            }
            const { recent } = sizes.summary(TOPIC);
            assert.ok(recent.length <= RECENT_LIMIT);
            assert.equal(new Set(recent).size, recent.length, 'distinct');
            // Newest first: in the order they last spoke (a name pushed past 20 does not come back when others leave).
            assert.deepEqual(recent, model.filter((name) => recent.includes(name)));
            assert.deepEqual(recent.slice(0, 1), model.slice(0, 1));
            if ('left' in step) assert.ok(!recent.includes(step.left), 'one who left is not listed');
            if ('spoke' in step) assert.equal(recent[0], step.spoke, 'the newest first');
          }
        },
      ),
      { numRuns: 300 },
    );
  });

  it('RecentNames keeps a bounded list whatever is said to it', () => {
    const names = new RecentNames(3);
    for (const name of ['a', 'b', 'c', 'd', 'b']) names.add(name);
    assert.deepEqual(names.list(), ['b', 'd', 'c']);
    names.remove('d');
    assert.deepEqual(names.list(), ['b', 'c']);
  });
});

describe('PRESENCE_FULL_LIMIT', () => {
  it('defaults to 1,000; a value that is not a positive integer is refused, naming the variable', () => {
    const parsed = parseConfig({});
    assert.ok(parsed.ok);
    assert.equal(parsed.value.PRESENCE_FULL_LIMIT, 1_000);
    for (const bad of ['0', '-5', '2.5', 'many']) {
      const refused = parseConfig({ PRESENCE_FULL_LIMIT: bad });
      assert.ok(!refused.ok, bad);
      assert.deepEqual(refused.error.map((e) => e.variable), ['PRESENCE_FULL_LIMIT'], bad);
    }
  });
});
