import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import {
  SHUTDOWN,
  call,
  cast,
  crashProcess,
  isAlive,
  kill,
  mailboxLength,
  name,
  startSupervisor,
  stop,
  whereis,
  whichChildren,
  type Down,
  type MonitorRef,
} from '../supervision/index.js';
import { eventually, probeSpec, root, startProbe, type ProbeArgs, type ProbePid, type ProbeProtocol } from './support/probe.js';

async function watcherAndTarget(): Promise<{ watcher: ProbePid; target: ProbePid; ref: MonitorRef }> {
  const events: string[] = [];
  const parent = root();
  const watcher = await startProbe(parent, { id: 'watcher', events });
  const target = await startProbe(parent, { id: 'target', events });
  const ref = await call<MonitorRef>(watcher, { type: 'monitor', pid: target });
  assert.ok(ref.ok);
  return { watcher, target, ref: ref.value };
}

async function downsOf(watcher: ProbePid): Promise<Down[]> {
  const downs = await call<Down[]>(watcher, { type: 'downs' });
  assert.ok(downs.ok);
  return downs.value;
}

describe('Monitors', () => {
  it('a crash sends DOWN with the crash reason', async () => {
    const { watcher, target, ref } = await watcherAndTarget();
    crashProcess(target, 'bad thing');
    await eventually(async () => (await downsOf(watcher)).length === 1);
    const [down] = await downsOf(watcher);
    assert.equal(down?.ref.id, ref.id);
    assert.equal(down?.pid.id, target.id);
    assert.equal(down?.reason.kind, 'crash');
    assert.match(down?.reason.kind === 'crash' ? down.reason.error.message : '', /bad thing/);
  });

  it('a normal stop sends DOWN with reason normal', async () => {
    const { watcher, target } = await watcherAndTarget();
    await call(target, { type: 'stop_normal' });
    await eventually(async () => (await downsOf(watcher)).length === 1);
    assert.deepEqual((await downsOf(watcher))[0]?.reason, { kind: 'normal' });
  });

  it('monitoring a dead pid sends DOWN noproc at once', async () => {
    const { watcher, target } = await watcherAndTarget();
    await stop(target, SHUTDOWN, 1_000);
    await call(watcher, { type: 'monitor', pid: target });
    await eventually(async () => (await downsOf(watcher)).some((down) => down.reason.kind === 'noproc'));
  });

  it('demonitor: no DOWN after it', async () => {
    const { watcher, target, ref } = await watcherAndTarget();
    await call(watcher, { type: 'demonitor', ref });
    const second = await call<MonitorRef>(watcher, { type: 'monitor', pid: target });
    assert.ok(second.ok);
    // stop resolves after the target posted its DOWNs to the watcher: the downs call below is answered after them.
    await stop(target, SHUTDOWN, 1_000);
    const downs = await downsOf(watcher);
    assert.equal(downs.length, 1);
    assert.equal(downs[0]?.ref.id, second.value.id, 'only the monitor still in place fired');
  });

  it('a monitor that fired lets go of the dead process, so a long-lived watcher of short-lived ones does not keep them all', async () => {
    setFlagsFromString('--expose-gc');
    const gc = runInNewContext('gc') as () => void;
    const watcher = await startProbe(root(), { id: 'watcher', events: [] });
    // In a function of its own, so that no stack slot of this test still holds the last one.
    const shortLived = async (i: number): Promise<WeakRef<ProbeArgs>> => {
      const args: ProbeArgs = { id: `short-${i}`, events: [] };
      const target = await startProbe(root(), args);
      await call(watcher, { type: 'monitor', pid: target });
      await stop(target, SHUTDOWN, 1_000);
      return new WeakRef(args);
    };
    const alive: WeakRef<ProbeArgs>[] = [];
    for (let i = 0; i < 20; i += 1) alive.push(await shortLived(i));
    await eventually(async () => (await downsOf(watcher)).length === 20);
    gc();
    assert.deepEqual(alive.flatMap((ref, i) => (ref.deref() === undefined ? [] : [i])), [], 'dead processes still reachable');
  });
});

