/**
 * The pure presence tracker state: who is tracked where, on which node, and
 * the diffs each change produces. No actors, no I/O; the Presence actor wraps
 * it, batches the diffs (see DiffBatch) and broadcasts them.
 */
import { randomBytes } from 'node:crypto';
import { err, ok, type Result } from '../../supervision/result.js';
import { addMeta, emptyDiff, emptyPresenceState, type PresenceDiff, type PresenceMeta, type PresenceState } from './diff.js';

/** What the app passes to track/update; phx_ref and phx_ref_prev in it are ignored (the tracker owns them). */
export type MetaInput = Record<string, unknown>;

/** The diffs one operation produced, by topic. Only topics that changed appear, and no diff is empty. */
export type TopicDiffs = Map<string, PresenceDiff>;

type Tracked = { readonly ref: string; readonly diffs: TopicDiffs };

/** One entry of a node's state as shipped to other nodes. */
export type ReplicaEntry = { readonly topic: string; readonly owner: string; readonly key: string; readonly meta: PresenceMeta };

/** One change to this node's entries, as other nodes apply it (in order) to their replica of it. */
export type ReplicaOp =
  | { readonly join: ReplicaEntry }
  | { readonly leave: { readonly topic: string; readonly key: string; readonly ref: string } };

type TrackerOptions = {
  /** Keep a log of this node's changes for takeOps (replication); without it nothing accumulates. */
  readonly recordOps?: boolean;
  /** This node's name: every local entry is tagged with it, and it is hashed into every phx_ref. */
  readonly node: string;
  /**
   * Makes refs differ between two lives of the same node name (a restarted
   * Presence actor must not reissue refs clients may still hold, since they
   * match metas by ref only). Random unless given; tests pass it.
   */
  readonly incarnation?: number;
};

/**
 * The JSON of a topic's `presence_state`, kept between lists: one fragment per
 * key, and the whole string until the topic next changes. A join storm into
 * one room of N lists that room N times; re-serializing every meta each time
 * was O(N^2) JSON.stringify, where this is one key's meta per change plus a
 * string join.
 */
type TopicJson = { readonly fragments: Map<string, string>; whole: string | undefined };

type Entry = {
  readonly node: string;
  readonly topic: string;
  readonly owner: string;
  readonly key: string;
  readonly meta: PresenceMeta;
};

// The innermost levels are arrays: a key has a meta per tab (a few), an owner an entry or two (its room,
// the lobby), and with 19,000 sessions a Map per level would cost each of them several hundred bytes.
/** topic -> key -> its entries, in tracking order, which is what `list` must show; see `without`. */
type TopicIndex = Map<string, Map<string, Entry[]>>;
/** owner -> what it tracks, within one node (an entry is found by topic and key among them). */
type OwnerIndex = Map<string, Entry[]>;

const UINT32 = 0x1_0000_0000;

function randomUint32(): number {
  return randomBytes(4).readUInt32BE(0);
}

