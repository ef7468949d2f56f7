import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { Presence, type PhxPresenceDiff, type PhxPresenceState } from 'phoenix';
import { DiffBatch, emptyDiff, isEmptyDiff, mergeDiffs, type PresenceDiff, type PresenceMeta } from '../src/presence/diff.js';
import { TrackerState, type MetaInput, type ReplicaEntry, type TopicDiffs } from '../src/presence/state.js';

// ---------------------------------------------------------------------------
// Helpers

/** What goes over the wire: a JSON round trip, which also drops prototypes and `undefined`s. */
function wire<T>(value: T): T {
  return JSON.parse(JSON.stringify(value)) as T;
}

/** Client-side comparison the brief asks for: key -> metas as a set (sorted by phx_ref). */
function asSets(state: PhxPresenceState): Record<string, PresenceMeta[]> {
  return Object.fromEntries(
    Object.entries(wire(state)).map(([key, { metas }]) => [
      key,
      [...metas].sort((x, y) => (x.phx_ref < y.phx_ref ? -1 : x.phx_ref > y.phx_ref ? 1 : 0)),
    ]),
  );
}

function single(diffs: TopicDiffs, topic: string): PresenceDiff {
  assert.equal(diffs.size, 1);
  const diff = diffs.get(topic);
  assert.ok(diff !== undefined, `a diff for ${topic}`);
  return diff;
}

function refsOf(diffSide: PresenceDiff['joins'], key: string): string[] {
  return diffSide[key]?.metas.map((m) => m.phx_ref) ?? [];
}

const REF_FORMAT = /^[A-Za-z0-9_-]{16}$/;

// ---------------------------------------------------------------------------
// Reference model: one flat array in tracking order, every query a scan.

type ModelEntry = { node: string; topic: string; owner: string; key: string; meta: PresenceMeta };

function stripRefs(input: MetaInput): MetaInput {
  const copy: MetaInput = { ...input };
  delete copy.phx_ref;
  delete copy.phx_ref_prev;
  return copy;
}

class Model {
  entries: ModelEntry[] = [];
  constructor(readonly node: string) {}

  find(topic: string, owner: string, key: string): ModelEntry | undefined {
    return this.entries.find((e) => e.node === this.node && e.topic === topic && e.owner === owner && e.key === key);
  }

  track(topic: string, owner: string, key: string, input: MetaInput, ref: string): void {
    this.entries.push({ node: this.node, topic, owner, key, meta: { ...stripRefs(input), phx_ref: ref } });
  }

  update(entry: ModelEntry, input: MetaInput, ref: string): void {
    this.entries = this.entries.filter((e) => e !== entry);
    this.entries.push({ ...entry, meta: { ...stripRefs(input), phx_ref: ref, phx_ref_prev: entry.meta.phx_ref } });
  }

  untrack(topic: string, owner: string, key: string): void {
    const entry = this.find(topic, owner, key);
    this.entries = this.entries.filter((e) => e !== entry);
  }

  untrackOwner(owner: string): void {
    this.entries = this.entries.filter((e) => !(e.node === this.node && e.owner === owner));
  }

  dropNode(node: string): void {
    this.entries = this.entries.filter((e) => e.node !== node);
  }

  mergeReplica(node: string, replica: readonly ReplicaEntry[]): void {
    const same = (e: ModelEntry, r: ReplicaEntry): boolean =>
      e.owner === r.owner && e.topic === r.topic && e.key === r.key && e.meta.phx_ref === r.meta.phx_ref;
    const kept = this.entries.filter((e) => e.node === node && replica.some((r) => same(e, r)));
    this.entries = this.entries.filter((e) => e.node !== node || kept.includes(e));
    for (const r of replica) {
      if (!kept.some((e) => same(e, r))) this.entries.push({ node, topic: r.topic, owner: r.owner, key: r.key, meta: r.meta });
    }
  }

  list(topic: string): PhxPresenceState {
    const byKey = new Map<string, PresenceMeta[]>();
    for (const e of this.entries) {
      if (e.topic !== topic) continue;
      const metas = byKey.get(e.key) ?? [];
      metas.push(e.meta);
      byKey.set(e.key, metas);
    }
    // fromEntries defines own properties, so "__proto__" stays a plain key.
    return Object.fromEntries([...byKey].map(([key, metas]) => [key, { metas }]));
  }

