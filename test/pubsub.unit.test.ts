import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import fc from 'fast-check';
import {
  SHUTDOWN,
  call,
  crashProcess,
  isAlive,
  kill,
  name,
  startSupervisor,
  stop,
  whereis,
  whichChildren,
  type SupervisorPid,
} from '../supervision/index.js';
import type { Broadcast } from '../src/pubsub/broadcast.js';
import * as PubSub from '../src/pubsub/pubsub.js';
import * as Encode from '../src/channel/encode.js';
import { json, listen, startListener, type ListenerPid } from './support/listener.js';
import { eventually, root } from './support/probe.js';

let sup: SupervisorPid;
const parent = root();

before(async () => {
  const started = await startSupervisor([PubSub.pubsubSpec()], { parent, id: 'app' });
  assert.ok(started.ok);
  sup = started.value;
});
after(async () => {
  if (isAlive(sup)) await stop(sup, SHUTDOWN, 5_000);
});

async function received(pid: ListenerPid): Promise<Broadcast[]> {
  const result = await call<Broadcast[]>(pid, { type: 'received' });
  assert.ok(result.ok);
  return result.value;
}

async function subscriberIds(topic: string): Promise<number[]> {
  const result = await PubSub.subscribers(topic);
  assert.ok(result.ok);
  return result.value.map((pid) => pid.id).sort((a, b) => a - b);
}

describe('PubSub', () => {
  it('delivers a broadcast to every subscriber of the topic as handleInfo, and to no one else', async () => {
    const a = await listen(parent, 'a', ['room:1']);
    const b = await listen(parent, 'b', ['room:1', 'room:2']);
    const c = await listen(parent, 'c', ['room:2']);
    PubSub.broadcast('room:1', 'new_msg', { body: 'hi' });
    await eventually(async () => (await received(a)).length === 1 && (await received(b)).length === 1);
    assert.equal((await received(c)).length, 0);
    const [got] = await received(a);
    assert.deepEqual([got?.topic, got?.event, got?.payload], ['room:1', 'new_msg', { body: 'hi' }]);
    await Promise.all([a, b, c].map((pid) => stop(pid, SHUTDOWN, 1_000)));
  });

  it('broadcastFrom leaves the sender out; broadcast includes it', async () => {
    const sender = await listen(parent, 'sender', ['room:from']);
    const other = await listen(parent, 'other', ['room:from']);
    PubSub.broadcastFrom(sender, 'room:from', 'ping', { n: 1 });
    PubSub.broadcast('room:from', 'ping', { n: 2 });
    await eventually(async () => (await received(other)).length === 2);
    assert.deepEqual((await received(sender)).map((b) => b.payload['n']), [2]);
    await Promise.all([sender, other].map((pid) => stop(pid, SHUTDOWN, 1_000)));
  });

  it('serialises the payload once per broadcast, shared by every subscriber and the socket fastlane', async () => {
    let serialised = 0;
    const frames: string[] = [];
    // As the Endpoint's fastlane makes the frame it publishes.
    PubSub.setSocketPublisher((broadcast) => frames.push(Encode.broadcast(broadcast.topic, broadcast.event, Encode.asPayloadJson(json(broadcast)))));
    const listeners = await Promise.all(['x', 'y', 'z'].map((id) => listen(parent, id, ['room:once'])));
    const payload = { body: { toJSON: () => (serialised += 1, 'counted') } };
    PubSub.broadcast('room:once', 'new_msg', payload);
    await eventually(async () => (await Promise.all(listeners.map(received))).every((r) => r.length === 1));
    const got = (await Promise.all(listeners.map(received))).map((r) => r[0]);
    assert.ok(got.every((b) => b === got[0]), 'every subscriber got the same Broadcast object');
    assert.ok(got.every((b) => b !== undefined && Encode.broadcast(b.topic, b.event, Encode.asPayloadJson(json(b))) === frames[0]));
    assert.equal(frames.length, 1);
    assert.equal(frames[0], '[null,null,"room:once","new_msg",{"body":"counted"}]');
    assert.equal(serialised, 1, 'the payload was serialised exactly once');
    PubSub.setSocketPublisher(undefined);
    await Promise.all(listeners.map((pid) => stop(pid, SHUTDOWN, 1_000)));
  });

  it('drops a broadcast that cannot be encoded, survives a socket publisher that throws, and delivers what comes after', async () => {
    const pubsub = whereis(name('pubsub'));
    const pid = await listen(parent, 'sturdy', ['room:bad']);
    let publishes = 0;
    PubSub.setSocketPublisher((broadcast) => {
      publishes += 1;
      if (broadcast.event === 'explode') throw new Error('a publisher bug');
    });
    const cycle: Record<string, unknown> = {};
    cycle['self'] = cycle;
    const hostile = [{ n: 1n }, cycle, { get x(): number { throw new Error('getter'); } }, { toJSON: () => { throw new Error('toJSON'); } }, { toJSON: () => 42 }];
    for (const payload of hostile) PubSub.broadcast('room:bad', 'new_msg', payload);
    PubSub.broadcast('room:bad', 'explode', {});
    PubSub.broadcast('room:bad', 'fine', { ok: true });
    await eventually(async () => (await received(pid)).some((b) => b.event === 'fine'));
    assert.deepEqual((await received(pid)).map((b) => b.event), ['explode', 'fine'], 'the unencodable ones reached no one');
    assert.equal(publishes, 2);
    assert.equal(whereis(name('pubsub'))?.id, pubsub?.id, 'the same PubSub process');
    PubSub.setSocketPublisher(undefined);
    await stop(pid, SHUTDOWN, 1_000);
  });

  it('keeps the order of broadcasts from one sender', async () => {
    const pid = await listen(parent, 'ordered', ['room:order']);
    for (let i = 0; i < 1_000; i += 1) PubSub.broadcast('room:order', 'n', { i });
    await eventually(async () => (await received(pid)).length === 1_000);
    assert.deepEqual((await received(pid)).map((b) => b.payload['i']), Array.from({ length: 1_000 }, (_, i) => i));
    await stop(pid, SHUTDOWN, 1_000);
  });

  it('removes a subscriber that crashes or stops, from every topic', async () => {
    const crashing = await listen(parent, 'crashing', ['room:c1', 'room:c2']);
    const stopping = await listen(parent, 'stopping', ['room:c1']);
    const staying = await listen(parent, 'staying', ['room:c1']);
    crashProcess(crashing, 'boom');
    await stop(stopping, SHUTDOWN, 1_000);
    await eventually(async () => (await subscriberIds('room:c1')).length === 1);
    assert.deepEqual(await subscriberIds('room:c1'), [staying.id]);
    assert.deepEqual(await subscriberIds('room:c2'), []);
    await stop(staying, SHUTDOWN, 1_000);
  });

  it('leaks no subscription whatever the order of subscribe, crash, kill and stop (property)', async () => {
    const topics = ['p:a', 'p:b', 'p:c'];
    const op = fc.oneof(
      fc.record({ kind: fc.constant('subscribe' as const), who: fc.nat(4), topic: fc.constantFrom(...topics) }),
      fc.record({ kind: fc.constantFrom('crash' as const, 'kill' as const, 'stop' as const), who: fc.nat(4) }),
    );
    await fc.assert(
      fc.asyncProperty(fc.array(op, { minLength: 1, maxLength: 30 }), async (ops) => {
        const pids = await Promise.all([0, 1, 2, 3, 4].map((i) => listen(parent, `prop-${i}`, [])));
        const model = new Map<number, Set<string>>(pids.map((pid) => [pid.id, new Set()]));
        for (const o of ops) {
          const pid = pids[o.who];
          assert.ok(pid);
          if (o.kind === 'subscribe') {
            // Subscribing a dead pid is accepted and then cleaned up by the monitor's noproc DOWN.
            await PubSub.subscribe(o.topic, pid);
            model.get(pid.id)?.add(o.topic);
          } else {
            if (o.kind === 'crash') crashProcess(pid, 'property crash');
            else if (o.kind === 'kill') kill(pid);
            else void stop(pid, SHUTDOWN, 1_000);
            model.delete(pid.id);
          }
        }
        await eventually(async () => {
          for (const topic of topics) {
            const expected = [...model].filter(([id, subs]) => subs.has(topic) && pids.some((p) => p.id === id && isAlive(p))).map(([id]) => id);
            if (JSON.stringify(await subscriberIds(topic)) !== JSON.stringify(expected.sort((a, b) => a - b))) return false;
          }
          return true;
        });
        await Promise.all(pids.map((pid) => stop(pid, SHUTDOWN, 1_000)));
        for (const topic of topics) assert.deepEqual(await subscriberIds(topic), [], 'nothing left once all stopped');
      }),
      { numRuns: 40 },
    );
  });
});

