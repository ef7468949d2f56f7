/**
 * Presence payload types and the algebra of diffs: building them, telling
 * whether one is empty, and merging consecutive diffs of one topic so that a
 * burst of changes goes out as one `presence_diff` frame.
 */

export type PresenceMeta = Record<string, unknown> & { phx_ref: string; phx_ref_prev?: string };
type Presence = { metas: PresenceMeta[] };
/** `presence_state` payload and `list(topic)` result: key -> metas. */
export type PresenceState = Record<string, Presence>;
/** `presence_diff` payload. Both sides are always present: phoenix.js walks both without checking. */
export type PresenceDiff = { joins: PresenceState; leaves: PresenceState };

/**
 * Keys are chosen by the app (user names...), so "__proto__" or "constructor"
 * must be plain data: every key-indexed object is prototype-free, as the
 * phoenix.js client does on its side. JSON.stringify writes such keys as is.
 */
export function emptyPresenceState(): PresenceState {
  return Object.create(null) as PresenceState;
}

export function emptyDiff(): PresenceDiff {
  return { joins: emptyPresenceState(), leaves: emptyPresenceState() };
}

export function addMeta(side: PresenceState, key: string, meta: PresenceMeta): void {
  const presence = presenceOf(side, key);
  if (presence === undefined) side[key] = { metas: [meta] };
  else presence.metas.push(meta);
}

/** Diffs parsed from JSON have prototypes: without the own-property check, "__proto__" would read Object.prototype. */
function presenceOf(side: PresenceState, key: string): Presence | undefined {
  return Object.hasOwn(side, key) ? side[key] : undefined;
}

function sideIsEmpty(side: PresenceState): boolean {
  for (const presence of Object.values(side)) {
    if (presence.metas.length > 0) return false;
  }
  return true;
}

export function isEmptyDiff(diff: PresenceDiff): boolean {
  return sideIsEmpty(diff.joins) && sideIsEmpty(diff.leaves);
}

/** A join in the batch, with how many listings the batch had given out when it came. */
type Joined = { readonly meta: PresenceMeta; readonly listings: number };
/** Pending changes of one key, by phx_ref. Map order = the order the client must append joins in. */
type KeyChanges = { joins: Map<string, Joined>; leaves: Map<string, PresenceMeta> };

/**
 * Accumulates the consecutive diffs of one topic into one. Adding a diff
 * costs O(size of that diff), so a window holding a join storm of thousands
 * of diffs stays linear (folding with `mergeDiffs` would copy the batch on
 * every step).
 *
 * Semantics (per key, per phx_ref; phx_refs are never reused):
 * - joined, then left, inside the batch: vanishes from both sides, unless a
 *   listing was given out in between (see snapshots below).
 * - left, then joined again (cannot happen with fresh refs, handled anyway):
 *   a join.
 * - an update chain A -> C -> D (C.phx_ref_prev = A, D.phx_ref_prev = C)
 *   becomes joins [D], leaves [A]. D keeps phx_ref_prev = C, a ref the client
 *   never saw: rewriting it to A would make the client's copy of D differ
 *   from `list()` for good (resyncs compare phx_ref only and never fix it).
 * - join order inside a key is kept, so the client appends metas in the
 *   order the server tracked them.
 *
 * Snapshots: a client may apply a batch on top of a `presence_state` taken
 * while the batch was open. A meta joined before that listing and left after
 * it must then reach the client as a leave, or it stays there for good; so
 * `listed()` marks the batch, and such a meta goes out as both a join and a
 * leave (phoenix.js applies joins first: a client that never saw it ends
 * without it too). A join the listing holds comes again as a join, which
 * phoenix.js merges by phx_ref, and a leave it no longer holds is a no-op. So
 * a join's listing need not flush the batch, and a room's joins in one window
 * still go out as one diff.
 */
export class DiffBatch {
  private readonly keys = new Map<string, KeyChanges>();
  private listings = 0;

  /** A listing of the topic was given out: what it holds must leave by name from now on. */
  listed(): this {
    this.listings += 1;
    return this;
  }

  add(diff: PresenceDiff): this {
    // Leaves first, against the batch as it was before this diff: a well-formed
    // diff never joins and leaves the same ref, so order only matters for
    // telling "born in this batch" apart from "existed before".
    for (const [key, presence] of Object.entries(diff.leaves)) {
      const changes = this.changesOf(key);
      for (const meta of presence.metas) {
        const ref = meta.phx_ref;
        const joined = changes.joins.get(ref);
        // Unseen by anyone: born in this batch and no listing given out since.
        const unseen = joined !== undefined && joined.listings === this.listings && !changes.leaves.has(ref);
        if (unseen) changes.joins.delete(ref);
        else changes.leaves.set(ref, meta);
      }
    }
    for (const [key, presence] of Object.entries(diff.joins)) {
      const changes = this.changesOf(key);
      const leftNow = presenceOf(diff.leaves, key)?.metas.map((m) => m.phx_ref) ?? [];
      for (const meta of presence.metas) {
        const ref = meta.phx_ref;
        if (leftNow.includes(ref)) continue;
        changes.leaves.delete(ref);
        // Re-inserting moves the ref to the end, as the client would.
        changes.joins.delete(ref);
        changes.joins.set(ref, { meta, listings: this.listings });
      }
    }
    return this;
  }

  isEmpty(): boolean {
    for (const changes of this.keys.values()) {
      if (changes.joins.size > 0 || changes.leaves.size > 0) return false;
    }
    return true;
  }

  /** The merged diff; the batch is empty afterwards. */
  take(): PresenceDiff {
    const diff = emptyDiff();
    for (const [key, changes] of this.keys) {
      if (changes.joins.size > 0) diff.joins[key] = { metas: [...changes.joins.values()].map((joined) => joined.meta) };
      if (changes.leaves.size > 0) diff.leaves[key] = { metas: [...changes.leaves.values()] };
    }
    this.keys.clear();
    this.listings = 0;
    return diff;
  }

  private changesOf(key: string): KeyChanges {
    let changes = this.keys.get(key);
    if (changes === undefined) {
      changes = { joins: new Map(), leaves: new Map() };
      this.keys.set(key, changes);
    }
    return changes;
  }
}

/** One diff with the effect of `a` then `b` on a client (see DiffBatch for the rules). */
export function mergeDiffs(a: PresenceDiff, b: PresenceDiff): PresenceDiff {
  return new DiffBatch().add(a).add(b).take();
}
