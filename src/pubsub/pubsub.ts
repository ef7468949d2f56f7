import type { Logger } from 'pino';
import {
  call,
  cast,
  monitor,
  name,
  reply,
  sendAll,
  startServer,
  type ChildSpec,
  type Down,
  type From,
  type GenServer,
  type Pid,
} from '../../supervision/index.js';
import { err, ok, type Result } from '../../supervision/result.js';
import { localAdapter, type PubSubAdapter } from './adapter.js';
import { Broadcast, type Payload, type SenderSocket } from './broadcast.js';
import { Subscriptions } from './subscriptions.js';

/**
 * PubSub: topic -> subscribers. Subscribers are processes and get each
 * broadcast as a handleInfo message (a Broadcast); sockets get it by the
 * fastlane instead: the Endpoint registers one publisher that hands the encoded
 * frame to uWS topic publish, which writes it to every subscribed socket in C++,
 * with no actor message per socket.
 *
 * Broadcasts are casts to this one mailbox, so they leave in the order they were
 * made: the Repo publishes a room's messages in id order, and that order holds
 * (with CLUSTER=1 they come from the LISTEN connection, in commit order).
 * A subscriber is monitored and removed when it stops, whatever the order of
 * events. If PubSub itself dies its table dies with it; rest_for_one then restarts
 * Presence and the Endpoint, whose sessions subscribe again.
 */

type SocketPublisher = (broadcast: Broadcast) => void;

type Call =
  | { readonly type: 'subscribe'; readonly topic: string; readonly pid: Pid }
  | { readonly type: 'subscribers'; readonly topic: string }
  | { readonly type: 'sync' };

type Cast =
  | { readonly type: 'broadcast'; readonly broadcast: Broadcast }
  // To this node's subscribers and sockets only: what other nodes sent, and local_broadcast.
  | { readonly type: 'local'; readonly broadcast: Broadcast }
  | { readonly type: 'socket_publisher'; readonly publish: SocketPublisher | undefined }
  | { readonly type: 'synced'; readonly from: From };

type PubSubProtocol = { readonly call: Call; readonly cast: Cast; readonly info: never };

interface State {
  readonly subscriptions: Subscriptions;
  readonly adapter: PubSubAdapter;
  publishToSockets: SocketPublisher | undefined;
  delivered: number;
}

interface PubSubArgs {
  /** Made anew by each incarnation of PubSub: a restart must not reuse a stopped adapter's connection. */
  readonly adapter?: (log: Logger) => PubSubAdapter;
}

const PUBSUB = name<PubSubProtocol>('pubsub');

/**
 * A broadcast is someone else's data: one that cannot be encoded is dropped and
 * logged here, before anyone gets it, and a socket publisher or adapter that
 * throws loses that one broadcast. Neither may crash PubSub, whose restart would
 * (rest_for_one) drop every socket of the node.
 */
function dispatch(state: State, broadcast: Broadcast, log: Logger, outward: boolean): void {
  const json = broadcast.json();
  if (!json.ok) {
    log.error({ ...json.error, topic: broadcast.topic, event: broadcast.event }, 'dropped a broadcast that cannot be encoded');
    return;
  }
  const count = state.subscriptions.count(broadcast.topic);
  if (count > 0) {
    sendAll(state.subscriptions.subscribers(broadcast.topic), broadcast, broadcast.from);
    state.delivered += count;
  }
  guarded(log, broadcast, 'socket publisher', () => state.publishToSockets?.(broadcast));
  if (outward) guarded(log, broadcast, 'cluster adapter', () => state.adapter.publish(broadcast.topic, broadcast.event, broadcast.payload));
}

function guarded(log: Logger, broadcast: Broadcast, stage: string, run: () => void): void {
  try {
    run();
  } catch (error) {
    log.error({ reason: 'publish_failed', stage, err: error, topic: broadcast.topic, event: broadcast.event }, 'a broadcast failed on its way out; dropped there');
  }
}