describe('Calls', () => {
  it('a call past its timeout returns a timeout error value', async () => {
    const target = await startProbe(root(), { id: 'slow', events: [] });
    const started = Date.now();
    const result = await call(target, { type: 'sleep', ms: 500 }, 50);
    assert.deepEqual(result, { ok: false, error: { reason: 'timeout', ms: 50 } });
    assert.ok(Date.now() - started < 400);
  });

  it('a call to a dead pid returns noproc at once', async () => {
    const target = await startProbe(root(), { id: 'gone', events: [] });
    await stop(target, SHUTDOWN, 1_000);
    assert.deepEqual(await call(target, { type: 'get' }), { ok: false, error: { reason: 'noproc' } });
  });

  it('a callee that dies while calls are pending fails them at once with its exit reason', async () => {
    const target = await startProbe(root(), { id: 'dies', events: [] });
    const pending = call(target, { type: 'sleep', ms: 200 }, 10_000);
    const queued = call(target, { type: 'get' }, 10_000);
    // The sleep is being handled once it has left the mailbox, the get still in it.
    await eventually(() => mailboxLength(target) === 1);
    const started = Date.now();
    kill(target);
    const [first, second] = await Promise.all([pending, queued]);
    assert.ok(Date.now() - started < 100);
    assert.ok(!first.ok && first.error.reason === 'exit' && first.error.exit.kind === 'killed');
    assert.ok(!second.ok && second.error.reason === 'exit');
  });

  it('casts are handled in order, one at a time', async () => {
    const target = await startProbe(root(), { id: 'counter', events: [] });
    for (let i = 0; i < 100; i += 1) cast(target, { type: 'inc' });
    assert.deepEqual(await call(target, { type: 'get' }), { ok: true, value: 100 });
  });
});

describe('Turns', () => {
  const nextIteration = () => new Promise((resolve) => setImmediate(resolve));

  it('what piled up in a mailbox is handled in a turn or two, not one message per event-loop iteration', async () => {
    const target = await startProbe(root(), { id: 'piled', events: [] });
    await nextIteration(); // the turn that ran init ends
    for (let i = 0; i < 100; i += 1) cast(target, { type: 'inc' });
    await nextIteration();
    await nextIteration();
    assert.equal(mailboxLength(target), 0);
    assert.deepEqual(await call(target, { type: 'get' }), { ok: true, value: 100 });
  });

  it('a process with a flood in its mailbox leaves the others their turn', async () => {
    const busy = await startProbe(root(), { id: 'busy', events: [] });
    const other = await startProbe(root(), { id: 'other', events: [] });
    for (let i = 0; i < 10_000; i += 1) cast(busy, { type: 'inc' });
    assert.deepEqual(await call(other, { type: 'get' }), { ok: true, value: 0 });
    const handled = 10_000 - (mailboxLength(busy) ?? 0);
    assert.ok(handled < 1_000, `the other process waited for ${handled} of the busy one's messages`);
    assert.deepEqual(await call(busy, { type: 'get' }, 10_000), { ok: true, value: 10_000 });
  });
});

describe('Named registration', () => {
  it('a name follows the restarted incarnation; the old pid stays dead', async () => {
    const events: string[] = [];
    const registered = `named-${Math.random()}`;
    const spec = probeSpec({ id: 'n', events });
    const sup = await startSupervisor(
      [{ ...spec, start: (parent) => startProbe(parent, { id: 'n', events }, registered).then((pid) => ({ ok: true as const, value: pid })) }],
      { parent: root(), id: 'sup' },
    );
    assert.ok(sup.ok);
    const ref = name<ProbeProtocol>(registered);
    const first = whereis(ref);
    assert.ok(first);
    cast(ref, { type: 'inc' });
    assert.deepEqual(await call(ref, { type: 'get' }), { ok: true, value: 1 });
    crashProcess(first, 'restart me');
    await eventually(() => {
      const now = whereis(ref);
      return now !== undefined && now.id !== first.id;
    });
    assert.equal(isAlive(first), false);
    assert.deepEqual(await call(first, { type: 'get' }), { ok: false, error: { reason: 'noproc' } });
    assert.deepEqual(await call(ref, { type: 'get' }), { ok: true, value: 0 }, 'fresh state after restart');
    const children = await whichChildren(sup.value);
    assert.ok(children.ok && children.value[0]?.restarts === 1);
    await stop(sup.value, SHUTDOWN, 1_000);
    assert.equal(whereis(ref), undefined);
  });

  it('a second process cannot take a registered name', async () => {
    const registered = `taken-${Math.random()}`;
    await startProbe(root(), { id: 'one', events: [] }, registered);
    await assert.rejects(startProbe(root(), { id: 'two', events: [] }, registered), /did not start: already_registered/);
  });
});
