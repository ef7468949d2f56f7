import { z } from 'zod';
import { err, ok, type Result } from '../../supervision/result.js';
import type { Payload } from '../pubsub/broadcast.js';
import type { ReplicaOp, TopicDiffs, TrackerState } from './state.js';

/**
 * Presence across nodes, the way Phoenix.Tracker does it: each node owns its
 * entries and ships changes to them over PubSub; every node holds a replica
 * of every other node's entries and answers `list` from all of them.
 *
 * - delta: this node's changes since the last one, numbered (seq) per incarnation;
 * - heartbeat: every few hundred ms, with the last seq, so a lost delta is noticed;
 * - state_request / state: a node that starts, sees a new incarnation, or misses a
 *   delta asks for the full state and replaces its replica with it;
 * - a node not heard from within the timeout is dropped: its entries leave;
 * - spoke: who sent a message in which room lately (see RoomSizes), and when
 *   (the rooms directory's last activity), at most one per flush window. Not
 *   numbered: a lost one costs a name in a summary's "recent" list (and a room's
 *   last activity) until someone speaks there again, not worth a resync.
 *
 * The messages come from other processes over the network: zod reads them.
 */

export const REPLICATION_TOPIC = 'phx_presence:replication';

const meta = z.object({ phx_ref: z.string().min(1) }).passthrough();
const entry = z.object({ topic: z.string(), owner: z.string(), key: z.string(), meta });
const op = z.union([z.object({ join: entry }), z.object({ leave: z.object({ topic: z.string(), key: z.string(), ref: z.string() }) })]);
const from = { node: z.string().min(1), inc: z.string().min(1) };
// `at`: when the room's newest message was sent (ms), for the rooms directory; older nodes send none.
const speaker = z.object({ topic: z.string(), key: z.string(), at: z.number().int().nonnegative().optional() });
const message = z.discriminatedUnion('type', [
  z.object({ type: z.literal('delta'), ...from, seq: z.number().int().positive(), ops: z.array(op) }),
  z.object({ type: z.literal('heartbeat'), ...from, seq: z.number().int().nonnegative() }),
  z.object({ type: z.literal('state_request'), ...from, to: z.string().min(1) }),
  z.object({ type: z.literal('state'), ...from, seq: z.number().int().nonnegative(), entries: z.array(entry) }),
  z.object({ type: z.literal('spoke'), ...from, speakers: z.array(speaker) }),
]);
export type ReplicationMessage = z.infer<typeof message>;
/** Someone who sent a message into a room: `key` on `topic`. */
export type Speaker = z.infer<typeof speaker>;

interface Peer {
  inc: string;
  seq: number;
  lastSeen: number;
  /** Waiting for a full state since then: deltas are not applied meanwhile. */
  syncingSince: number | undefined;
}

/** How long a state request may go unanswered before it is asked again. */
const RESYNC_MS = 2_000;

interface Received {
  readonly diffs: TopicDiffs;
  readonly replies: readonly ReplicationMessage[];
  /** Another node's speakers, oldest first. */
  readonly speakers: readonly Speaker[];
}

export class Replication {
  private seq = 0;
  private readonly peers = new Map<string, Peer>();

  constructor(
    private readonly tracker: TrackerState,
    private readonly inc: string,
    private readonly timeoutMs: number,
  ) {}

  private get node(): string {
    return this.tracker.node;
  }

  /** This node's changes since the last delta, or nothing when there were none. */
  delta(): ReplicationMessage | undefined {
    const ops: ReplicaOp[] = this.tracker.takeOps();
    if (ops.length === 0) return undefined;
    this.seq += 1;
    return { type: 'delta', node: this.node, inc: this.inc, seq: this.seq, ops };
  }

  /** This node's speakers since the last flush (oldest first), or nothing when nobody spoke. */
  spoke(speakers: readonly Speaker[]): ReplicationMessage | undefined {
    return speakers.length === 0 ? undefined : { type: 'spoke', node: this.node, inc: this.inc, speakers: [...speakers] };
  }

  heartbeat(): ReplicationMessage {
    return { type: 'heartbeat', node: this.node, inc: this.inc, seq: this.seq };
  }

  /** Sent at start: every node answers with its state. */
  hello(): ReplicationMessage {
    return { type: 'state_request', node: this.node, inc: this.inc, to: '*' };
  }

