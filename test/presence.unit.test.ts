import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import fc from 'fast-check';
import { Presence as PhxPresence, type PhxPresenceDiff, type PhxPresenceState } from 'phoenix';
import { SHUTDOWN, call, crashProcess, kill, startSupervisor, stop, type Pid, type SupervisorPid } from '../supervision/index.js';
import type { Broadcast } from '../src/pubsub/broadcast.js';
import * as Presence from '../src/presence/presence.js';
import * as PubSub from '../src/pubsub/pubsub.js';
import { json, listen, receivedAtLeast, type ListenerPid } from './support/listener.js';
import { eventually, root, sleep, startProbe } from './support/probe.js';

const BATCH_MS = 20;
let sup: SupervisorPid;
const parent = root();

before(async () => {
  const started = await startSupervisor([PubSub.pubsubSpec(), Presence.presenceSpec({ node: 'test@node', batchMs: BATCH_MS })], {
    parent,
    id: 'app',
    strategy: 'rest_for_one',
  });
  assert.ok(started.ok);
  sup = started.value;
});
after(async () => {
  await stop(sup, SHUTDOWN, 5_000);
});

let owners = 0;
const owner = () => startProbe(parent, { id: `owner-${(owners += 1)}`, events: [] });

async function diffsSeen(listener: ListenerPid): Promise<PhxPresenceDiff[]> {
  const result = await call<Broadcast[]>(listener, { type: 'received' });
  assert.ok(result.ok);
  // As the client gets them: through JSON (the tracker's objects have no prototype).
  return result.value.filter((b) => b.event === 'presence_diff').map((b) => JSON.parse(json(b)) as PhxPresenceDiff);
}

async function list(topic: string): Promise<PhxPresenceState> {
  const listed = await Presence.list(topic);
  assert.ok(listed.ok);
  return JSON.parse(JSON.stringify(listed.value)) as PhxPresenceState;
}

/** key -> sorted refs, the identity the phoenix.js client keeps. */
const refsByKey = (state: PhxPresenceState) =>
  Object.fromEntries(
    Object.entries(state)
      .map(([key, p]) => [key, p.metas.map((m) => m.phx_ref).sort()] as const)
      .sort(([a], [b]) => a.localeCompare(b)),
  );