  localEntries(): ReplicaEntry[] {
    return this.entries
      .filter((e) => e.node === this.node)
      .map(({ topic, owner, key, meta }) => ({ topic, owner, key, meta }));
  }
}

// ---------------------------------------------------------------------------
// Random scenarios

const TOPICS = ['room:1', 'room:2', 'room:3'] as const;
const REMOTES = ['b', 'c'] as const;
const topicArb = fc.constantFrom(...TOPICS);
// The same owner ids on every node: owners are only unique within a node.
const ownerArb = fc.constantFrom('s1', 's2', 's3', 's4');
// Shared keys model several tabs of one user; "__proto__" and "7" catch prototype and key-order slips.
const keyArb = fc.constantFrom('u1', 'u2', '__proto__', '7');
const nodeArb = fc.constantFrom('a', 'a', 'a', 'b', 'c');
// A forged phx_ref from the app must be ignored.
const metaArb: fc.Arbitrary<MetaInput> = fc.record(
  { n: fc.nat(9), phx_ref: fc.constant('forged'), phx_ref_prev: fc.constant('forged') },
  { requiredKeys: ['n'] },
);

type Op =
  | { t: 'track'; node: string; topic: string; owner: string; key: string; meta: MetaInput }
  | { t: 'update'; node: string; topic: string; owner: string; key: string; meta: MetaInput }
  | { t: 'untrack'; node: string; topic: string; owner: string; key: string }
  | { t: 'ownerDies'; node: string; owner: string }
  | { t: 'replicate'; from: string }
  | { t: 'nodeDown'; node: string }
  | { t: 'clientJoin'; topic: string; seesFlushed: boolean }
  | { t: 'clientDisconnect'; client: number }
  | { t: 'clientRejoin'; client: number; seesFlushed: boolean }
  | { t: 'flush' };

const opArb: fc.Arbitrary<Op> = fc.oneof(
  { weight: 8, arbitrary: fc.record({ t: fc.constant('track' as const), node: nodeArb, topic: topicArb, owner: ownerArb, key: keyArb, meta: metaArb }) },
  { weight: 4, arbitrary: fc.record({ t: fc.constant('update' as const), node: nodeArb, topic: topicArb, owner: ownerArb, key: keyArb, meta: metaArb }) },
  { weight: 3, arbitrary: fc.record({ t: fc.constant('untrack' as const), node: nodeArb, topic: topicArb, owner: ownerArb, key: keyArb }) },
  { weight: 2, arbitrary: fc.record({ t: fc.constant('ownerDies' as const), node: nodeArb, owner: ownerArb }) },
  { weight: 3, arbitrary: fc.record({ t: fc.constant('replicate' as const), from: fc.constantFrom(...REMOTES) }) },
  { weight: 1, arbitrary: fc.record({ t: fc.constant('nodeDown' as const), node: fc.constantFrom(...REMOTES) }) },
  { weight: 2, arbitrary: fc.record({ t: fc.constant('clientJoin' as const), topic: topicArb, seesFlushed: fc.boolean() }) },
  { weight: 1, arbitrary: fc.record({ t: fc.constant('clientDisconnect' as const), client: fc.nat() }) },
  { weight: 1, arbitrary: fc.record({ t: fc.constant('clientRejoin' as const), client: fc.nat(), seesFlushed: fc.boolean() }) },
  { weight: 3, arbitrary: fc.record({ t: fc.constant('flush' as const) }) },
);

type NodeSim = { tracker: TrackerState; model: Model };

/**
 * A browser tab on node "a" with a phoenix.js Presence. `direct` clients get
 * every diff as it is made; `batched` ones get a topic's diffs merged with
 * mergeDiffs over random windows (the Presence actor's batching).
 */
type Client = {
  topic: string;
  mode: 'direct' | 'batched';
  state: PhxPresenceState;
  connected: boolean;
  /** Applying a window that predates the state moves rejoined metas to the end: then only sets compare. */
  inServerOrder: boolean;
};

