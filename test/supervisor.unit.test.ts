import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  SHUTDOWN,
  awaitExit,
  call,
  cast,
  crashProcess,
  isAlive,
  kill,
  onExit,
  snapshot,
  startSupervisor,
  stop,
  supervisorSpec,
  whichChildren,
  type ChildSpec,
  type Pid,
  type Strategy,
  type SupervisorPid,
} from '../supervision/index.js';
import { eventually, probeSpec, root, sleep, type ProbeProtocol } from './support/probe.js';

async function childPids(sup: SupervisorPid): Promise<Map<string, Pid | undefined>> {
  const children = await whichChildren(sup);
  assert.ok(children.ok);
  return new Map(children.value.map((child) => [child.id, child.pid]));
}

async function startThree(strategy: Strategy, events: string[]): Promise<SupervisorPid> {
  const specs = ['a', 'b', 'c'].map((id) => probeSpec({ id, events }));
  const sup = await startSupervisor(specs, { parent: root(), id: 'sup', strategy });
  assert.ok(sup.ok);
  return sup.value;
}

async function crashAndSettle(sup: SupervisorPid, id: string, events: string[]): Promise<void> {
  const pid = (await childPids(sup)).get(id);
  assert.ok(pid);
  events.length = 0;
  crashProcess(pid, 'test crash');
  await eventually(async () => {
    const pids = await childPids(sup);
    return [...pids.values()].every((p) => p !== undefined && isAlive(p)) && pids.get(id)?.id !== pid.id;
  });
}

describe('Supervisor strategies: child b of a, b, c crashes', () => {
  it('one_for_one restarts only b', async () => {
    const events: string[] = [];
    const sup = await startThree('one_for_one', events);
    const before = await childPids(sup);
    await crashAndSettle(sup, 'b', events);
    const after = await childPids(sup);
    assert.deepEqual(events, ['stop:b:crash', 'start:b']);
    assert.equal(after.get('a')?.id, before.get('a')?.id);
    assert.equal(after.get('c')?.id, before.get('c')?.id);
    await stop(sup, SHUTDOWN, 1_000);
  });

  it('one_for_all stops the others in reverse order and restarts all in order', async () => {
    const events: string[] = [];
    const sup = await startThree('one_for_all', events);
    await crashAndSettle(sup, 'b', events);
    assert.deepEqual(events, ['stop:b:crash', 'stop:c:shutdown', 'stop:a:shutdown', 'start:a', 'start:b', 'start:c']);
    await stop(sup, SHUTDOWN, 1_000);
  });

  it('rest_for_one restarts b and those after it, not a', async () => {
    const events: string[] = [];
    const sup = await startThree('rest_for_one', events);
    const before = await childPids(sup);
    await crashAndSettle(sup, 'b', events);
    assert.deepEqual(events, ['stop:b:crash', 'stop:c:shutdown', 'start:b', 'start:c']);
    assert.equal((await childPids(sup)).get('a')?.id, before.get('a')?.id);
    await stop(sup, SHUTDOWN, 1_000);
  });
});

describe('Restart types', () => {
  async function exitOnce(restart: ChildSpec['restart'], how: 'crash' | 'stop_normal'): Promise<boolean> {
    const events: string[] = [];
    const sup = await startSupervisor([probeSpec({ id: 'w', events }, { restart })], { parent: root(), id: 'sup' });
    assert.ok(sup.ok);
    const pid = (await childPids(sup.value)).get('w');
    assert.ok(pid);
    const exited = awaitExit(pid);
    await call(pid, { type: how });
    await exited;
    // The supervisor's DOWN was in its mailbox before `exited` resolved: this call is answered once it has handled it.
    const children = await whichChildren(sup.value);
    assert.ok(children.ok);
    const restarted = children.value.some((child) => child.pid !== undefined && isAlive(child.pid));
    await stop(sup.value, SHUTDOWN, 1_000);
    return restarted;
  }

  it('permanent is restarted after a crash and after a normal exit', async () => {
    assert.equal(await exitOnce('permanent', 'crash'), true);
    assert.equal(await exitOnce('permanent', 'stop_normal'), true);
  });
  it('transient is restarted after a crash only', async () => {
    assert.equal(await exitOnce('transient', 'crash'), true);
    assert.equal(await exitOnce('transient', 'stop_normal'), false);
  });
  it('temporary is never restarted', async () => {
    assert.equal(await exitOnce('temporary', 'crash'), false);
    assert.equal(await exitOnce('temporary', 'stop_normal'), false);
  });
  it('a killed transient child counts as abnormal and is restarted', async () => {
    const events: string[] = [];
    const sup = await startSupervisor([probeSpec({ id: 'w', events }, { restart: 'transient' })], {
      parent: root(),
      id: 'sup',
    });
    assert.ok(sup.ok);
    const pid = (await childPids(sup.value)).get('w');
    assert.ok(pid);
    kill(pid);
    await eventually(async () => {
      const now = (await childPids(sup.value)).get('w');
      return now !== undefined && now.id !== pid.id;
    });
    await stop(sup.value, SHUTDOWN, 1_000);
  });
});

