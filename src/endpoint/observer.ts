import { z } from 'zod';
import { call, countChildren, name, send, startServer, whereis, type ChildSpec, type GenServer, type SupervisorPid } from '../../supervision/index.js';
import { err, ok, type Result } from '../../supervision/result.js';
import { History, type Point, type Series } from '../metrics/history.js';
import { NodeTable, type NodeRow } from '../metrics/node-table.js';
import { Metrics } from '../metrics/registry.js';
import * as PubSub from '../pubsub/pubsub.js';
import { Chaos, type ChaosParams, type ChaosState } from './chaos.js';
import type { Conns } from './conns.js';
import { killRandomSessions } from './operations.js';

/**
 * The observer: once a second it samples this node (the tallies /metrics reads,
 * sockets, sessions) into the charts' history, and publishes that sample on a
 * PubSub topic, which with CLUSTER=1 crosses to every node (one small NOTIFY a
 * second per node), so each node's table shows them all. It also runs chaos.
 * A child of the root after the Endpoint: its crash restarts only itself.
 */

const NODES_TOPIC = 'observer:nodes';
const SAMPLE_EVENT = 'sample';
const TICK_MS = 1_000;
/** What the restart log says of a chaos kill, apart from a person's. */
const CHAOS_KILL = 'killed by chaos (admin API)';

const count = z.number().finite().nonnegative();
/** A sample from another node: someone else's data, parsed before it is kept. */
const nodeSample = z.object({
  node: z.string().min(1).max(200),
  at: z.number().int().nonnegative(),
  sockets: count,
  sessions: count,
  joins: count,
  messagesIn: count,
  messagesOut: count,
  restarts: count,
});

export interface ObserverStats {
  readonly node: string;
  readonly series: Series;
  readonly nodes: NodeRow[];
  readonly chaos: ChaosState;
}

type Call = { readonly type: 'stats' } | { readonly type: 'chaos_start'; readonly params: ChaosParams } | { readonly type: 'chaos_stop' };
type Info = { readonly type: 'sample' } | { readonly type: 'chaos_tick' } | PubSub.Broadcast;
type ObserverProtocol = { readonly call: Call; readonly cast: never; readonly info: Info };

const OBSERVER = name<ObserverProtocol>('observer');

interface ObserverArgs {
  readonly node: string;
  readonly conns: Conns;
  /** Kept by the spec, so the charts outlive a restart of the observer (a PubSub kill restarts it). */
  readonly history: History;
}

interface State {
  readonly args: ObserverArgs;
  readonly nodes: NodeTable;
  readonly chaos: Chaos;
  chaosTimer: NodeJS.Timeout | undefined;
}

async function sessionCount(): Promise<number> {
  const sup = whereis(name('sessions'));
  const counts = sup === undefined ? undefined : await countChildren(sup as SupervisorPid);
  return counts?.ok === true ? counts.value.active : 0;
}

async function sample(state: State): Promise<void> {
  const { joins, messagesIn, messagesOut, restarts } = Metrics.totals();
  const point = state.args.history.record({
    at: Date.now(),
    sockets: state.args.conns.size,
    sessions: await sessionCount(),
    joins,
    messagesIn,
    messagesOut,
    restarts,
  });
  // This node's own sample comes back to it as a subscriber, like everyone else's.
  if (point !== undefined) PubSub.broadcast(NODES_TOPIC, SAMPLE_EVENT, { node: state.args.node, ...point });
}

async function chaosTick(state: State): Promise<void> {
  const due = state.chaos.due(Date.now());
  if (due > 0) {
    const killed = await killRandomSessions(due, CHAOS_KILL);
    if (killed.ok) state.chaos.killedSome(killed.value.length);
  }
  if (!state.chaos.state().running) stopChaosTimer(state);
}

function stopChaosTimer(state: State): void {
  clearInterval(state.chaosTimer);
  state.chaosTimer = undefined;
}

function heard(state: State, broadcast: PubSub.Broadcast): void {
  if (broadcast.topic !== NODES_TOPIC || broadcast.event !== SAMPLE_EVENT) return;
  const parsed = nodeSample.safeParse(broadcast.payload);
  if (!parsed.success) return;
  const { node, ...point } = parsed.data;
  state.nodes.heard(node, point satisfies Point, Date.now());
}

const observer: GenServer<ObserverArgs, State, ObserverProtocol> = {
  async init(args, ctx) {
    const subscribed = await PubSub.subscribe(NODES_TOPIC, ctx.self);
    if (!subscribed.ok) throw new Error(`cannot subscribe to ${NODES_TOPIC}: ${subscribed.error.detail}`);
    const timer = setInterval(() => send(ctx.self, { type: 'sample' }), TICK_MS);
    ctx.owns(() => clearInterval(timer));
    const state: State = { args, nodes: new NodeTable(), chaos: new Chaos(), chaosTimer: undefined };
    ctx.owns(() => stopChaosTimer(state));
    return state;
  },
  handleCall(message, _from, state, ctx) {
    switch (message.type) {
      case 'stats':
        return { state, reply: { node: state.args.node, series: state.args.history.series(), nodes: state.nodes.rows(Date.now()), chaos: state.chaos.state() } };
      case 'chaos_start': {
        stopChaosTimer(state);
        state.chaos.start(message.params, Date.now());
        // Its own timer, from now: `seconds` ticks of `rate` kills, the first at once.
        state.chaosTimer = setInterval(() => send(ctx.self, { type: 'chaos_tick' }), TICK_MS);
        send(ctx.self, { type: 'chaos_tick' });
        ctx.log.warn({ rate: message.params.rate, seconds: message.params.seconds }, 'chaos started');
        return { state, reply: state.chaos.state() };
      }
      case 'chaos_stop':
        if (state.chaos.state().running) ctx.log.warn({ killed: state.chaos.state().killed }, 'chaos stopped');
        state.chaos.stop(Date.now());
        stopChaosTimer(state);
        return { state, reply: state.chaos.state() };
    }
  },
  async handleInfo(message, state) {
    switch (message.type) {
      case 'sample':
        await sample(state);
        break;
      case 'chaos_tick':
        await chaosTick(state);
        break;
      case 'broadcast':
        heard(state, message);
        break;
      case 'DOWN':
        break;
    }
    return state;
  },
};

export function observerSpec(args: { readonly node: string; readonly conns: Conns }): ChildSpec {
  const history = new History();
  return {
    id: 'observer',
    start: (parent) => startServer(observer, { ...args, history }, { parent, id: 'observer', register: OBSERVER.registered }),
  };
}

type ObserverError = { readonly reason: 'unavailable'; readonly detail: string };

async function callObserver<T>(message: Call): Promise<Result<T, ObserverError>> {
  const result = await call<T, ObserverProtocol>(OBSERVER, message);
  return result.ok ? ok(result.value) : err({ reason: 'unavailable', detail: `the observer did not answer: ${result.error.reason}` });
}

export const stats = (): Promise<Result<ObserverStats, ObserverError>> => callObserver({ type: 'stats' });
export const startChaos = (params: ChaosParams): Promise<Result<ChaosState, ObserverError>> => callObserver({ type: 'chaos_start', params });
export const stopChaos = (): Promise<Result<ChaosState, ObserverError>> => callObserver({ type: 'chaos_stop' });
