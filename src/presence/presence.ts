import { randomBytes } from 'node:crypto';
import {
  call,
  cast,
  monitor,
  name,
  send,
  startServer,
  type ChildSpec,
  type Down,
  type GenServer,
  type Pid,
} from '../../supervision/index.js';
import { err, ok, type Result } from '../../supervision/result.js';
import * as PubSub from '../pubsub/pubsub.js';
import type { Broadcast } from '../pubsub/broadcast.js';
import { DiffBatch, type PresenceDiff, type PresenceMeta, type PresenceState } from './diff.js';
import { changesJson, listingJson, RoomsDirectory, type ActivitySource, type ListingJson } from './directory.js';
import { REPLICATION_TOPIC, Replication, type ReplicationMessage, type Speaker } from './replication.js';
import { RecentNames, RoomSizes, type Summary } from './room-size.js';
import { TrackerState, type MetaInput, type TopicDiffs } from './state.js';

/**
 * Presence: who is online, per topic, in Phoenix's shape. A tracked entry
 * belongs to a process (a session's channel); when that process stops for any
 * reason its entries leave. Changes go out as `presence_diff` broadcasts on the
 * topic, merged over a short window so a join storm of thousands becomes one
 * frame per window per client.
 *
 * Rooms past a size (see room-size.ts) get a `presence_summary` instead: the
 * count and the recent speakers, at an interval that grows with the room.
 * Every node holds every node's entries, so each decides a room's mode from
 * the whole cluster's count, and tells its own subscribers only.
 */

type Call =
  | { readonly type: 'track'; readonly owner: Pid; readonly topic: string; readonly key: string; readonly meta: MetaInput; readonly maxMetas?: number }
  | { readonly type: 'update'; readonly owner: Pid; readonly topic: string; readonly key: string; readonly meta: MetaInput }
  | { readonly type: 'untrack'; readonly owner: Pid; readonly topic: string; readonly key: string }
  | { readonly type: 'list'; readonly topic: string }
  | { readonly type: 'metas'; readonly topic: string; readonly key: string }
  | { readonly type: 'join_state'; readonly topic: string }
  | { readonly type: 'large'; readonly topic: string }
  | { readonly type: 'rooms' };

type Cast = { readonly type: 'spoke'; readonly topic: string; readonly key: string };

type Info =
  | { readonly type: 'flush' }
  | { readonly type: 'heartbeat' }
  | { readonly type: 'summaries' }
  | { readonly type: 'seeded'; readonly result: Awaited<ReturnType<ActivitySource>> }
  | { readonly type: 'seed' }
  | Broadcast;

type PresenceProtocol = { readonly call: Call; readonly cast: Cast; readonly info: Info };

/** Sized topics: those starting with one of `prefixes` (rooms, the lobby) go large past `fullLimit` keys. */
interface Sizing {
  readonly prefixes: readonly string[];
  readonly sizes: RoomSizes;
  /** The one timer for due summaries, and when it fires. */
  timer: { readonly at: number; readonly handle: NodeJS.Timeout } | undefined;
}

/** The rooms directory (directory.ts): rooms under `prefix`, its changes told on `topic` as `rooms_diff`. */
interface Directory {
  readonly rooms: RoomsDirectory;
  readonly prefix: string;
  readonly topic: string;
  readonly seed: ActivitySource | undefined;
}

interface State {
  readonly tracker: TrackerState;
  readonly replication: Replication | undefined;
  readonly batches: Map<string, DiffBatch>;
  readonly owners: Set<number>;
  readonly batchMs: number;
  readonly sizing: Sizing | undefined;
  readonly directory: Directory | undefined;
  /** With CLUSTER=1: who spoke here since the last flush, per topic, for the other nodes. */
  readonly unshipped: Map<string, RecentNames>;
  flushScheduled: boolean;
}