describe('Restart intensity', () => {
  it('past maxRestarts in periodMs the supervisor exits and its parent restarts it (escalation)', async () => {
    const events: string[] = [];
    const inner = supervisorSpec('inner', [probeSpec({ id: 'w', events })], { maxRestarts: 2, periodMs: 5_000 });
    const outer = await startSupervisor([inner], { parent: root(), id: 'outer', maxRestarts: 5 });
    assert.ok(outer.ok);
    const innerPid = (await childPids(outer.value)).get('inner');
    assert.ok(innerPid);
    const innerExit = awaitExit(innerPid);
    for (let i = 0; i < 3; i += 1) {
      const w = (await childPids(innerPid as SupervisorPid)).get('w');
      assert.ok(w);
      const exited = awaitExit(w);
      crashProcess(w, `crash ${i}`);
      // The next childPids call queues behind the DOWN inner got before this resolved: it sees the restarted w.
      await exited;
    }
    const reason = await innerExit;
    assert.deepEqual(reason, { kind: 'shutdown', detail: 'reached_max_restart_intensity' });
    await eventually(async () => {
      const now = (await childPids(outer.value)).get('inner');
      return now !== undefined && now.id !== innerPid.id;
    });
    const tree = await snapshot(outer.value);
    assert.ok(tree.ok);
    assert.equal(tree.value.children?.[0]?.restarts, 1);
    assert.equal(tree.value.children?.[0]?.kind, 'supervisor');
    assert.equal(tree.value.children?.[0]?.children?.[0]?.restarts, 0, 'the new inner supervisor starts w afresh');
    await stop(outer.value, SHUTDOWN, 1_000);
  });

  it('the root supervisor exceeding its intensity exits, and its owner hears it', async () => {
    const events: string[] = [];
    const sup = await startSupervisor([probeSpec({ id: 'w', events })], {
      parent: root(),
      id: 'root',
      maxRestarts: 1,
      periodMs: 5_000,
    });
    assert.ok(sup.ok);
    const rootExit = new Promise((resolve) => onExit(sup.value, resolve));
    for (let i = 0; i < 2; i += 1) {
      const w = (await childPids(sup.value)).get('w');
      assert.ok(w);
      const exited = awaitExit(w);
      crashProcess(w, `crash ${i}`);
      // As above: the next call to the supervisor is answered after it handled this DOWN.
      await exited;
    }
    assert.deepEqual(await rootExit, { kind: 'shutdown', detail: 'reached_max_restart_intensity' });
    assert.ok(events.includes('stop:w:crash'));
  });

  it('restarts spread wider than periodMs never exceed the intensity', async () => {
    const events: string[] = [];
    const sup = await startSupervisor([probeSpec({ id: 'w', events })], {
      parent: root(),
      id: 'sup',
      maxRestarts: 1,
      periodMs: 50,
    });
    assert.ok(sup.ok);
    for (let i = 0; i < 4; i += 1) {
      // Answered after the supervisor handled the previous DOWN (and restarted w).
      const w = (await childPids(sup.value)).get('w');
      assert.ok(w);
      // Time is the subject: each restart comes more than periodMs after the one before.
      if (i > 0) await sleep(80);
      const exited = awaitExit(w);
      crashProcess(w, `crash ${i}`);
      await exited;
    }
    // Answered once the last DOWN is handled: had it been one restart too many, the supervisor would be gone.
    await whichChildren(sup.value);
    assert.ok(isAlive(sup.value));
    await stop(sup.value, SHUTDOWN, 1_000);
  });
});