describe('PubSub killed', () => {
  it('rest_for_one restarts what depends on it, and broadcasts reach the restarted subscribers', async () => {
    // This test builds its own tree around a PubSub: the shared one goes first (the name is unique).
    await stop(sup, SHUTDOWN, 5_000);
    const tree = await startSupervisor(
      [
        PubSub.pubsubSpec(),
        { id: 'dependent', start: (p) => startListener(p, 'dependent', ['room:survive']) },
      ],
      { parent: root(), id: 'tree', strategy: 'rest_for_one' },
    );
    assert.ok(tree.ok);
    const pubsub = whereis(name('pubsub'));
    assert.ok(pubsub);
    const initial = await whichChildren(tree.value);
    const dependentBefore = initial.ok ? initial.value[1]?.pid : undefined;
    assert.ok(dependentBefore);
    kill(pubsub);
    await eventually(async () => {
      const children = await whichChildren(tree.value);
      return children.ok && children.value.every((c) => c.pid !== undefined && isAlive(c.pid)) && children.value[1]?.pid?.id !== dependentBefore.id;
    });
    const children = await whichChildren(tree.value);
    assert.ok(children.ok);
    const dependent = children.value[1]?.pid as ListenerPid;
    PubSub.broadcast('room:survive', 'after', {});
    await eventually(async () => (await received(dependent)).length === 1);
    await stop(tree.value, SHUTDOWN, 5_000);
  });
});