  receive(payload: Payload, now: number): Result<Received, { readonly reason: 'not_a_replication_message'; readonly detail: string }> {
    const parsed = message.safeParse(payload);
    if (!parsed.success) return err({ reason: 'not_a_replication_message', detail: parsed.error.issues[0]?.message ?? 'not a replication message' });
    const msg = parsed.data;
    if (msg.type === 'spoke') {
      if (msg.node === this.node) return ok({ diffs: new Map(), replies: [], speakers: [] });
      this.seen(msg.node, msg.inc, now);
      return ok({ diffs: new Map(), replies: [], speakers: msg.speakers });
    }
    return ok({ ...this.handle(msg, now), speakers: [] });
  }

  private handle(msg: Exclude<ReplicationMessage, { type: 'spoke' }>, now: number): Omit<Received, 'speakers'> {
    if (msg.node === this.node) return { diffs: new Map(), replies: [] };
    switch (msg.type) {
      case 'state_request': {
        const peer = this.seen(msg.node, msg.inc, now);
        const answer = msg.to === '*' || msg.to === this.node;
        // A node saying hello is new to us too: we want its state as much as it wants ours.
        const ask = peer.syncingSince === undefined ? [] : this.resync(peer, msg.node, now);
        return { diffs: new Map(), replies: [...(answer ? [this.state()] : []), ...ask] };
      }
      case 'state': {
        const peer = this.seen(msg.node, msg.inc, now);
        if (peer.syncingSince === undefined && msg.seq <= peer.seq) return { diffs: new Map(), replies: [] };
        const merged = this.tracker.mergeReplica(msg.node, msg.entries);
        peer.seq = msg.seq;
        peer.syncingSince = undefined;
        return { diffs: merged.ok ? merged.value : new Map(), replies: [] };
      }
      case 'delta': {
        const peer = this.seen(msg.node, msg.inc, now);
        if (peer.syncingSince !== undefined) return { diffs: new Map(), replies: this.resync(peer, msg.node, now) };
        if (msg.seq <= peer.seq) return { diffs: new Map(), replies: [] };
        if (msg.seq !== peer.seq + 1) return { diffs: new Map(), replies: this.startSync(peer, msg.node, now) };
        peer.seq = msg.seq;
        const applied = this.tracker.applyOps(msg.node, msg.ops);
        return { diffs: applied.ok ? applied.value : new Map(), replies: [] };
      }
      case 'heartbeat': {
        const peer = this.seen(msg.node, msg.inc, now);
        if (peer.syncingSince !== undefined) return { diffs: new Map(), replies: this.resync(peer, msg.node, now) };
        return { diffs: new Map(), replies: msg.seq > peer.seq ? this.startSync(peer, msg.node, now) : [] };
      }
    }
  }

  /** Drops the nodes not heard from within the timeout; their entries leave. */
  expire(now: number): { readonly diffs: TopicDiffs; readonly dropped: string[] } {
    const diffs: TopicDiffs = new Map();
    const dropped: string[] = [];
    for (const [node, peer] of this.peers) {
      if (now - peer.lastSeen <= this.timeoutMs) continue;
      this.peers.delete(node);
      dropped.push(node);
      for (const [topic, diff] of this.tracker.dropNode(node)) diffs.set(topic, diff);
    }
    return { diffs, dropped };
  }

  private state(): ReplicationMessage {
    // Changes not yet shipped are in the state; their delta follows and changes nothing there.
    return { type: 'state', node: this.node, inc: this.inc, seq: this.seq, entries: this.tracker.replicaState() };
  }

  /** A node we did not know, or a new life of one (a restart): its state is asked for. */
  private seen(node: string, inc: string, now: number): Peer {
    let peer = this.peers.get(node);
    if (peer === undefined || peer.inc !== inc) {
      peer = { inc, seq: 0, lastSeen: now, syncingSince: undefined };
      this.peers.set(node, peer);
      peer.syncingSince = Number.NEGATIVE_INFINITY;
    }
    peer.lastSeen = now;
    return peer;
  }

  private startSync(peer: Peer, node: string, now: number): ReplicationMessage[] {
    peer.syncingSince = now;
    return [{ type: 'state_request', node: this.node, inc: this.inc, to: node }];
  }

  private resync(peer: Peer, node: string, now: number): ReplicationMessage[] {
    if (peer.syncingSince !== undefined && now - peer.syncingSince < RESYNC_MS) return [];
    return this.startSync(peer, node, now);
  }
}
