/**
 * The group-commit pipeline on its own, as the Repo actor drives it: random
 * interleavings of inserts, batch starts, batch ends in any order, timeouts,
 * settled() calls and breaker trips, checked against what callers and the
 * sink may rely on. No database: results are made up, as writeBatch would
 * return them.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { err, ok, type Result } from '../supervision/result.js';
import type { RepoError } from '../src/repo/errors.js';
import { GroupCommit, type Batch, type Completion, type Limits } from '../src/repo/group-commit.js';
import type { Stored } from '../src/repo/message-batch.js';

const LIMITS: Limits = { maxQueue: 12, maxBatch: 4, pipeline: 3 };
const DOWN: RepoError = { reason: 'db_unavailable', detail: 'test' };

/** A caller is its insert's number (inserts are numbered in the order they are added); waiters are negative. */
const message = (n: number) => ({ room: `r${n % 3}`, userId: 'u', userName: `user${n}`, body: `body ${n}` });
const row = (n: number, repeated: boolean): Stored => ({
  id: n,
  room: `r${n % 3}`,
  user_id: 'u',
  body: `body ${n}`,
  inserted_at: new Date(0),
  ...(repeated ? { repeated: true as const } : {}),
});

type Outcome = 'stored' | 'repeated' | 'failed';
type Op =
  | { readonly type: 'add' }
  | { readonly type: 'start' }
  | { readonly type: 'finish'; readonly pick: number; readonly outcomes: readonly Outcome[] }
  | { readonly type: 'timeout'; readonly pick: number }
  | { readonly type: 'settle' }
  | { readonly type: 'drain' };

const outcome = fc.constantFrom<Outcome>('stored', 'stored', 'stored', 'repeated', 'failed');
const op: fc.Arbitrary<Op> = fc.oneof(
  { weight: 5, arbitrary: fc.constant({ type: 'add' as const }) },
  { weight: 2, arbitrary: fc.constant({ type: 'start' as const }) },
  { weight: 3, arbitrary: fc.record({ type: fc.constant('finish' as const), pick: fc.nat(5), outcomes: fc.array(outcome, { minLength: 4, maxLength: 4 }) }) },
  { weight: 1, arbitrary: fc.record({ type: fc.constant('timeout' as const), pick: fc.nat(5) }) },
  { weight: 1, arbitrary: fc.constant({ type: 'settle' as const }) },
  { weight: 1, arbitrary: fc.constant({ type: 'drain' as const }) },
);

/** Plays ops, then lets every batch end as stored, and checks everything callers and the sink saw. */
function play(ops: readonly Op[]): void {
  const commits = new GroupCommit<number>(LIMITS);
  const answers = new Map<number, Array<Result<Stored, RepoError> | 'settled'>>();
  const answer = (caller: number, value: Result<Stored, RepoError> | 'settled') => answers.set(caller, [...(answers.get(caller) ?? []), value]);
  const running: Array<Batch<number>> = [];
  const startedOrder: number[] = [];
  const timedOut = new Set<number>();
  const completed = new Set<number>();
  const sunk: number[] = [];
  /** Each insert's fate as the made-up writeBatch decided it, once its batch ended. */
  const fates = new Map<number, Outcome>();
  /** What each settled() waiter waited on: the batches running when it called. */
  const waitedOn = new Map<number, number[]>();
  let inserts = 0;
  let waiters = 0;
  let flushDue = false;

  const carryOut = (done: Completion<number>) => {
    for (const [caller, result] of done.replies) answer(caller, result);
    sunk.push(...done.stored.map((r) => r.id));
    for (const waiter of done.settled) {
      for (const id of waitedOn.get(waiter) ?? []) assert.ok(completed.has(id), `waiter ${waiter} answered before batch ${id} completed`);
      answer(waiter, 'settled');
    }
  };
  const start = () => {
    flushDue = false;
    for (const batch of commits.start()) {
      assert.ok(batch.items.length >= 1 && batch.items.length <= LIMITS.maxBatch, `batch of ${batch.items.length}`);
      running.push(batch);
      startedOrder.push(batch.id);
    }
    assert.ok(commits.inFlight <= LIMITS.pipeline, `${commits.inFlight} in flight`);
  };
  const finish = (batch: Batch<number>, outcomes: readonly Outcome[]) => {
    running.splice(running.indexOf(batch), 1);
    const results = batch.items.map((item, i) => {
      const fate = outcomes[i] ?? 'stored';
      fates.set(item.caller, fate);
      return fate === 'failed' ? err(DOWN) : ok(row(item.caller, fate === 'repeated'));
    });
    const before = completed.size;
    const done = commits.finish(batch.id, results);
    for (const [i, completion] of done.entries()) {
      // Completions come oldest first, so the k-th one is the k-th batch ever started.
      completed.add(startedOrder[before + i] ?? -1);
      carryOut(completion);
    }
  };

  for (const o of ops) {
    switch (o.type) {
      case 'add': {
        const caller = (inserts += 1);
        const queued = commits.queued;
        const admitted = commits.add(caller, message(caller));
        assert.equal(admitted === 'full', queued >= LIMITS.maxQueue, `add with ${queued} queued: ${admitted}`);
        if (admitted === 'full') answer(caller, err(DOWN));
        if (admitted === 'flush') {
          assert.equal(flushDue, false, 'a second flush asked for before the first ran');
          flushDue = true;
        }
        break;
      }
      case 'start':
        start();
        break;
      case 'finish': {
        const batch = running[o.pick % Math.max(1, running.length)];
        if (batch !== undefined) finish(batch, o.outcomes);
        break;
      }
      case 'timeout': {
        const batch = running[o.pick % Math.max(1, running.length)];
        if (batch === undefined) break;
        const told = commits.timeout(batch.id);
        assert.deepEqual(told, timedOut.has(batch.id) ? [] : batch.items.map((item) => item.caller), 'told once');
        timedOut.add(batch.id);
        for (const caller of told) answer(caller, err(DOWN));
        break;
      }
      case 'settle': {
        const waiter = -(waiters += 1);
        waitedOn.set(waiter, [...running.map((b) => b.id)]);
        if (commits.settle(waiter)) {
          assert.equal(running.length, 0, 'answered at once only when nothing is being written');
          answer(waiter, 'settled');
        }
        break;
      }
      case 'drain':
        for (const caller of commits.drain()) answer(caller, err(DOWN));
        assert.equal(commits.queued, 0);
        break;
    }
  }
  // The rest ends well: every batch still running, and every insert still waiting, is stored.
  while (running.length > 0 || commits.queued > 0) {
    start();
    // The youngest first: it must wait for those before it.
    const youngest = running[running.length - 1];
    if (youngest !== undefined) finish(youngest, []);
  }

  for (let caller = 1; caller <= inserts; caller++) assert.equal(answers.get(caller)?.length, 1, `insert ${caller} answered ${answers.get(caller)?.length ?? 0} times`);
  for (let waiter = 1; waiter <= waiters; waiter++) assert.deepEqual(answers.get(-waiter), ['settled'], `waiter ${waiter}`);
  // The sink: every stored, non-repeated row once, in insert (id) order, timed-out batches' included.
  const expected = [...fates].filter(([, fate]) => fate === 'stored').map(([caller]) => caller).sort((a, b) => a - b);
  assert.deepEqual(sunk, expected);
  // Callers of stored rows got their own row.
  for (const [caller, fate] of fates) {
    const [result] = answers.get(caller) ?? [];
    if (fate !== 'failed' && result !== 'settled' && result?.ok === true) assert.equal(result.value.id, caller);
  }
}

