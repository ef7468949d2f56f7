import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  SHUTDOWN,
  awaitExit,
  call,
  countChildren,
  crashProcess,
  isAlive,
  snapshot,
  startChild,
  startDynamicSupervisor,
  stop,
  terminateChild,
  whichChildren,
  type DynamicSupervisorOptions,
  type ExitReason,
  type Pid,
  type SupervisorPid,
} from '../supervision/index.js';
import { eventually, probeSpec, root } from './support/probe.js';

async function dynamic(options: DynamicSupervisorOptions = {}): Promise<SupervisorPid> {
  const sup = await startDynamicSupervisor({ parent: root(), id: 'sessions', ...options });
  assert.ok(sup.ok);
  return sup.value;
}

async function pidOf(sup: SupervisorPid, id: string): Promise<Pid | undefined> {
  const children = await whichChildren(sup);
  assert.ok(children.ok);
  return children.value.find((child) => child.id === id)?.pid;
}

describe('DynamicSupervisor', () => {
  it('startChild, whichChildren, countChildren, terminateChild', async () => {
    const sup = await dynamic();
    const events: string[] = [];
    const one = await startChild(sup, probeSpec({ id: 's1', events }, { restart: 'transient' }));
    const two = await startChild(sup, probeSpec({ id: 's2', events }, { restart: 'transient' }));
    assert.ok(one.ok && two.ok);
    assert.deepEqual(await countChildren(sup), { ok: true, value: { specs: 2, active: 2, workers: 2, supervisors: 0 } });
    const duplicate = await startChild(sup, probeSpec({ id: 's1', events }));
    assert.deepEqual(duplicate, { ok: false, error: { reason: 'already_present', id: 's1' } });
    assert.deepEqual(await terminateChild(sup, 's1'), { ok: true, value: undefined });
    assert.equal(isAlive(one.value), false);
    assert.deepEqual(events, ['start:s1', 'start:s2', 'stop:s1:shutdown']);
    const left = await whichChildren(sup);
    assert.ok(left.ok);
    assert.deepEqual(left.value.map((child) => child.id), ['s2']);
    assert.deepEqual(await terminateChild(sup, 'nope'), { ok: false, error: { reason: 'not_found', id: 'nope' } });
    await stop(sup, SHUTDOWN, 1_000);
    assert.equal(isAlive(two.value), false);
  });

  it('maxChildren refuses one more child with an error value', async () => {
    const sup = await dynamic({ maxChildren: 2 });
    const events: string[] = [];
    assert.ok((await startChild(sup, probeSpec({ id: 'a', events }))).ok);
    assert.ok((await startChild(sup, probeSpec({ id: 'b', events }))).ok);
    assert.deepEqual(await startChild(sup, probeSpec({ id: 'c', events })), { ok: false, error: { reason: 'max_children', max: 2 } });
    await stop(sup, SHUTDOWN, 1_000);
  });

  it('a child whose init fails is not kept', async () => {
    const sup = await dynamic();
    const result = await startChild(sup, probeSpec({ id: 'bad', events: [], failInit: true }));
    assert.ok(!result.ok && result.error.reason === 'start_failed');
    assert.deepEqual(await countChildren(sup), { ok: true, value: { specs: 0, active: 0, workers: 0, supervisors: 0 } });
    await stop(sup, SHUTDOWN, 1_000);
  });

  it('transient children: restarted after a crash, forgotten after a normal exit', async () => {
    const sup = await dynamic();
    const events: string[] = [];
    const child = await startChild(sup, probeSpec({ id: 's1', events }, { restart: 'transient' }));
    assert.ok(child.ok);
    crashProcess(child.value, 'boom');
    await eventually(async () => {
      const now = await pidOf(sup, 's1');
      return now !== undefined && now.id !== child.value.id;
    });
    const restarted = await pidOf(sup, 's1');
    assert.ok(restarted);
    await call(restarted, { type: 'stop_normal' });
    await eventually(async () => (await pidOf(sup, 's1')) === undefined);
    const children = await whichChildren(sup);
    assert.ok(children.ok && children.value.length === 0);
    await stop(sup, SHUTDOWN, 1_000);
  });

  it('per-child intensity: a crash-looping child is given up alone; siblings and the supervisor live on', async () => {
    const sup = await dynamic({ intensityScope: 'per_child', maxRestarts: 2, periodMs: 5_000 });
    const events: string[] = [];
    const givenUp: ExitReason[] = [];
    const loop = probeSpec({ id: 'loop', events }, { restart: 'transient', onGiveUp: (reason) => givenUp.push(reason) });
    const steady = await startChild(sup, probeSpec({ id: 'steady', events }, { restart: 'transient' }));
    assert.ok(steady.ok);
    assert.ok((await startChild(sup, loop)).ok);
    for (let i = 0; i < 3; i += 1) {
      const pid = await pidOf(sup, 'loop');
      assert.ok(pid, `loop child alive before crash ${i}`);
      const exited = awaitExit(pid);
      crashProcess(pid, `loop ${i}`);
      await exited;
      await eventually(async () => (await pidOf(sup, 'loop'))?.id !== pid.id);
    }
    await eventually(() => givenUp.length === 1);
    assert.equal(givenUp[0]?.kind, 'crash');
    assert.equal(await pidOf(sup, 'loop'), undefined);
    assert.ok(isAlive(sup));
    assert.ok(isAlive(steady.value));
    await stop(sup, SHUTDOWN, 1_000);
  });

  it('supervisor-wide intensity (the OTP default) takes the whole supervisor down', async () => {
    const sup = await dynamic({ maxRestarts: 1, periodMs: 5_000 });
    const events: string[] = [];
    const exited = awaitExit(sup);
    assert.ok((await startChild(sup, probeSpec({ id: 'a', events }, { restart: 'transient' }))).ok);
    assert.ok((await startChild(sup, probeSpec({ id: 'b', events }, { restart: 'transient' }))).ok);
    const a = await pidOf(sup, 'a');
    assert.ok(a);
    crashProcess(a, 'one');
    await eventually(async () => (await pidOf(sup, 'a'))?.id !== a.id);
    const b = await pidOf(sup, 'b');
    assert.ok(b);
    crashProcess(b, 'two');
    assert.deepEqual(await exited, { kind: 'shutdown', detail: 'reached_max_restart_intensity' });
  });

  it('snapshot lists children up to a limit and says how many it left out', async () => {
    const sup = await dynamic();
    for (let i = 0; i < 5; i += 1) assert.ok((await startChild(sup, probeSpec({ id: `c${i}`, events: [] }))).ok);
    const tree = await snapshot(sup, 3);
    assert.ok(tree.ok);
    assert.equal(tree.value.kind, 'dynamic_supervisor');
    assert.equal(tree.value.childCount, 5);
    assert.equal(tree.value.children?.length, 3);
    assert.equal(tree.value.omitted, 2);
    await stop(sup, SHUTDOWN, 1_000);
  });
});