interface PresenceArgs {
  readonly node: string;
  /** How long diffs are merged before they go out. */
  readonly batchMs: number;
  /** Replicate over PubSub to the other nodes (CLUSTER=1); a node unheard for timeoutMs is dropped. */
  readonly cluster?: { readonly heartbeatMs: number; readonly timeoutMs: number };
  /** Topics starting with one of `prefixes` with more than `fullLimit` distinct keys get summaries instead of full presence. */
  readonly sizing?: { readonly prefixes: readonly string[]; readonly fullLimit: number };
  /**
   * The rooms directory: topics under `prefix` are rooms; the first `limit` are listed, and
   * their changes broadcast on `topic` at most once per batch. `seed` reads the rooms' newest
   * message times from the database, once per start (retried until it answers).
   */
  readonly directory?: {
    readonly prefix: string;
    readonly topic: string;
    readonly limit: number;
    readonly seed?: ActivitySource;
  };
}

/** The event of each kind of presence push. */
export const PresenceEvent = { state: 'presence_state', diff: 'presence_diff', summary: 'presence_summary', roomsDiff: 'rooms_diff' } as const;

/** How long a failed directory seed waits before it is tried again. */
const SEED_RETRY_MS = 2_000;

/** What a join into a topic gets: the full state, or a large room's summary; `json` is the payload. */
export type JoinState = { readonly event: (typeof PresenceEvent)['state' | 'summary']; readonly json: string };

const PRESENCE = name<PresenceProtocol>('presence');

const ownerId = (pid: Pid): string => String(pid.id);

// Every node makes the diffs of all entries (its own and its replicas'), so diffs go to this node's subscribers only.
function flushTopic(state: State, topic: string): void {
  const batch = state.batches.get(topic);
  state.batches.delete(topic);
  if (batch !== undefined && !batch.isEmpty()) PubSub.localBroadcast(topic, PresenceEvent.diff, batch.take());
}

const summaryPayload = (summary: Summary) => ({ count: summary.count, recent: [...summary.recent] });

const isSized = (sizing: Sizing, topic: string): boolean => sizing.prefixes.some((prefix) => topic.startsWith(prefix));

/**
 * A sized topic's change: counted, and its members told if the room switched.
 * Answers whether the diff still goes out (the room is small). Switching, the
 * pending diffs are dropped: the summary replaces them, or the state holds them.
 */
function sized(state: State, sizing: Sizing, topic: string, diff: PresenceDiff, now: number): boolean {
  for (const key of Object.keys(diff.leaves)) if (!state.tracker.hasKey(topic, key)) sizing.sizes.left(topic, key);
  const change = sizing.sizes.counted(topic, state.tracker.keyCount(topic));
  if (change !== undefined) state.batches.delete(topic);
  if (change === 'to_large') PubSub.localBroadcast(topic, PresenceEvent.summary, summaryPayload(sizing.sizes.broadcast(topic, now)));
  // One O(N) frame per member, once per crossing back down (hysteresis makes that rare): phoenix.js starts over from it.
  if (change === 'to_full') PubSub.localBroadcast(topic, PresenceEvent.state, state.tracker.list(topic));
  return change === undefined && sizing.sizes.mode(topic) === 'full';
}

function scheduleSummaries(sizing: Sizing, self: Pid<PresenceProtocol>, now: number): void {
  const next = sizing.sizes.nextDue();
  if (next === undefined || (sizing.timer !== undefined && sizing.timer.at <= next)) return;
  if (sizing.timer !== undefined) clearTimeout(sizing.timer.handle);
  // Unref'd: up to count/1000 s away, it must not keep a stopping node alive (sending to a stopped actor is a no-op).
  const handle = setTimeout(() => send(self, { type: 'summaries' }), Math.max(0, next - now)).unref();
  sizing.timer = { at: next, handle };
}