const pubsub: GenServer<PubSubArgs, State, PubSubProtocol> = {
  async init(args, ctx) {
    const adapter = args.adapter?.(ctx.log) ?? localAdapter;
    await adapter.start((topic, event, payload) => cast(ctx.self, { type: 'local', broadcast: new Broadcast(topic, event, payload) }));
    ctx.owns(() => void adapter.stop());
    ctx.log.info({ adapter: adapter.name }, 'pubsub ready');
    return { subscriptions: new Subscriptions(), adapter, publishToSockets: undefined, delivered: 0 };
  },
  handleCall(message, from, state, ctx) {
    switch (message.type) {
      case 'subscribe':
        if (state.subscriptions.add(message.topic, message.pid)) monitor(ctx.proc, message.pid);
        return { state, reply: undefined };
      case 'subscribers':
        return { state, reply: [...state.subscriptions.subscribers(message.topic)] };
      case 'sync':
        // Answered through the mailbox, behind the broadcasts the adapter delivered before it.
        void state.adapter.sync().then(() => cast(ctx.self, { type: 'synced', from }));
        return { state, noreply: true };
    }
  },
  handleCast(message, state, ctx) {
    switch (message.type) {
      case 'broadcast':
        dispatch(state, message.broadcast, ctx.log, true);
        break;
      case 'local':
        dispatch(state, message.broadcast, ctx.log, false);
        break;
      case 'socket_publisher':
        state.publishToSockets = message.publish;
        break;
      case 'synced':
        reply(message.from, undefined);
        break;
    }
    return state;
  },
  handleInfo(message: Down, state) {
    state.subscriptions.removeSubscriber(message.pid.id);
    return state;
  },
};

export function pubsubSpec(args: PubSubArgs = {}): ChildSpec {
  return {
    id: 'pubsub',
    start: (parent) => startServer(pubsub, args, { parent, id: 'pubsub', register: PUBSUB.registered }),
  };
}

type PubSubError = { readonly reason: 'pubsub_unavailable'; readonly detail: string };

async function callPubSub(message: Call): Promise<Result<unknown, PubSubError>> {
  const result = await call<unknown, PubSubProtocol>(PUBSUB, message);
  return result.ok ? ok(result.value) : err({ reason: 'pubsub_unavailable', detail: result.error.reason });
}

/** From now on `pid` gets every broadcast on `topic` as a handleInfo Broadcast, until it stops. */
export async function subscribe(topic: string, pid: Pid): Promise<Result<void, PubSubError>> {
  const result = await callPubSub({ type: 'subscribe', topic, pid });
  return result.ok ? ok(undefined) : result;
}

export async function subscribers(topic: string): Promise<Result<Pid[], PubSubError>> {
  const result = await call<Pid[], PubSubProtocol>(PUBSUB, { type: 'subscribers', topic });
  return result.ok ? result : err({ reason: 'pubsub_unavailable', detail: result.error.reason });
}

/** To every subscriber of `topic` (the sender too, if subscribed), to local sockets, and to other nodes. */
export function broadcast(topic: string, event: string, payload: Payload): void {
  cast(PUBSUB, { type: 'broadcast', broadcast: new Broadcast(topic, event, payload) });
}

/** A broadcast made beforehand (a stored message's announcement), as broadcast. */
export function publish(broadcast: Broadcast): void {
  cast(PUBSUB, { type: 'broadcast', broadcast });
}

/** To this node's subscribers and sockets only, as Phoenix's local_broadcast (Presence diffs: each node makes its own). */
export function localBroadcast(topic: string, event: string, payload: Payload): void {
  cast(PUBSUB, { type: 'local', broadcast: new Broadcast(topic, event, payload) });
}

/** As broadcast, but `sender` does not get it, nor its socket (`socket`) if one is given. */
export function broadcastFrom(sender: Pid, topic: string, event: string, payload: Payload, socket?: SenderSocket): void {
  cast(PUBSUB, { type: 'broadcast', broadcast: new Broadcast(topic, event, payload, sender, socket) });
}

/**
 * Resolves once this node has dispatched every broadcast handed to PubSub
 * before the call, and with CLUSTER=1 every one NOTIFYed in a transaction that
 * committed before it.
 */
export async function sync(): Promise<Result<void, PubSubError>> {
  const result = await callPubSub({ type: 'sync' });
  return result.ok ? ok(undefined) : result;
}

/** The Endpoint's fastlane: every broadcast, whose frame it publishes once to subscribed sockets. */
export function setSocketPublisher(publish: SocketPublisher | undefined): void {
  cast(PUBSUB, { type: 'socket_publisher', publish });
}

export { Broadcast, type Payload, type SenderSocket };