/** FNV-1a: stable across processes, unlike anything keyed on memory or time. */
function hashNodeName(node: string): number {
  let hash = 0x811c9dc5;
  for (const byte of Buffer.from(node, 'utf8')) {
    hash ^= byte;
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash;
}

/**
 * phx_refs as Phoenix makes them: 12 bytes, URL-safe base64, 16 characters.
 * Layout: node hash (4) | incarnation (4) | counter (4). The node hash keeps
 * nodes apart, the incarnation keeps restarts apart, the counter the rest.
 */
class RefGenerator {
  private readonly nodeHash: number;
  private incarnation: number;
  private counter = 0;

  constructor(node: string, incarnation: number | undefined) {
    this.nodeHash = hashNodeName(node);
    this.incarnation = incarnation === undefined ? randomUint32() : incarnation >>> 0;
  }

  next(): string {
    if (this.counter === UINT32) {
      // 4 billion refs in one life: start a new life rather than wrap around.
      this.incarnation = (this.incarnation + 1) >>> 0;
      this.counter = 0;
    }
    const bytes = Buffer.allocUnsafe(12);
    bytes.writeUInt32BE(this.nodeHash, 0);
    bytes.writeUInt32BE(this.incarnation, 4);
    bytes.writeUInt32BE(this.counter, 8);
    this.counter += 1;
    return bytes.toString('base64url');
  }
}

/**
 * The stored meta: the app's fields, then the tracker's refs, frozen (top level
 * only: metas are handed out in lists and diffs, and a consumer must not edit
 * the state through them). Copied key by key: V8 gives an object spread of a
 * meta holding a double (online_at) a hidden class of its own, ~180 bytes per
 * meta, where copies made this way share one.
 */
function storedMeta(input: MetaInput, ref: string, prev?: string): PresenceMeta {
  const meta: Record<string, unknown> = {};
  for (const key of Object.keys(input)) if (key !== 'phx_ref' && key !== 'phx_ref_prev') meta[key] = input[key];
  meta.phx_ref = ref;
  if (prev !== undefined) meta.phx_ref_prev = prev;
  return Object.freeze(meta as PresenceMeta);
}

function diffOf(diffs: TopicDiffs, topic: string): PresenceDiff {
  let diff = diffs.get(topic);
  if (diff === undefined) {
    diff = emptyDiff();
    diffs.set(topic, diff);
  }
  return diff;
}

function childOf<K, V>(map: Map<K, V>, key: K, make: () => V): V {
  let child = map.get(key);
  if (child === undefined) {
    child = make();
    map.set(key, child);
  }
  return child;
}

export class TrackerState {
  readonly node: string;
  private readonly refs: RefGenerator;
  private readonly byTopic: TopicIndex = new Map();
  private readonly byNode = new Map<string, OwnerIndex>();
  private readonly json = new Map<string, TopicJson>();
  private entryCount = 0;
  private ops: ReplicaOp[] | undefined;

  constructor(options: TrackerOptions) {
    this.node = options.node;
    this.ops = options.recordOps === true ? [] : undefined;
    this.refs = new RefGenerator(options.node, options.incarnation);
  }

  /** Number of entries, all nodes included. */
  get size(): number {
    return this.entryCount;
  }

  track(topic: string, owner: string, key: string, meta: MetaInput): Result<Tracked, 'already_tracked'> {
    if (this.find(this.node, owner, topic, key) !== undefined) return err('already_tracked');
    const ref = this.refs.next();
    const diffs: TopicDiffs = new Map();
    this.insert({ node: this.node, topic, owner, key, meta: storedMeta(meta, ref) }, diffs);
    return ok({ ref, diffs });
  }

  /**
   * Replaces the meta (a function gets the current one, as in Phoenix). The
   * new meta moves to the end of the key's metas, where a client applying
   * the diff puts it too.
   */
  update(
    topic: string,
    owner: string,
    key: string,
    meta: MetaInput | ((current: PresenceMeta) => MetaInput),
  ): Result<Tracked, 'nopresence'> {
    const current = this.find(this.node, owner, topic, key);
    if (current === undefined) return err('nopresence');
    const input = typeof meta === 'function' ? meta(current.meta) : meta;
    const ref = this.refs.next();
    const diffs: TopicDiffs = new Map();
    this.remove(current, diffs);
    this.insert({ ...current, meta: storedMeta(input, ref, current.meta.phx_ref) }, diffs);
    return ok({ ref, diffs });
  }

  /** Idempotent, as in Phoenix: untracking what is not tracked changes nothing. */
  untrack(topic: string, owner: string, key: string): TopicDiffs {
    const diffs: TopicDiffs = new Map();
    const entry = this.find(this.node, owner, topic, key);
    if (entry !== undefined) this.remove(entry, diffs);
    return diffs;
  }

  /** The owner (a channel process) is gone: everything it tracked, on every topic, leaves. */
  untrackOwner(owner: string): TopicDiffs {
    const diffs: TopicDiffs = new Map();
    for (const entry of [...(this.byNode.get(this.node)?.get(owner) ?? [])]) this.remove(entry, diffs);
    return diffs;
  }

  get(topic: string, owner: string, key: string): PresenceMeta | undefined {
    return this.find(this.node, owner, topic, key)?.meta;
  }

  /** The `presence_state` payload: key -> metas in tracking order. A fresh object on every call. */
  list(topic: string): PresenceState {
    const state = emptyPresenceState();
    const keys = this.byTopic.get(topic);
    if (keys === undefined) return state;
    for (const [key, entries] of keys) state[key] = { metas: entries.map((entry) => entry.meta) };
    return state;
  }

  /** `JSON.stringify(list(topic))`, from cached fragments: only keys that changed since the last call are serialized. */
  listJson(topic: string): string {
    const keys = this.byTopic.get(topic);
    if (keys === undefined) return '{}';
    const cache = childOf(this.json, topic, (): TopicJson => ({ fragments: new Map(), whole: undefined }));
    if (cache.whole !== undefined) return cache.whole;
    const parts: string[] = [];
    for (const [key, entries] of keys) {
      let fragment = cache.fragments.get(key);
      if (fragment === undefined) {
        fragment = `${JSON.stringify(key)}:${JSON.stringify({ metas: entries.map((entry) => entry.meta) })}`;
        cache.fragments.set(key, fragment);
      }
      parts.push(fragment);
    }
    cache.whole = `{${parts.join(',')}}`;
    return cache.whole;
  }

  /** Distinct keys (users) on the topic, every node's counted. */
  keyCount(topic: string): number {
    return this.byTopic.get(topic)?.size ?? 0;
  }

  /** Whether the key has any meta on the topic, on any node. */
  hasKey(topic: string, key: string): boolean {
    return this.byTopic.get(topic)?.has(key) === true;
  }

  /** One key's metas on a topic (empty when absent): what list(topic)[key] holds, without building the whole list. */
  metas(topic: string, key: string): PresenceMeta[] {
    return (this.byTopic.get(topic)?.get(key) ?? []).map((entry) => entry.meta);
  }

  /** A node is gone (down, partitioned, restarted): all its entries leave. */
  dropNode(node: string): TopicDiffs {
    const diffs: TopicDiffs = new Map();
    const owners = this.byNode.get(node);
    if (owners === undefined) return diffs;
    const doomed: Entry[] = [];
    for (const entries of owners.values()) doomed.push(...entries);
    for (const entry of doomed) this.remove(entry, diffs);
    return diffs;
  }

  /** This node's own entries, for other nodes' `mergeReplica`, in `list` order. */
  replicaState(): ReplicaEntry[] {
    const out: ReplicaEntry[] = [];
    for (const keys of this.byTopic.values()) {
      for (const entries of keys.values()) {
        for (const { node, topic, owner, key, meta } of entries) {
          if (node === this.node) out.push({ topic, owner, key, meta });
        }
      }
    }
    return out;
  }

  /**
   * Replaces what we hold for `node` with its full state. Entries whose
   * (owner, topic, key) and phx_ref are unchanged stay put and produce
   * nothing; the rest leave or join. A repeated identity keeps the last one;
   * an entry whose phx_ref we already hold elsewhere in its topic and key is
   * skipped (refs are unique, so that means a bad replica).
   */
  mergeReplica(node: string, entries: readonly ReplicaEntry[]): Result<TopicDiffs, 'local_node'> {
    if (node === this.node) return err('local_node');
    const wanted = new Map<string, ReplicaEntry>();
    for (const entry of entries) {
      const id = identity(entry.owner, entry.topic, entry.key);
      wanted.delete(id); // so the last occurrence also decides the order
      wanted.set(id, entry);
    }
    const diffs: TopicDiffs = new Map();
    const stale: Entry[] = [];
    for (const entries of this.byNode.get(node)?.values() ?? []) {
      for (const current of entries) {
        const id = identity(current.owner, current.topic, current.key);
        if (wanted.get(id)?.meta.phx_ref === current.meta.phx_ref) wanted.delete(id);
        else stale.push(current);
      }
    }
    for (const entry of stale) this.remove(entry, diffs);
    for (const { topic, owner, key, meta } of wanted.values()) {
      if (this.holds(topic, key, meta.phx_ref)) continue;
      this.insert({ node, topic, owner, key, meta: storedMeta(meta, meta.phx_ref, meta.phx_ref_prev) }, diffs);
    }
    return ok(diffs);
  }

  /** This node's changes since the last call, oldest first. */
  takeOps(): ReplicaOp[] {
    if (this.ops === undefined) return [];
    const ops = this.ops;
    this.ops = [];
    return ops;
  }

  /**
   * Applies another node's changes, in the order it made them, to what we hold
   * of it. Idempotent: a join we hold already, or a leave of what we do not
   * hold, changes nothing (a full state may already contain them).
   */
  applyOps(node: string, ops: readonly ReplicaOp[]): Result<TopicDiffs, 'local_node'> {
    if (node === this.node) return err('local_node');
    const diffs: TopicDiffs = new Map();
    for (const op of ops) {
      if ('join' in op) {
        const { topic, owner, key, meta } = op.join;
        const current = this.find(node, owner, topic, key);
        if (current?.meta.phx_ref === meta.phx_ref) continue;
        if (current !== undefined) this.remove(current, diffs);
        if (this.holds(topic, key, meta.phx_ref)) continue;
        this.insert({ node, topic, owner, key, meta: storedMeta(meta, meta.phx_ref, meta.phx_ref_prev) }, diffs);
      } else {
        const entry = this.byRef(op.leave.topic, op.leave.key, op.leave.ref);
        if (entry !== undefined && entry.node === node) this.remove(entry, diffs);
      }
    }
    return ok(diffs);
  }

  /** The nodes we hold entries of, this one excluded. */
  remoteNodes(): string[] {
    return [...this.byNode.keys()].filter((node) => node !== this.node);
  }

  private find(node: string, owner: string, topic: string, key: string): Entry | undefined {
    return this.byNode.get(node)?.get(owner)?.find((entry) => entry.topic === topic && entry.key === key);
  }

  private byRef(topic: string, key: string, ref: string): Entry | undefined {
    return this.byTopic.get(topic)?.get(key)?.find((entry) => entry.meta.phx_ref === ref);
  }

  private holds(topic: string, key: string, ref: string): boolean {
    return this.byRef(topic, key, ref) !== undefined;
  }

  private changed(topic: string, key: string): void {
    const cache = this.json.get(topic);
    if (cache === undefined) return;
    cache.fragments.delete(key);
    cache.whole = undefined;
  }

  private insert(entry: Entry, diffs: TopicDiffs): void {
    this.changed(entry.topic, entry.key);
    const keys = childOf(this.byTopic, entry.topic, () => new Map<string, Entry[]>());
    keys.set(entry.key, (keys.get(entry.key) ?? []).concat([entry]));
    const owners = childOf(this.byNode, entry.node, (): OwnerIndex => new Map());
    owners.set(entry.owner, (owners.get(entry.owner) ?? []).concat([entry]));
    this.entryCount += 1;
    addMeta(diffOf(diffs, entry.topic).joins, entry.key, entry.meta);
    if (this.ops !== undefined && entry.node === this.node) {
      this.ops.push({ join: { topic: entry.topic, owner: entry.owner, key: entry.key, meta: entry.meta } });
    }
  }

  /** Emptied lists and maps are deleted on the way out, so owners and topics that come and go leave nothing behind. */
  private remove(entry: Entry, diffs: TopicDiffs): void {
    const keys = this.byTopic.get(entry.topic);
    if (keys !== undefined && without(keys, entry.key, entry)) {
      if (keys.size === 0) {
        this.byTopic.delete(entry.topic);
        this.json.delete(entry.topic);
      } else {
        this.changed(entry.topic, entry.key);
      }
    }
    const owners = this.byNode.get(entry.node);
    if (owners !== undefined && without(owners, entry.owner, entry) && owners.size === 0) this.byNode.delete(entry.node);
    this.entryCount -= 1;
    addMeta(diffOf(diffs, entry.topic).leaves, entry.key, entry.meta);
    if (this.ops !== undefined && entry.node === this.node) this.ops.push({ leave: { topic: entry.topic, key: entry.key, ref: entry.meta.phx_ref } });
  }
}

/**
 * Takes `entry` out of `index`'s list under `id` (deleting an emptied list); whether it was
 * there. Lists are copied, never grown in place: an array grown by push (or spread into)
 * keeps room for 16 more, which with 19,000 sessions is megabytes.
 */
function without(index: Map<string, Entry[]>, id: string, entry: Entry): boolean {
  const entries = index.get(id);
  if (entries === undefined || !entries.includes(entry)) return false;
  const rest = entries.filter((other) => other !== entry);
  if (rest.length === 0) index.delete(id);
  else index.set(id, rest);
  return true;
}

/** JSON keeps the three strings apart whatever characters they hold. */
function identity(owner: string, topic: string, key: string): string {
  return JSON.stringify([owner, topic, key]);
}