describe('Start and shutdown', () => {
  it('a child that fails to start aborts the start with a clear error and stops the started ones in reverse', async () => {
    const events: string[] = [];
    const specs = [
      probeSpec({ id: 'a', events }),
      probeSpec({ id: 'b', events }),
      probeSpec({ id: 'c', events, failInit: true }),
    ];
    const sup = await startSupervisor(specs, { parent: root(), id: 'sup' });
    assert.equal(sup.ok, false);
    assert.ok(!sup.ok && sup.error.reason === 'init_failed');
    assert.ok(!sup.ok && sup.error.reason === 'init_failed' && sup.error.exit.kind === 'crash');
    assert.match(
      !sup.ok && sup.error.reason === 'init_failed' && sup.error.exit.kind === 'crash' ? sup.error.exit.error.message : '',
      /child c failed to start: init failed \(crash: init of c refused\)/,
    );
    assert.deepEqual(events, ['start:a', 'start:b', 'stop:b:shutdown', 'stop:a:shutdown']);
  });

  it('stops children in reverse start order, each running terminate', async () => {
    const events: string[] = [];
    const sup = await startThree('one_for_one', events);
    events.length = 0;
    assert.deepEqual(await stop(sup, SHUTDOWN, 1_000), SHUTDOWN);
    assert.deepEqual(events, ['stop:c:shutdown', 'stop:b:shutdown', 'stop:a:shutdown']);
  });

  it('a child whose terminate outlasts its shutdown time is killed, and the rest still stop', async () => {
    const events: string[] = [];
    const specs = [probeSpec({ id: 'a', events }), probeSpec({ id: 'slow', events, terminateMs: 5_000 }, { shutdown: 100 })];
    const sup = await startSupervisor(specs, { parent: root(), id: 'sup' });
    assert.ok(sup.ok);
    const slow = (await childPids(sup.value)).get('slow');
    assert.ok(slow);
    const slowExit = awaitExit(slow);
    const started = Date.now();
    await stop(sup.value, SHUTDOWN, 2_000);
    const elapsed = Date.now() - started;
    assert.deepEqual(await slowExit, { kind: 'killed', detail: 'shutdown timeout 100 ms' });
    assert.ok(elapsed >= 90 && elapsed < 1_000, `took ${elapsed} ms`);
    assert.ok(events.includes('stop:a:shutdown'));
    assert.ok(!events.includes('stop:slow:shutdown'));
  });

  it("'brutal' shutdown kills without terminate", async () => {
    const events: string[] = [];
    const sup = await startSupervisor([probeSpec({ id: 'b', events }, { shutdown: 'brutal' })], { parent: root(), id: 'sup' });
    assert.ok(sup.ok);
    events.length = 0;
    await stop(sup.value, SHUTDOWN, 1_000);
    assert.deepEqual(events, []);
  });

  it('children of a killed supervisor do not outlive it', async () => {
    const events: string[] = [];
    const sup = await startThree('one_for_one', events);
    const pids = [...(await childPids(sup)).values()];
    kill(sup);
    await Promise.all(pids.map((pid) => (pid === undefined ? undefined : awaitExit(pid))));
    assert.ok(pids.every((pid) => pid !== undefined && !isAlive(pid)));
  });
});

describe('Crash isolation', () => {
  it('a crashing handler takes down its own process only; siblings keep their state', async () => {
    const events: string[] = [];
    const sup = await startThree('one_for_one', events);
    const pids = await childPids(sup);
    const a = pids.get('a') as Pid<ProbeProtocol>;
    await call(a, { type: 'sleep', ms: 0 });
    for (let i = 0; i < 3; i += 1) cast(a, { type: 'inc' });
    const b = pids.get('b') as Pid<ProbeProtocol>;
    const failed = await call(b, { type: 'crash' });
    assert.equal(failed.ok, false);
    assert.ok(!failed.ok && failed.error.reason === 'exit' && failed.error.exit.kind === 'crash');
    const value = await call<number>(a, { type: 'get' });
    assert.deepEqual(value, { ok: true, value: 3 });
    await stop(sup, SHUTDOWN, 1_000);
  });
});