class Scenario {
  private nextIncarnation = 1;
  readonly nodes = new Map<string, NodeSim>();
  readonly refs = new Set<string>();
  readonly clients: Client[] = [];
  /** The current window of node "a"'s diffs, per topic: as a list, and as the actor's DiffBatch. */
  private readonly windows = new Map<string, PresenceDiff[]>();
  private readonly batches = new Map<string, DiffBatch>();
  /** Topics whose current window has given out a listing (then it no longer equals the plain merge). */
  private readonly listedInWindow = new Set<string>();
  /** The last window that went out, per topic: a joining client's tap may hold it, ahead of its state. */
  private readonly lastFlushed = new Map<string, PresenceDiff>();

  constructor() {
    for (const node of ['a', ...REMOTES]) this.boot(node);
  }

  private boot(node: string): void {
    // Restarts reuse the node name, so only the incarnation keeps refs apart.
    this.nodes.set(node, { tracker: new TrackerState({ node, incarnation: this.nextIncarnation++ }), model: new Model(node) });
  }

  private sim(node: string): NodeSim {
    const sim = this.nodes.get(node);
    assert.ok(sim !== undefined);
    return sim;
  }

  run(op: Op): void {
    switch (op.t) {
      case 'track':
      case 'update':
      case 'untrack':
      case 'ownerDies':
        return this.change(op.node, op);
      case 'replicate': {
        const replica = this.sim(op.from).tracker.replicaState();
        assert.deepEqual(asSets(byIdentity(replica)), asSets(byIdentity(this.sim(op.from).model.localEntries())));
        return this.change('a', op, replica);
      }
      case 'nodeDown':
        this.change('a', op);
        return this.boot(op.node);
      case 'clientJoin': {
        // As the actor's join_state: a listing inside the open window, which is not flushed for it.
        const stale = this.listed(op.topic);
        for (const mode of ['direct', 'batched'] as const) {
          const state = Presence.syncState({}, wire(this.a.list(op.topic)));
          const client: Client = { topic: op.topic, mode, state, connected: true, inServerOrder: true };
          if (mode === 'batched' && op.seesFlushed && stale !== undefined) this.applyStale(client, stale);
          this.clients.push(client);
        }
        return;
      }
      case 'clientDisconnect': {
        const client = this.clients[op.client % Math.max(1, this.clients.length)];
        if (client !== undefined) client.connected = false;
        return;
      }
      case 'clientRejoin': {
        const client = this.clients[op.client % Math.max(1, this.clients.length)];
        if (client === undefined) return;
        const stale = client.mode === 'batched' ? this.listed(client.topic) : undefined;
        client.state = Presence.syncState(client.state, wire(this.a.list(client.topic)));
        if (op.seesFlushed && stale !== undefined) this.applyStale(client, stale);
        client.connected = true;
        return;
      }
      case 'flush':
        for (const topic of TOPICS) this.flush(topic);
        this.checkClients('batched');
        return;
    }
  }

  get a(): TrackerState {
    return this.sim('a').tracker;
  }

  /** Runs one state change on `node`, checks it against the model, and delivers node "a"'s diffs. */
  private change(node: string, op: Op, replica: readonly ReplicaEntry[] = []): void {
    const { tracker, model } = this.sim(node);
    const before = new Map(TOPICS.map((topic) => [topic, wire(tracker.list(topic))]));
    const diffs = this.apply(tracker, model, op, replica);

    for (const [topic, diff] of diffs) assert.ok(!isEmptyDiff(diff), `empty diff for ${topic}`);
    for (const topic of TOPICS) {
      const after = wire(tracker.list(topic));
      // (a) the tracker agrees with the model, metas in tracking order
      assert.deepEqual(after, wire(model.list(topic)), `list(${topic}) on ${node} after ${JSON.stringify(op)}`);
      // (b) the cached JSON a join sends parses to the list, whichever keys changed since it was last built
      assert.deepEqual(JSON.parse(tracker.listJson(topic)), after, `listJson(${topic}) on ${node} after ${JSON.stringify(op)}`);
      // The diff turns the state before into the state after, for a client that had it exactly.
      const diff = diffs.get(topic);
      const expected = diff === undefined ? before.get(topic) : Presence.syncDiff(before.get(topic) ?? {}, wire(diff));
      assert.deepEqual(wire(expected), after, `diff of ${topic} on ${node} after ${JSON.stringify(op)}`);
    }
    assert.equal(tracker.size, model.entries.length);

    if (node !== 'a') return;
    for (const [topic, diff] of diffs) {
      for (const client of this.clients) {
        if (client.connected && client.mode === 'direct' && client.topic === topic) {
          client.state = Presence.syncDiff(client.state, wire(diff));
        }
      }
      const window = this.windows.get(topic) ?? [];
      window.push(diff);
      this.windows.set(topic, window);
      this.batchOf(topic).add(diff);
    }
    this.checkClients('direct');
  }