function sendSummaries(sizing: Sizing, self: Pid<PresenceProtocol>): void {
  sizing.timer = undefined;
  const now = Date.now();
  for (const topic of sizing.sizes.due(now)) PubSub.localBroadcast(topic, PresenceEvent.summary, summaryPayload(sizing.sizes.broadcast(topic, now)));
  scheduleSummaries(sizing, self, now);
}

/** Records a speaker who is online in the room (a message may come just after its sender left); whether it was. */
function spoke(state: State, sizing: Sizing, { topic, key }: Speaker): boolean {
  if (!isSized(sizing, topic) || !state.tracker.hasKey(topic, key)) return false;
  sizing.sizes.spoke(topic, key);
  return true;
}

/**
 * Speakers go to the other nodes too, or a joiner there would not see who
 * spoke here. Small rooms' as well: a room that grows large has its speakers
 * on every node. At most one message per flush window, of at most 20 names a
 * room, whatever the message rate.
 */
function unshipped(state: State, { topic, key }: Speaker): void {
  let names = state.unshipped.get(topic);
  if (names === undefined) {
    names = new RecentNames();
    state.unshipped.set(topic, names);
  }
  names.add(key);
}

/** With the room's newest message time, so the other nodes' directories show when it was (not when it arrived). */
function shipSpeakers(state: State, replication: Replication, self: Pid): void {
  const speakers = [...state.unshipped].flatMap(([topic, names]) => {
    const room = directoryRoom(state.directory, topic);
    const at = room === undefined ? undefined : state.directory?.rooms.lastActiveAt(room);
    return [...names.list()].reverse().map((key) => ({ topic, key, ...(at === undefined ? {} : { at }) }));
  });
  state.unshipped.clear();
  replicate(replication.spoke(speakers), self);
}

/** The room a topic is in the directory, if it is one. */
function directoryRoom(directory: Directory | undefined, topic: string): string | undefined {
  return directory !== undefined && topic.startsWith(directory.prefix) ? topic.slice(directory.prefix.length) : undefined;
}

/** A message in a directory room at `at`; whether the topic is one. */
function roomActive(state: State, topic: string, at: number): boolean {
  const room = directoryRoom(state.directory, topic);
  if (room === undefined) return false;
  state.directory?.rooms.active(room, at);
  return true;
}

/** The listing's changes since the last flush go to the lobby's sockets on this node (every node makes its own). */
function flushDirectory(directory: Directory | undefined): void {
  const changes = directory?.rooms.flush();
  if (directory !== undefined && changes !== undefined) PubSub.localBroadcast(directory.topic, PresenceEvent.roomsDiff, { rooms: changesJson(changes) });
}

function seedDirectory(directory: Directory | undefined, self: Pid<PresenceProtocol>): void {
  const seed = directory?.seed;
  if (seed === undefined) return;
  seed().then(
    (result) => send(self, { type: 'seeded', result }),
    (error: unknown) => send(self, { type: 'seeded', result: err({ reason: 'seed_failed', detail: error instanceof Error ? error.message : String(error) }) }),
  );
}

function replicate(message: ReplicationMessage | undefined, self: Pid): void {
  if (message !== undefined) PubSub.broadcastFrom(self, REPLICATION_TOPIC, message.type, message);
}

function scheduleFlush(state: State, self: Pid<PresenceProtocol>): void {
  if (state.flushScheduled) return;
  state.flushScheduled = true;
  setTimeout(() => send(self, { type: 'flush' }), state.batchMs);
}

function collect(state: State, diffs: TopicDiffs, self: Pid<PresenceProtocol>): void {
  const now = Date.now();
  const { sizing } = state;
  for (const [topic, diff] of diffs) {
    const room = directoryRoom(state.directory, topic);
    if (room !== undefined) state.directory?.rooms.counted(room, state.tracker.keyCount(topic));
    if (sizing !== undefined && isSized(sizing, topic) && !sized(state, sizing, topic, diff, now)) continue;
    let batch = state.batches.get(topic);
    if (batch === undefined) {
      batch = new DiffBatch();
      state.batches.set(topic, batch);
    }
    batch.add(diff);
  }
  // Also when no diff goes out: the replication delta goes with the flush.
  if (diffs.size > 0) scheduleFlush(state, self);
  if (sizing !== undefined) scheduleSummaries(sizing, self, now);
}