describe('Presence', () => {
  it('lists in the exact Phoenix shape; several tabs of one user are one key with several metas', async () => {
    const [tab1, tab2, other] = await Promise.all([owner(), owner(), owner()]);
    const r1 = await Presence.track(tab1, 'room:shape', 'alice', { online_at: 1 });
    const r2 = await Presence.track(tab2, 'room:shape', 'alice', { online_at: 2 });
    const r3 = await Presence.track(other, 'room:shape', 'bob', { online_at: 3 });
    assert.ok(r1.ok && r2.ok && r3.ok);
    assert.match(r1.value, /^[A-Za-z0-9_-]{16}$/);
    assert.deepEqual(await list('room:shape'), {
      alice: { metas: [{ online_at: 1, phx_ref: r1.value }, { online_at: 2, phx_ref: r2.value }] },
      bob: { metas: [{ online_at: 3, phx_ref: r3.value }] },
    });
    assert.deepEqual(await Presence.track(tab1, 'room:shape', 'alice', {}), { ok: false, error: { reason: 'already_tracked' } });
    await Promise.all([tab1, tab2, other].map((p) => stop(p, SHUTDOWN, 1_000)));
  });

  it('update gives a new phx_ref with phx_ref_prev, seen by clients as one diff with a join and a leave', async () => {
    const watcher = await listen(parent, 'watch-update', ['room:update']);
    const tab = await owner();
    const first = await Presence.track(tab, 'room:update', 'carol', { away: false });
    assert.ok(first.ok);
    // The join's window has closed once its diff is out: the update falls in a window of its own.
    await receivedAtLeast(watcher, 1);
    const second = await Presence.update(tab, 'room:update', 'carol', { away: true });
    assert.ok(second.ok);
    await receivedAtLeast(watcher, 2);
    const [, diff] = await diffsSeen(watcher);
    assert.deepEqual(diff, {
      joins: { carol: { metas: [{ away: true, phx_ref: second.value, phx_ref_prev: first.value }] } },
      leaves: { carol: { metas: [{ away: false, phx_ref: first.value }] } },
    });
    const stranger = await owner();
    assert.deepEqual(await Presence.update(stranger, 'room:update', 'carol', {}), { ok: false, error: { reason: 'nopresence' } });
    await Promise.all([watcher, tab, stranger].map((p) => stop(p, SHUTDOWN, 1_000)));
  });

  it('removes the presences of a process that crashes, and everyone on the topic receives the leave', async () => {
    const watcher = await listen(parent, 'watch-crash', ['room:crash', 'room:crash2']);
    const tab = await owner();
    const ref = await Presence.track(tab, 'room:crash', 'dave', {});
    const ref2 = await Presence.track(tab, 'room:crash2', 'dave', {});
    assert.ok(ref.ok && ref2.ok);
    // Both joins are out (one diff per topic) before the crash, so its leaves are not merged away with them.
    await receivedAtLeast(watcher, 2);
    crashProcess(tab, 'tab crashed');
    await receivedAtLeast(watcher, 4);
    const leaves = (await diffsSeen(watcher)).flatMap((d) => d.leaves['dave']?.metas.map((m) => m.phx_ref) ?? []);
    assert.deepEqual(leaves.sort(), [ref.value, ref2.value].sort());
    assert.deepEqual(await list('room:crash'), {});
    await stop(watcher, SHUTDOWN, 1_000);
  });

  it('merges the diffs of a join storm within the window into one broadcast', async () => {
    const watcher = await listen(parent, 'watch-storm', ['room:storm']);
    const tabs = await Promise.all(Array.from({ length: 300 }, () => owner()));
    await Promise.all(tabs.map((tab, i) => Presence.track(tab, 'room:storm', `user${i}`, {})));
    await eventually(async () => Object.keys((await diffsSeen(watcher)).reduce((acc, d) => ({ ...acc, ...d.joins }), {})).length === 300);
    const diffs = await diffsSeen(watcher);
    assert.ok(diffs.length <= 3, `300 joins went out as ${diffs.length} diffs`);
    await Promise.all([watcher, ...tabs].map((p) => stop(p, SHUTDOWN, 1_000)));
  });

  it('property: list equals a simple model, and a phoenix.js client fed every diff ends at list', async () => {
    const op = fc.oneof(
      fc.record({ kind: fc.constant('track' as const), tab: fc.nat(5), key: fc.constantFrom('u1', 'u2', 'u3') }),
      fc.record({ kind: fc.constant('untrack' as const), tab: fc.nat(5), key: fc.constantFrom('u1', 'u2', 'u3') }),
      fc.record({ kind: fc.constant('update' as const), tab: fc.nat(5), key: fc.constantFrom('u1', 'u2', 'u3'), n: fc.nat(9) }),
      fc.record({ kind: fc.constantFrom('crash' as const, 'kill' as const), tab: fc.nat(5) }),
      fc.record({ kind: fc.constant('pause' as const), ms: fc.integer({ min: 0, max: BATCH_MS * 2 }) }),
    );
    let run = 0;
    await fc.assert(
      fc.asyncProperty(fc.array(op, { minLength: 1, maxLength: 25 }), async (ops) => {
        const topic = `room:prop${(run += 1)}`;
        const watcher = await listen(parent, `watch-prop-${run}`, [topic]);
        const tabs: Pid[] = await Promise.all(Array.from({ length: 6 }, () => owner()));
        const model = new Map<string, Set<string>>(); // `${tab}/${key}` -> present
        const alive = new Set(tabs.map((_, i) => i));
        const tracked = new Set<string>();
        for (const o of ops) {
          if (o.kind === 'pause') {
            // Generated pacing: ops land in the same batch window or in later ones.
            await sleep(o.ms);
            continue;
          }
          const tab = tabs[o.tab];
          assert.ok(tab);
          if (o.kind === 'track') {
            const result = await Presence.track(tab, topic, o.key, { tab: o.tab });
            const id = `${o.tab}/${o.key}`;
            if (alive.has(o.tab) && !tracked.has(id)) {
              assert.ok(result.ok, 'a live tab tracks a new key');
              tracked.add(id);
            } else if (alive.has(o.tab)) {
              assert.deepEqual(result, { ok: false, error: { reason: 'already_tracked' } });
            }
          } else if (o.kind === 'untrack') {
            await Presence.untrack(tab, topic, o.key);
            tracked.delete(`${o.tab}/${o.key}`);
          } else if (o.kind === 'update') {
            const result = await Presence.update(tab, topic, o.key, { tab: o.tab, n: o.n });
            // A dead tab's metas go when Presence handles its DOWN, which may come after this update.
            if (alive.has(o.tab)) assert.equal(result.ok, tracked.has(`${o.tab}/${o.key}`));
          } else {
            if (o.kind === 'crash') crashProcess(tab, 'property crash');
            else kill(tab);
            alive.delete(o.tab);
            for (const id of [...tracked]) if (id.startsWith(`${o.tab}/`)) tracked.delete(id);
          }
        }
        for (const id of tracked) {
          const [tab, key] = id.split('/') as [string, string];
          if (!model.has(key)) model.set(key, new Set());
          model.get(key)?.add(tab);
        }
        // Deaths are noticed asynchronously: wait until list matches the model.
        const expected = Object.fromEntries([...model].sort(([a], [b]) => a.localeCompare(b)).map(([key, t]) => [key, [...t].sort()]));
        const tabsOf = (state: PhxPresenceState) =>
          Object.fromEntries(
            Object.entries(state)
              .sort(([a], [b]) => a.localeCompare(b))
              .map(([key, p]) => [key, p.metas.map((m) => String(m['tab'])).sort()]),
          );
        await eventually(async () => JSON.stringify(tabsOf(await list(topic))) === JSON.stringify(expected));
        // list sends the topic's pending diffs to PubSub first, sync returns once PubSub has dispatched them,
        // and the watcher answers diffsSeen after them: the last window's diff is in without waiting it out.
        const final = await list(topic);
        assert.ok((await PubSub.sync()).ok);
        let client: PhxPresenceState = {};
        for (const diff of await diffsSeen(watcher)) client = PhxPresence.syncDiff(client, structuredClone(diff));
        assert.deepEqual(refsByKey(client), refsByKey(final));
        await Promise.all([watcher, ...tabs].map((p) => stop(p, SHUTDOWN, 1_000)));
      }),
      { numRuns: 25 },
    );
  });
});