  private apply(tracker: TrackerState, model: Model, op: Op, replica: readonly ReplicaEntry[]): TopicDiffs {
    switch (op.t) {
      case 'track': {
        const result = tracker.track(op.topic, op.owner, op.key, op.meta);
        if (model.find(op.topic, op.owner, op.key) !== undefined) {
          assert.deepEqual(result, { ok: false, error: 'already_tracked' });
          return new Map();
        }
        assert.ok(result.ok);
        this.freshRef(result.value.ref);
        model.track(op.topic, op.owner, op.key, op.meta, result.value.ref);
        return result.value.diffs;
      }
      case 'update': {
        const result = tracker.update(op.topic, op.owner, op.key, op.meta);
        const entry = model.find(op.topic, op.owner, op.key);
        if (entry === undefined) {
          assert.deepEqual(result, { ok: false, error: 'nopresence' });
          return new Map();
        }
        assert.ok(result.ok);
        this.freshRef(result.value.ref);
        model.update(entry, op.meta, result.value.ref);
        return result.value.diffs;
      }
      case 'untrack':
        model.untrack(op.topic, op.owner, op.key);
        return tracker.untrack(op.topic, op.owner, op.key);
      case 'ownerDies':
        model.untrackOwner(op.owner);
        return tracker.untrackOwner(op.owner);
      case 'replicate': {
        model.mergeReplica(op.from, replica);
        const result = tracker.mergeReplica(op.from, replica);
        assert.ok(result.ok);
        return result.value;
      }
      case 'nodeDown':
        model.dropNode(op.node);
        return tracker.dropNode(op.node);
      default:
        throw new Error(`not a state change: ${op.t}`);
    }
  }

  private freshRef(ref: string): void {
    assert.match(ref, REF_FORMAT);
    assert.ok(!this.refs.has(ref), `ref ${ref} issued twice`);
    this.refs.add(ref);
  }

  private batchOf(topic: string): DiffBatch {
    let batch = this.batches.get(topic);
    if (batch === undefined) {
      batch = new DiffBatch();
      this.batches.set(topic, batch);
    }
    return batch;
  }

  /** A listing given out inside the topic's open window; answers the window that went out before it. */
  private listed(topic: string): PresenceDiff | undefined {
    this.batchOf(topic).listed();
    this.listedInWindow.add(topic);
    return this.lastFlushed.get(topic);
  }

  /**
   * Ends the topic's window: its DiffBatch (the plain mergeDiffs of the window
   * when no listing came inside it) goes to the connected batched clients.
   */
  private flush(topic: string): PresenceDiff | undefined {
    const window = this.windows.get(topic) ?? [];
    this.windows.delete(topic);
    const batch = this.batchOf(topic);
    this.batches.delete(topic);
    const listedInside = this.listedInWindow.delete(topic);
    const empty = batch.isEmpty();
    const merged = batch.take();
    assert.ok(batch.isEmpty());
    assert.equal(empty, isEmptyDiff(merged));
    if (!listedInside) assert.deepEqual(wire(merged), wire(window.reduce(mergeDiffs, emptyDiff())));
    if (isEmptyDiff(merged)) return undefined;
    this.lastFlushed.set(topic, merged);
    for (const client of this.clients) {
      if (client.connected && client.mode === 'batched' && client.topic === topic) {
        client.state = Presence.syncDiff(client.state, wire(merged));
      }
    }
    return merged;
  }

  /** The window flushed just before this client's state, which phoenix.js applies after it. */
  private applyStale(client: Client, flushed: PresenceDiff): void {
    client.state = Presence.syncDiff(client.state, wire(flushed));
    client.inServerOrder = false;
  }

  /** (b) and (c): every connected client shows what the server lists, in the same order when it can. */
  checkClients(mode: Client['mode']): void {
    for (const client of this.clients) {
      if (!client.connected || client.mode !== mode) continue;
      const listed = this.a.list(client.topic);
      assert.deepEqual(asSets(client.state), asSets(listed), `${mode} client of ${client.topic}`);
      if (client.inServerOrder) assert.deepEqual(wire(client.state), wire(listed), `order, ${mode} client of ${client.topic}`);
    }
  }