const presence: GenServer<PresenceArgs, State, PresenceProtocol> = {
  async init(args, ctx) {
    const tracker = new TrackerState({ node: args.node, recordOps: args.cluster !== undefined });
    let replication: Replication | undefined;
    if (args.cluster !== undefined) {
      replication = new Replication(tracker, randomBytes(6).toString('base64url'), args.cluster.timeoutMs);
      const subscribed = await PubSub.subscribe(REPLICATION_TOPIC, ctx.self);
      if (!subscribed.ok) throw new Error(`presence replication could not subscribe: ${subscribed.error.detail}`);
      const timer = setInterval(() => send(ctx.self, { type: 'heartbeat' }), args.cluster.heartbeatMs);
      ctx.owns(() => clearInterval(timer));
      replicate(replication.hello(), ctx.self);
    }
    const state: State = {
      tracker,
      replication,
      batches: new Map(),
      owners: new Set(),
      batchMs: args.batchMs,
      sizing: args.sizing === undefined ? undefined : { prefixes: args.sizing.prefixes, sizes: new RoomSizes(args.sizing.fullLimit), timer: undefined },
      directory:
        args.directory === undefined
          ? undefined
          : { rooms: new RoomsDirectory(args.directory.limit), prefix: args.directory.prefix, topic: args.directory.topic, seed: args.directory.seed },
      unshipped: new Map(),
      flushScheduled: false,
    };
    seedDirectory(state.directory, ctx.self);
    return state;
  },
  handleCall(message, _from, state, ctx) {
    switch (message.type) {
      case 'track': {
        // Checked and tracked in one message, so concurrent joins of one name cannot pass the cap together.
        if (message.maxMetas !== undefined && state.tracker.metas(message.topic, message.key).length >= message.maxMetas) {
          return { state, reply: err('too_many_metas' as const) };
        }
        const tracked = state.tracker.track(message.topic, ownerId(message.owner), message.key, message.meta);
        if (!tracked.ok) return { state, reply: tracked };
        if (!state.owners.has(message.owner.id)) {
          state.owners.add(message.owner.id);
          monitor(ctx.proc, message.owner);
        }
        collect(state, tracked.value.diffs, ctx.self);
        return { state, reply: ok(tracked.value.ref) };
      }
      case 'update': {
        const updated = state.tracker.update(message.topic, ownerId(message.owner), message.key, message.meta);
        if (!updated.ok) return { state, reply: updated };
        collect(state, updated.value.diffs, ctx.self);
        return { state, reply: ok(updated.value.ref) };
      }
      case 'untrack':
        collect(state, state.tracker.untrack(message.topic, ownerId(message.owner), message.key), ctx.self);
        return { state, reply: undefined };
      case 'list':
        // A client starting from this list must also get every later leave of what it lists:
        // send what is pending first, since merging may drop a join-then-leave inside one window.
        flushTopic(state, message.topic);
        return { state, reply: state.tracker.list(message.topic) };
      case 'metas':
        return { state, reply: state.tracker.metas(message.topic, message.key) };
      case 'join_state': {
        const { sizing } = state;
        if (sizing !== undefined && sizing.sizes.mode(message.topic) === 'large') {
          const summary = sizing.sizes.summary(message.topic);
          return { state, reply: { event: PresenceEvent.summary, json: JSON.stringify(summaryPayload(summary)) } };
        }
        // Not a flush: the batch keeps what the listing shows leaving by name (DiffBatch), so a room's joins still merge.
        state.batches.get(message.topic)?.listed();
        return { state, reply: { event: PresenceEvent.state, json: state.tracker.listJson(message.topic) } };
      }
      case 'large':
        return { state, reply: state.sizing?.sizes.mode(message.topic) === 'large' };
      case 'rooms':
        return { state, reply: listingJson(state.directory?.rooms.listing() ?? []) };
    }
  },
  handleCast(message, state, ctx) {
    const { sizing } = state;
    const now = Date.now();
    const counted = sizing !== undefined && spoke(state, sizing, message);
    // The directory's last activity is any message's, its sender online or not.
    const listed = roomActive(state, message.topic, now);
    if (!counted && !listed) return state;
    if (state.replication !== undefined) unshipped(state, message);
    if (state.replication !== undefined || listed) scheduleFlush(state, ctx.self);
    if (counted) scheduleSummaries(sizing, ctx.self, now);
    return state;
  },
  handleInfo(message: Info | Down, state, ctx) {
    if (message.type === 'flush') {
      state.flushScheduled = false;
      replicate(state.replication?.delta(), ctx.self);
      // After the delta: a speaker's join reaches the other nodes before its speaking does.
      if (state.replication !== undefined) shipSpeakers(state, state.replication, ctx.self);
      for (const topic of [...state.batches.keys()]) flushTopic(state, topic);
      flushDirectory(state.directory);
    } else if (message.type === 'seeded') {
      if (message.result.ok) {
        for (const { room, at } of message.result.value) state.directory?.rooms.active(room, at);
        scheduleFlush(state, ctx.self);
      } else {
        ctx.log.warn(message.result.error, 'could not read the rooms directory; trying again');
        // Unref'd, as the summaries' timer: a stopping node must not wait for it.
        setTimeout(() => send(ctx.self, { type: 'seed' }), SEED_RETRY_MS).unref();
      }
    } else if (message.type === 'seed') {
      seedDirectory(state.directory, ctx.self);
    } else if (message.type === 'summaries') {
      if (state.sizing !== undefined) sendSummaries(state.sizing, ctx.self);
    } else if (message.type === 'heartbeat') {
      // No delta here: every local change schedules a flush, which ships it.
      if (state.replication === undefined) return state;
      replicate(state.replication.heartbeat(), ctx.self);
      const expired = state.replication.expire(Date.now());
      if (expired.dropped.length > 0) ctx.log.warn({ nodes: expired.dropped }, 'nodes stopped heartbeating; their presences left');
      collect(state, expired.diffs, ctx.self);
    } else if (message.type === 'broadcast') {
      if (state.replication === undefined) return state;
      const received = state.replication.receive(message.payload, Date.now());
      if (!received.ok) {
        ctx.log.warn(received.error, 'ignored a replication message');
        return state;
      }
      for (const reply of received.value.replies) replicate(reply, ctx.self);
      collect(state, received.value.diffs, ctx.self);
      const { sizing } = state;
      const now = Date.now();
      let listed = false;
      // The sender's time, though never ahead of ours: a node with a fast clock must not pin a room to the future.
      for (const speaker of received.value.speakers) listed = roomActive(state, speaker.topic, Math.min(speaker.at ?? now, now)) || listed;
      if (listed) scheduleFlush(state, ctx.self);
      if (sizing !== undefined && received.value.speakers.length > 0) {
        for (const speaker of received.value.speakers) spoke(state, sizing, speaker);
        scheduleSummaries(sizing, ctx.self, now);
      }
    } else {
      state.owners.delete(message.pid.id);
      collect(state, state.tracker.untrackOwner(ownerId(message.pid)), ctx.self);
    }
    return state;
  },
};