describe('group commit (pure pipeline)', () => {
  it('answers every caller once, tells the sink each stored row once in id order, whatever the interleaving (property)', () => {
    fc.assert(fc.property(fc.array(op, { maxLength: 80 }), (ops) => play(ops)), { numRuns: 500 });
  });

  it('a younger batch that ends first waits for the older one', () => {
    const commits = new GroupCommit<string>(LIMITS);
    commits.add('a', message(1));
    const [first] = commits.start();
    commits.add('b', message(2));
    const [second] = commits.start();
    assert.ok(first !== undefined && second !== undefined);
    assert.deepEqual(commits.finish(second.id, [ok(row(2, false))]), []);
    const done = commits.finish(first.id, [ok(row(1, false))]);
    assert.deepEqual(done.map((d) => d.replies.map(([caller]) => caller)), [['a'], ['b']]);
    assert.deepEqual(done.flatMap((d) => d.stored.map((r) => [r.id, r.user_name])), [[1, 'user1'], [2, 'user2']]);
  });

  it('inserts that arrive while the pipeline is full wait, then go in batches of at most maxBatch', () => {
    const commits = new GroupCommit<number>(LIMITS);
    assert.equal(commits.add(0, message(0)), 'flush');
    const flights = [...commits.start()];
    for (let i = 1; i <= 3; i++) commits.add(i, message(i));
    flights.push(...commits.start());
    assert.equal(commits.inFlight, 2);
    for (let i = 4; i <= 11; i++) assert.notEqual(commits.add(i, message(i)), 'full');
    const third = commits.start();
    assert.deepEqual(third.map((b) => b.items.length), [4], 'the third batch; the fourth waits for room in the pipeline');
    assert.equal(commits.queued, 4);
  });

  it('a timed-out batch: callers told at once, its rows still told to the sink when it ends, nobody answered twice', () => {
    const commits = new GroupCommit<string>(LIMITS);
    commits.add('slow', message(1));
    const [batch] = commits.start();
    assert.ok(batch !== undefined);
    assert.deepEqual(commits.timeout(batch.id), ['slow']);
    assert.equal(commits.settle('waiter'), false);
    const [done] = commits.finish(batch.id, [ok(row(1, false))]);
    assert.deepEqual(done?.replies, []);
    assert.deepEqual(done?.stored.map((r) => r.id), [1]);
    assert.deepEqual(done?.settled, ['waiter']);
    assert.equal(done?.timedOut, true);
  });

  it('a repeat (same user and nonce) is answered with its first row and never told to the sink again', () => {
    const commits = new GroupCommit<string>(LIMITS);
    commits.add('retry', message(7));
    const [batch] = commits.start();
    assert.ok(batch !== undefined);
    const [done] = commits.finish(batch.id, [ok(row(7, true))]);
    assert.equal(done?.replies[0]?.[1].ok, true);
    assert.deepEqual(done?.stored, []);
  });
});