  finish(): void {
    for (const topic of TOPICS) this.flush(topic);
    this.checkClients('direct');
    this.checkClients('batched');
  }
}

function byIdentity(entries: readonly ReplicaEntry[]): PhxPresenceState {
  return Object.fromEntries(entries.map((e) => [JSON.stringify([e.owner, e.topic, e.key]), { metas: [e.meta] }]));
}

describe('presence tracker state: properties', () => {
  it('(a) list equals the model, (b) direct clients and (c) clients of merged windows end at list', () => {
    fc.assert(
      fc.property(fc.array(opArb, { maxLength: 120, size: 'max' }), (ops) => {
        const scenario = new Scenario();
        for (const op of ops) scenario.run(op);
        scenario.finish();
      }),
      { numRuns: 300 },
    );
  });
});

// ---------------------------------------------------------------------------
// Examples

describe('presence tracker state: examples', () => {
  it('refuses a second track of the same (topic, owner, key)', () => {
    const t = new TrackerState({ node: 'a' });
    assert.ok(t.track('room:1', 's1', 'u1', {}).ok);
    assert.deepEqual(t.track('room:1', 's1', 'u1', { again: true }), { ok: false, error: 'already_tracked' });
    // another tab, another topic: both fine
    assert.ok(t.track('room:1', 's2', 'u1', {}).ok);
    assert.ok(t.track('room:2', 's1', 'u1', {}).ok);
    assert.equal(t.size, 3);
  });

  it('update of something not tracked is nopresence', () => {
    const t = new TrackerState({ node: 'a' });
    assert.deepEqual(t.update('room:1', 's1', 'u1', {}), { ok: false, error: 'nopresence' });
    assert.ok(t.track('room:1', 's1', 'u1', {}).ok);
    assert.deepEqual(t.untrack('room:1', 's1', 'u1').size, 1);
    assert.deepEqual(t.update('room:1', 's1', 'u1', {}), { ok: false, error: 'nopresence' });
    assert.equal(t.untrack('room:1', 's1', 'u1').size, 0, 'untrack is idempotent');
  });

  it('update: new ref, phx_ref_prev, one diff with the new meta joining and the stored one leaving', () => {
    const t = new TrackerState({ node: 'a' });
    const first = t.track('room:1', 's1', 'u1', { d: 'desktop' });
    assert.ok(first.ok);
    const a = first.value.ref;
    const second = t.update('room:1', 's1', 'u1', { d: 'desktop', away: true });
    assert.ok(second.ok);
    const c = second.value.ref;
    assert.notEqual(c, a);
    assert.deepEqual(wire(single(second.value.diffs, 'room:1')), {
      joins: { u1: { metas: [{ d: 'desktop', away: true, phx_ref: c, phx_ref_prev: a }] } },
      leaves: { u1: { metas: [{ d: 'desktop', phx_ref: a }] } },
    });
    // The previous meta leaves with its own phx_ref_prev; a function sees the current meta.
    const third = t.update('room:1', 's1', 'u1', (current) => ({ ...current, away: false }));
    assert.ok(third.ok);
    assert.deepEqual(wire(single(third.value.diffs, 'room:1')).leaves, {
      u1: { metas: [{ d: 'desktop', away: true, phx_ref: c, phx_ref_prev: a }] },
    });
    assert.deepEqual(wire(t.list('room:1')), {
      u1: { metas: [{ d: 'desktop', away: false, phx_ref: third.value.ref, phx_ref_prev: c }] },
    });
  });

  it('two tabs of one user are one key with two metas; one tab closing leaves only its meta (PROTOCOL 9.4)', () => {
    const t = new TrackerState({ node: 'a' });
    const desktop = t.track('room:1', 'tab1', 'u1', { d: 'desktop' });
    const phone = t.track('room:1', 'tab2', 'u1', { d: 'phone' });
    assert.ok(desktop.ok && phone.ok);
    let client = Presence.syncState({}, wire(t.list('room:1')));
    assert.deepEqual(refsOf(t.list('room:1'), 'u1'), [desktop.value.ref, phone.value.ref]);

    const away = t.update('room:1', 'tab1', 'u1', { d: 'desktop', away: true });
    assert.ok(away.ok);
    const calls: string[] = [];
    const onJoin = (key: string): void => void calls.push(`join ${key}`);
    const onLeave = (key: string, current: { metas: unknown[] } | undefined): void =>
      void calls.push(`leave ${key} ${current?.metas.length ?? 0}`);
    client = Presence.syncDiff(client, wire(single(away.value.diffs, 'room:1')), onJoin, onLeave);
    assert.deepEqual(calls, ['join u1', 'leave u1 2']);
    assert.deepEqual(refsOf(client, 'u1'), [phone.value.ref, away.value.ref]);

    const closed = t.untrackOwner('tab2');
    assert.deepEqual(wire(single(closed, 'room:1')), {
      joins: {},
      leaves: { u1: { metas: [{ d: 'phone', phx_ref: phone.value.ref }] } },
    });
    client = Presence.syncDiff(client, wire(single(closed, 'room:1')));
    assert.deepEqual(wire(client), wire(t.list('room:1')));
  });

  it('an owner dying leaves every topic it tracked, and only its own entries', () => {
    const t = new TrackerState({ node: 'a' });
    for (const topic of ['room:1', 'room:2']) {
      assert.ok(t.track(topic, 's1', 'u1', {}).ok);
      assert.ok(t.track(topic, 's2', 'u1', {}).ok);
    }
    const remote = new TrackerState({ node: 'b' });
    assert.ok(remote.track('room:1', 's1', 'u9', {}).ok); // same owner id, other node
    assert.ok(t.mergeReplica('b', remote.replicaState()).ok);

    const diffs = t.untrackOwner('s1');
    assert.deepEqual([...diffs.keys()].sort(), ['room:1', 'room:2']);
    for (const diff of diffs.values()) assert.equal(diff.leaves.u1?.metas.length, 1);
    assert.deepEqual(Object.keys(t.list('room:1')).sort(), ['u1', 'u9']);
    assert.equal(t.size, 3);
    assert.equal(t.untrackOwner('s1').size, 0);
  });

  it('refs are 16-char URL-safe base64 and unique across nodes and restarts', () => {
    const seen = new Set<string>();
    const trackers = [
      new TrackerState({ node: 'a', incarnation: 7 }),
      new TrackerState({ node: 'b', incarnation: 7 }), // same incarnation, other node
      new TrackerState({ node: 'a', incarnation: 8 }), // the same node restarted
      new TrackerState({ node: 'a' }), // random incarnations
      new TrackerState({ node: 'a' }),
    ];
    for (const t of trackers) {
      for (let i = 0; i < 5_000; i++) {
        const result = t.track('room:1', `s${i}`, 'u', {});
        assert.ok(result.ok);
        assert.match(result.value.ref, REF_FORMAT);
        seen.add(result.value.ref);
      }
    }
    assert.equal(seen.size, 25_000);
  });

  it('dropNode: all of that node\'s entries leave, on every topic; ours stay', () => {
    const a = new TrackerState({ node: 'a' });
    const b = new TrackerState({ node: 'b' });
    assert.ok(a.track('room:1', 's1', 'u1', {}).ok);
    assert.ok(b.track('room:1', 's1', 'u1', {}).ok);
    assert.ok(b.track('room:2', 's2', 'u2', {}).ok);
    const merged = a.mergeReplica('b', b.replicaState());
    assert.ok(merged.ok);
    assert.deepEqual([...merged.value.keys()].sort(), ['room:1', 'room:2']);
    assert.equal(a.list('room:1').u1?.metas.length, 2);

    const dropped = a.dropNode('b');
    assert.deepEqual(wire(dropped.get('room:1')), { joins: {}, leaves: { u1: { metas: wire(b.list('room:1').u1?.metas) } } });
    assert.deepEqual(wire(dropped.get('room:2')), { joins: {}, leaves: wire(b.list('room:2')) });
    assert.equal(a.list('room:1').u1?.metas.length, 1);
    assert.deepEqual(wire(a.list('room:2')), {});
    assert.equal(a.size, 1);
    assert.equal(a.dropNode('b').size, 0);
  });

  it('mergeReplica: unchanged entries say nothing, updates are a join plus a leave, our own name is refused', () => {
    const a = new TrackerState({ node: 'a' });
    const b = new TrackerState({ node: 'b' });
    assert.ok(b.track('room:1', 's1', 'u1', { v: 1 }).ok);
    assert.ok(a.mergeReplica('b', b.replicaState()).ok);
    const again = a.mergeReplica('b', b.replicaState());
    assert.ok(again.ok);
    assert.equal(again.value.size, 0);

    const before = wire(a.list('room:1'));
    assert.ok(b.update('room:1', 's1', 'u1', { v: 2 }).ok);
    const updated = a.mergeReplica('b', b.replicaState());
    assert.ok(updated.ok);
    const diff = single(updated.value, 'room:1');
    assert.deepEqual(wire(diff.leaves), before);
    assert.deepEqual(wire(diff.joins), wire(b.list('room:1')));
    assert.deepEqual(a.mergeReplica('a', []), { ok: false, error: 'local_node' });
  });

  it('mergeReplica copes with a bad replica: a repeated identity keeps the last, a ref we hold is skipped', () => {
    const a = new TrackerState({ node: 'a' });
    const mine = a.track('room:1', 's1', 'u1', {});
    assert.ok(mine.ok);
    const taken = a.list('room:1').u1?.metas[0];
    assert.ok(taken !== undefined);
    const result = a.mergeReplica('b', [
      { topic: 'room:1', owner: 's1', key: 'u2', meta: { phx_ref: 'first', v: 1 } },
      { topic: 'room:1', owner: 's2', key: 'u1', meta: taken },
      { topic: 'room:1', owner: 's1', key: 'u2', meta: { phx_ref: 'second', v: 2 } },
    ]);
    assert.ok(result.ok);
    assert.deepEqual(wire(single(result.value, 'room:1')), { joins: { u2: { metas: [{ phx_ref: 'second', v: 2 }] } }, leaves: {} });
    assert.equal(a.size, 2);
    // Our own entry is still ours: untracking it works and leaves nothing of it behind.
    assert.equal(a.untrack('room:1', 's1', 'u1').size, 1);
    assert.deepEqual(Object.keys(a.list('room:1')), ['u2']);
    assert.equal(a.dropNode('b').size, 1);
    assert.equal(a.size, 0);
  });

  it('keys such as "__proto__" are plain keys in lists and diffs', () => {
    const t = new TrackerState({ node: 'a' });
    const result = t.track('room:1', 's1', '__proto__', { x: 1 });
    assert.ok(result.ok);
    const list = t.list('room:1');
    assert.ok(Object.hasOwn(list, '__proto__'));
    assert.equal(JSON.stringify(list), `{"__proto__":{"metas":[{"x":1,"phx_ref":"${result.value.ref}"}]}}`);
    assert.ok(Object.hasOwn(single(result.value.diffs, 'room:1').joins, '__proto__'));
  });

  it('stored metas cannot be edited through a list', () => {
    const t = new TrackerState({ node: 'a' });
    assert.ok(t.track('room:1', 's1', 'u1', { x: 1 }).ok);
    const meta = t.list('room:1').u1?.metas[0];
    assert.ok(meta !== undefined);
    assert.throws(() => {
      meta.x = 2;
    }, TypeError);
  });

  it('100k entries over 2,000 topics: track, list, untrack by owner stay fast', () => {
    const t = new TrackerState({ node: 'a' });
    const started = performance.now();
    for (let owner = 0; owner < 20_000; owner++) {
      for (let j = 0; j < 5; j++) assert.ok(t.track(`room:${(owner * 7 + j) % 2_000}`, `s${owner}`, `u${owner % 5_000}`, { j }).ok);
    }
    assert.equal(t.size, 100_000);
    let listed = 0;
    for (let topic = 0; topic < 2_000; topic++) listed += Object.keys(t.list(`room:${topic}`)).length;
    assert.ok(listed > 0);
    for (let owner = 0; owner < 20_000; owner++) assert.equal(t.untrackOwner(`s${owner}`).size, 5);
    assert.equal(t.size, 0);
    const elapsed = performance.now() - started;
    // About 1 s here; the bound only catches a quadratic slip (minutes), not a slow machine.
    assert.ok(elapsed < 15_000, `took ${Math.round(elapsed)} ms`);
  });
});