export function presenceSpec(args: PresenceArgs): ChildSpec {
  return {
    id: 'presence',
    start: (parent) => startServer(presence, args, { parent, id: 'presence', register: PRESENCE.registered }),
  };
}

type PresenceError =
  | { readonly reason: 'already_tracked' }
  | { readonly reason: 'nopresence' }
  /** The key holds as many metas on the topic as the caller allows (every node's counted). */
  | { readonly reason: 'too_many_metas' }
  | { readonly reason: 'presence_unavailable'; readonly detail: string };

async function refCall(message: Call): Promise<Result<string, PresenceError>> {
  const result = await call<Result<string, 'already_tracked' | 'nopresence' | 'too_many_metas'>, PresenceProtocol>(PRESENCE, message);
  if (!result.ok) return err({ reason: 'presence_unavailable', detail: result.error.reason });
  return result.value.ok ? result.value : err({ reason: result.value.error });
}

/** Tracks `owner` under `key` on `topic` until it untracks or stops; returns the meta's phx_ref. `maxMetas`: refused when the key has that many already. */
export function track(owner: Pid, topic: string, key: string, meta: MetaInput, maxMetas?: number): Promise<Result<string, PresenceError>> {
  return refCall({ type: 'track', owner, topic, key, meta, ...(maxMetas === undefined ? {} : { maxMetas }) });
}

export function update(owner: Pid, topic: string, key: string, meta: MetaInput): Promise<Result<string, PresenceError>> {
  return refCall({ type: 'update', owner, topic, key, meta });
}

export async function untrack(owner: Pid, topic: string, key: string): Promise<Result<void, PresenceError>> {
  const result = await call<undefined, PresenceProtocol>(PRESENCE, { type: 'untrack', owner, topic, key });
  return result.ok ? ok(undefined) : err({ reason: 'presence_unavailable', detail: result.error.reason });
}

/** One key's metas on the topic: O(that key's metas), where list(topic)[key] is O(everyone on the topic). */
export async function metas(topic: string, key: string): Promise<Result<PresenceMeta[], PresenceError>> {
  const result = await call<PresenceMeta[], PresenceProtocol>(PRESENCE, { type: 'metas', topic, key });
  return result.ok ? result : err({ reason: 'presence_unavailable', detail: result.error.reason });
}

/** `{ key: { metas: [...] } }` for the topic, as Phoenix.Presence.list. */
export async function list(topic: string): Promise<Result<PresenceState, PresenceError>> {
  const result = await call<PresenceState, PresenceProtocol>(PRESENCE, { type: 'list', topic });
  return result.ok ? result : err({ reason: 'presence_unavailable', detail: result.error.reason });
}

/**
 * What a join into `topic` pushes after its reply: `presence_state` with the
 * full list (its JSON serialized once and shared by every join that asks before it changes), or, in a large room, `presence_summary`.
 */
export async function joinState(topic: string): Promise<Result<JoinState, PresenceError>> {
  const result = await call<JoinState, PresenceProtocol>(PRESENCE, { type: 'join_state', topic });
  return result.ok ? result : err({ reason: 'presence_unavailable', detail: result.error.reason });
}

/** Whether `topic` is a large room now (past PRESENCE_FULL_LIMIT, told by summaries); false when Presence does not answer. */
export async function isLarge(topic: string): Promise<boolean> {
  const result = await call<boolean, PresenceProtocol>(PRESENCE, { type: 'large', topic });
  return result.ok && result.value;
}

/** The rooms directory's listing as of its last batch: the lobby join's `rooms` (README, `users:lobby`). */
export async function rooms(): Promise<Result<ListingJson, PresenceError>> {
  const result = await call<ListingJson, PresenceProtocol>(PRESENCE, { type: 'rooms' });
  return result.ok ? result : err({ reason: 'presence_unavailable', detail: result.error.reason });
}

/**
 * `key` sent a message on `topic`: a large room's summary lists it among the recent speakers while it is online there,
 * and the rooms directory shows the room active now.
 */
export function spokeIn(topic: string, key: string): void {
  cast<PresenceProtocol>(PRESENCE, { type: 'spoke', topic, key });
}