describe('mergeDiffs', () => {
  const meta = (ref: string, prev?: string): PresenceMeta => (prev === undefined ? { phx_ref: ref } : { phx_ref: ref, phx_ref_prev: prev });
  const diff = (joins: Record<string, PresenceMeta[]>, leaves: Record<string, PresenceMeta[]>): PhxPresenceDiff & PresenceDiff => ({
    joins: Object.fromEntries(Object.entries(joins).map(([k, metas]) => [k, { metas }])),
    leaves: Object.fromEntries(Object.entries(leaves).map(([k, metas]) => [k, { metas }])),
  });

  it('a meta joined then left vanishes from both sides', () => {
    const merged = mergeDiffs(diff({ u1: [meta('X')] }, {}), diff({}, { u1: [meta('X')] }));
    assert.ok(isEmptyDiff(merged));
    assert.deepEqual(wire(merged), { joins: {}, leaves: {} });
  });

  it('an update chain A -> C -> D becomes joins [D], leaves [A]', () => {
    const merged = mergeDiffs(diff({ u1: [meta('C', 'A')] }, { u1: [meta('A')] }), diff({ u1: [meta('D', 'C')] }, { u1: [meta('C', 'A')] }));
    assert.deepEqual(wire(merged), diff({ u1: [meta('D', 'C')] }, { u1: [meta('A')] }));
    const client = Presence.syncDiff({ u1: { metas: [meta('B'), meta('A')] } }, wire(merged));
    assert.deepEqual(wire(client), { u1: { metas: [meta('B'), meta('D', 'C')] } });
  });

  it('keeps join order and other keys, and leaves the inputs alone', () => {
    const a = diff({ u1: [meta('X')], u2: [meta('Y')] }, { u3: [meta('Z')] });
    const b = diff({ u1: [meta('W')] }, { u2: [meta('Y')] });
    const copies = wire([a, b]);
    assert.deepEqual(wire(mergeDiffs(a, b)), diff({ u1: [meta('X'), meta('W')] }, { u3: [meta('Z')] }));
    assert.deepEqual(wire([a, b]), copies);
  });

  it('takes diffs parsed from JSON, "__proto__" keys included', () => {
    // A computed key defines a property; a literal `__proto__:` would set the prototype.
    const a = wire(diff({ ['__proto__']: [meta('X')] }, {}));
    const b = wire(diff({ ['__proto__']: [meta('Y')] }, {}));
    assert.deepEqual(wire(mergeDiffs(a, b)), wire(diff({ ['__proto__']: [meta('X'), meta('Y')] }, {})));
  });

  it('isEmptyDiff', () => {
    assert.ok(isEmptyDiff(emptyDiff()));
    assert.ok(isEmptyDiff(diff({ u1: [] }, {})));
    assert.ok(!isEmptyDiff(diff({}, { u1: [meta('X')] })));
  });

  // The rule the Presence actor follows (see DiffBatch): a listing given out inside a window is marked with
  // listed(), so what it shows and then leaves goes out as a leave, and the window need not be flushed for it.
  it('a listing inside a window: a meta it shows that leaves later is sent as a join and a leave, so no ghost stays', () => {
    const t = new TrackerState({ node: 'a' });
    const clientOf = (batch: DiffBatch, snapshot: PhxPresenceState) => Presence.syncDiff(Presence.syncState({}, snapshot), wire(batch.take()));
    const unmarked = new DiffBatch();
    const marked = new DiffBatch();
    const joined = t.track('room:1', 's1', 'u1', {});
    assert.ok(joined.ok);
    const join = single(joined.value.diffs, 'room:1');
    const before = wire(t.list('room:1'));
    unmarked.add(join);
    marked.add(join).listed();
    const snapshot = wire(t.list('room:1'));
    const leave = single(t.untrack('room:1', 's1', 'u1'), 'room:1');
    unmarked.add(leave);
    marked.add(leave);
    assert.deepEqual(Object.keys(clientOf(unmarked, snapshot)), ['u1'], 'without the mark, the listed client keeps a ghost');
    const diff = marked.take();
    assert.deepEqual(wire(diff), wire({ joins: join.joins, leaves: join.joins }));
    // The client that listed mid-window, and one whose state predates the window, both end at the list.
    assert.deepEqual(Object.keys(Presence.syncDiff(Presence.syncState({}, snapshot), wire(diff))), []);
    assert.deepEqual(Object.keys(Presence.syncDiff(Presence.syncState({}, before), wire(diff))), []);
    assert.deepEqual(wire(t.list('room:1')), {});
  });
});
