import { shouldRestart, shutdownOf, type ChildSpec } from './child-spec.js';
import { SHUTDOWN, describeReason, type ExitReason } from './exit-reason.js';
import { startServer, type CallReturn, type GenServer } from './gen-server.js';
import { DEFAULT_INTENSITY, recordRestart, type Intensity } from './intensity.js';
import {
  call,
  childParent,
  describeStartError,
  send,
  stop,
  type CallError,
  type Ctx,
  type Down,
  type From,
  type Parent,
  type Pid,
  type StartError,
  type SupervisorEvent,
} from './process.js';
import { err, ok, type Result } from './result.js';

/**
 * Supervisor and DynamicSupervisor: one engine, two sets of flags.
 *
 * Deliberate deviation from OTP (documented in the README): a dynamic supervisor
 * may count restart intensity per child. Past it, only that child is given up
 * (its spec's onGiveUp runs, e.g. to close its socket with 1011), instead of the
 * whole supervisor failing and taking every session with it.
 */

export type Strategy = 'one_for_one' | 'one_for_all' | 'rest_for_one';

interface SupervisorOptions extends Partial<Intensity> {
  readonly strategy?: Strategy;
}

export interface DynamicSupervisorOptions extends Partial<Intensity> {
  readonly maxChildren?: number;
  /** 'per_child': one child's crash loop gives up that child only. Default 'supervisor', as in OTP. */
  readonly intensityScope?: 'supervisor' | 'per_child';
}

type ChildKind = 'worker' | 'supervisor' | 'dynamic_supervisor';

export interface ChildInfo {
  readonly id: string;
  readonly pid: Pid | undefined;
  readonly type: 'worker' | 'supervisor';
  readonly restarts: number;
  readonly startedAt: number;
}

interface ChildCounts {
  readonly specs: number;
  readonly active: number;
  readonly workers: number;
  readonly supervisors: number;
}

export interface TreeSnapshot {
  readonly id: string;
  readonly path: string;
  readonly kind: ChildKind;
  readonly alive: boolean;
  readonly restarts: number;
  readonly strategy?: Strategy;
  readonly childCount?: number;
  readonly children?: readonly TreeSnapshot[];
  /** How many children were left out of `children` by the snapshot's limit. */
  readonly omitted?: number;
}

type StartChildError =
  | { readonly reason: 'max_children'; readonly max: number }
  | { readonly reason: 'already_present'; readonly id: string }
  | { readonly reason: 'start_failed'; readonly start: StartError };

type Call =
  | { readonly type: 'which_children' }
  | { readonly type: 'count_children' }
  | { readonly type: 'snapshot'; readonly limit: number }
  | { readonly type: 'start_child'; readonly spec: ChildSpec }
  | { readonly type: 'terminate_child'; readonly id: string };

type Info = Down | { readonly type: 'retry'; readonly ids: readonly string[] };

type SupervisorProtocol = { readonly call: Call; readonly cast: never; readonly info: Info };
export type SupervisorPid = Pid<SupervisorProtocol>;

interface Child {
  readonly spec: ChildSpec;
  pid: Pid | undefined;
  restarts: number;
  startedAt: number;
  /** Only used with per-child intensity; made at the first restart (most children never restart). */
  restartTimes: number[] | undefined;
}

interface Flags {
  readonly dynamic: boolean;
  readonly strategy: Strategy;
  readonly intensity: Intensity;
  readonly perChild: boolean;
  readonly maxChildren: number;
}

interface State {
  readonly flags: Flags;
  readonly parent: Parent;
  /** Insertion order is start order: the order strategies restart in and the reverse of stop order. */
  readonly children: Map<string, Child>;
  readonly byPid: Map<number, Child>;
  readonly restartTimes: number[];
}

type SupCtx = Ctx<SupervisorProtocol>;

/** Tells the tree's observer (if any); an observer's bug must not take the supervisor down. */
function notify(state: State, ctx: SupCtx, event: Omit<SupervisorEvent, 'supervisor' | 'dynamic'>): void {
  const observer = state.parent.observer;
  if (observer === undefined) return;
  try {
    observer({ ...event, supervisor: ctx.self.path, dynamic: state.flags.dynamic });
  } catch (error) {
    ctx.log.error({ err: error }, 'supervisor observer failed');
  }
}

/** `cause` is set for a restart: why this child is started again (its own exit, or a sibling's under the strategy). */
async function startOne(state: State, child: Child, ctx: SupCtx, cause?: string): Promise<Result<Pid, StartError>> {
  const result = await child.spec.start(state.parent);
  if (!result.ok) return result;
  child.pid = result.value;
  child.startedAt = Date.now();
  state.byPid.set(result.value.id, child);
  const path = result.value.path;
  if (cause === undefined) {
    ctx.log[state.flags.dynamic ? 'debug' : 'info']({ child: child.spec.id, path, restarts: child.restarts }, 'child started');
    return result;
  }
  child.restarts += 1;
  // One line per restart with everything a person needs: which, why, how many times.
  ctx.log.info({ child: child.spec.id, path, reason: cause, restarts: child.restarts }, 'child restarted');
  notify(state, ctx, { type: 'restarted', child: child.spec.id, path, reason: cause, restarts: child.restarts });
  return result;
}

async function stopOne(state: State, child: Child): Promise<ExitReason | undefined> {
  const pid = child.pid;
  if (pid === undefined) return undefined;
  state.byPid.delete(pid.id);
  child.pid = undefined;
  return stop(pid, SHUTDOWN, shutdownOf(child.spec));
}

/** Starts `ids` in order; on a failure, schedules a retry of it and the rest (counted as restarts). */
async function startInOrder(state: State, ids: readonly string[], ctx: SupCtx, causeOf: (id: string) => string): Promise<void> {
  for (const [index, id] of ids.entries()) {
    const child = state.children.get(id);
    if (child === undefined || child.pid !== undefined) continue;
    const result = await startOne(state, child, ctx, causeOf(id));
    if (!result.ok) {
      ctx.log.error({ child: id, reason: describeStartError(result.error) }, 'child failed to restart; will retry');
      send(ctx.self, { type: 'retry', ids: ids.slice(index) });
      return;
    }
  }
}

/** The ids a crash of `failed` brings down and restarts, by strategy, in start order. */
function affected(state: State, failed: Child): string[] {
  const ids = [...state.children.keys()];
  switch (state.flags.strategy) {
    case 'one_for_one':
      return [failed.spec.id];
    case 'one_for_all':
      return ids;
    case 'rest_for_one':
      return ids.slice(ids.indexOf(failed.spec.id));
  }
}

async function restartAfterCrash(state: State, failed: Child, reason: ExitReason, ctx: SupCtx): Promise<void> {
  const ids = affected(state, failed);
  for (const id of [...ids].reverse()) {
    const child = state.children.get(id);
    if (child !== undefined && child !== failed) await stopOne(state, child);
  }
  // A temporary sibling stopped by the strategy is not started again (OTP drops it).
  for (const id of ids) {
    if (id !== failed.spec.id && state.children.get(id)?.spec.restart === 'temporary') state.children.delete(id);
  }
  const restartIds = ids.filter((id) => state.children.has(id));
  const own = describeReason(reason);
  const sibling = `${state.flags.strategy}: ${failed.spec.id} exited (${own})`;
  await startInOrder(state, restartIds, ctx, (id) => (id === failed.spec.id ? own : sibling));
}

async function stopAll(state: State, ctx: SupCtx): Promise<void> {
  const children = [...state.children.values()].reverse();
  if (state.flags.dynamic) {
    // As in OTP's DynamicSupervisor: children are independent, so they stop in parallel.
    await Promise.all(children.map((child) => stopOne(state, child)));
  } else {
    for (const child of children) {
      const reason = await stopOne(state, child);
      if (reason !== undefined) ctx.log.debug({ child: child.spec.id, reason: describeReason(reason) }, 'child stopped');
    }
  }
}

async function onDown(state: State, down: Down, ctx: SupCtx): Promise<State> {
  const child = state.byPid.get(down.pid.id);
  if (child === undefined) return state;
  state.byPid.delete(down.pid.id);
  child.pid = undefined;
  const { flags } = state;
  const id = child.spec.id;
  const restart = child.spec.restart ?? 'permanent';
  if (!shouldRestart(restart, down.reason)) {
    if (flags.dynamic || restart === 'temporary') state.children.delete(id);
    ctx.log.debug({ child: id, reason: describeReason(down.reason) }, 'child exited');
    return state;
  }
  const times = flags.perChild ? (child.restartTimes ??= []) : state.restartTimes;
  const fields = { child: id, path: down.pid.path, reason: describeReason(down.reason), restarts: child.restarts };
  if (!recordRestart(times, Date.now(), flags.intensity)) {
    notify(state, ctx, { type: 'gave_up', child: id, path: down.pid.path, reason: fields.reason, restarts: child.restarts });
    if (flags.perChild) {
      state.children.delete(id);
      ctx.log.error(fields, 'child exceeded its restart intensity; giving up on it');
      child.spec.onGiveUp?.(down.reason);
      return state;
    }
    ctx.log.error(fields, 'restart intensity reached; supervisor gives up and exits');
    ctx.stop({ kind: 'shutdown', detail: 'reached_max_restart_intensity' });
    return state;
  }
  ctx.log.warn(fields, 'child exited abnormally; restarting');
  await restartAfterCrash(state, child, down.reason, ctx);
  return state;
}

async function onRetry(state: State, ids: readonly string[], ctx: SupCtx): Promise<State> {
  if (!recordRestart(state.restartTimes, Date.now(), state.flags.intensity)) {
    ctx.log.error({ children: ids }, 'restart intensity reached while retrying; supervisor gives up and exits');
    ctx.stop({ kind: 'shutdown', detail: 'reached_max_restart_intensity' });
    return state;
  }
  await startInOrder(state, ids, ctx, () => 'retry after a failed start');
  return state;
}

function kindOf(state: State): ChildKind {
  return state.flags.dynamic ? 'dynamic_supervisor' : 'supervisor';
}

async function childSnapshot(child: Child, limit: number): Promise<TreeSnapshot> {
  const path = child.pid?.path ?? '';
  const base = { id: child.spec.id, path, alive: child.pid !== undefined, restarts: child.restarts };
  if (child.spec.type === 'supervisor' && child.pid !== undefined) {
    const sub = await snapshot(child.pid as SupervisorPid, limit);
    if (sub.ok) return { ...sub.value, ...base, path: sub.value.path };
  }
  return { ...base, kind: 'worker' };
}

async function treeSnapshot(state: State, ctx: SupCtx, limit: number): Promise<TreeSnapshot> {
  const all = [...state.children.values()];
  const shown = all.slice(0, limit);
  const children = await Promise.all(shown.map((child) => childSnapshot(child, limit)));
  return {
    id: ctx.self.path.split('/').pop() ?? '',
    path: ctx.self.path,
    kind: kindOf(state),
    alive: true,
    restarts: 0,
    ...(state.flags.dynamic ? {} : { strategy: state.flags.strategy }),
    childCount: all.length,
    children,
    ...(all.length > shown.length ? { omitted: all.length - shown.length } : {}),
  };
}

async function startChildCall(state: State, spec: ChildSpec, ctx: SupCtx): Promise<Result<Pid, StartChildError>> {
  if (state.children.has(spec.id)) return err({ reason: 'already_present', id: spec.id });
  if (state.children.size >= state.flags.maxChildren) return err({ reason: 'max_children', max: state.flags.maxChildren });
  const child: Child = { spec, pid: undefined, restarts: 0, startedAt: Date.now(), restartTimes: undefined };
  state.children.set(spec.id, child);
  const result = await startOne(state, child, ctx);
  if (!result.ok) {
    state.children.delete(spec.id);
    return err({ reason: 'start_failed', start: result.error });
  }
  return result;
}

async function handleCall(message: Call, _from: From, state: State, ctx: SupCtx): Promise<CallReturn<State>> {
  switch (message.type) {
    case 'which_children':
      return {
        state,
        reply: [...state.children.values()].map<ChildInfo>((child) => ({
          id: child.spec.id,
          pid: child.pid,
          type: child.spec.type ?? 'worker',
          restarts: child.restarts,
          startedAt: child.startedAt,
        })),
      };
    case 'count_children': {
      // Counted in place: the sessions supervisor holds every socket's child and is asked each second.
      let supervisors = 0;
      for (const child of state.children.values()) if (child.spec.type === 'supervisor') supervisors += 1;
      const counts: ChildCounts = {
        specs: state.children.size,
        active: state.byPid.size,
        workers: state.children.size - supervisors,
        supervisors,
      };
      return { state, reply: counts };
    }
    case 'snapshot':
      return { state, reply: await treeSnapshot(state, ctx, message.limit) };
    case 'start_child':
      return { state, reply: await startChildCall(state, message.spec, ctx) };
    case 'terminate_child': {
      const child = state.children.get(message.id);
      if (child === undefined) return { state, reply: err({ reason: 'not_found', id: message.id }) };
      await stopOne(state, child);
      if (state.flags.dynamic || child.spec.restart === 'temporary') state.children.delete(message.id);
      return { state, reply: ok(undefined) };
    }
  }
}

interface InitArgs {
  readonly flags: Flags;
  readonly specs: readonly ChildSpec[];
  readonly observer: Parent['observer'];
}

const supervisorServer: GenServer<InitArgs, State, SupervisorProtocol> = {
  async init({ flags, specs, observer }, ctx) {
    const state: State = {
      flags,
      // The observer is inherited: one set at the root sees the whole tree.
      parent: observer === undefined ? childParent(ctx) : { ...childParent(ctx), observer },
      children: new Map(),
      byPid: new Map(),
      restartTimes: [],
    };
    for (const spec of specs) {
      if (state.children.has(spec.id)) throw new Error(`duplicate child id ${spec.id}`);
      const child: Child = { spec, pid: undefined, restarts: 0, startedAt: Date.now(), restartTimes: undefined };
      state.children.set(spec.id, child);
      const result = await startOne(state, child, ctx);
      if (!result.ok) {
        // A failed start aborts the whole start: what was started stops again, in reverse order.
        state.children.delete(spec.id);
        await stopAll(state, ctx);
        throw new Error(`child ${spec.id} failed to start: ${describeStartError(result.error)}`);
      }
    }
    return state;
  },
  handleCall,
  handleInfo(message, state, ctx) {
    return message.type === 'DOWN' ? onDown(state, message, ctx) : onRetry(state, message.ids, ctx);
  },
  async terminate(reason, state, ctx) {
    ctx.log.info({ reason: describeReason(reason) }, 'stopping children');
    await stopAll(state, ctx);
  },
};

interface StartSupervisorOptions {
  readonly parent: Parent;
  readonly id: string;
  readonly register?: string;
}

export function startSupervisor(
  specs: readonly ChildSpec[],
  options: SupervisorOptions & StartSupervisorOptions,
): Promise<Result<SupervisorPid, StartError>> {
  const flags: Flags = {
    dynamic: false,
    strategy: options.strategy ?? 'one_for_one',
    intensity: { ...DEFAULT_INTENSITY, ...pickIntensity(options) },
    perChild: false,
    maxChildren: Number.POSITIVE_INFINITY,
  };
  return startServer(supervisorServer, { flags, specs, observer: options.parent.observer }, options);
}

export function startDynamicSupervisor(
  options: DynamicSupervisorOptions & StartSupervisorOptions,
): Promise<Result<SupervisorPid, StartError>> {
  const flags: Flags = {
    dynamic: true,
    strategy: 'one_for_one',
    intensity: { ...DEFAULT_INTENSITY, ...pickIntensity(options) },
    perChild: options.intensityScope === 'per_child',
    maxChildren: options.maxChildren ?? Number.POSITIVE_INFINITY,
  };
  return startServer(supervisorServer, { flags, specs: [], observer: options.parent.observer }, options);
}

function pickIntensity(options: Partial<Intensity>): Partial<Intensity> {
  return {
    ...(options.maxRestarts === undefined ? {} : { maxRestarts: options.maxRestarts }),
    ...(options.periodMs === undefined ? {} : { periodMs: options.periodMs }),
  };
}

/** A child spec that starts a nested supervisor. */
export function supervisorSpec(
  id: string,
  specs: readonly ChildSpec[],
  options: SupervisorOptions & { readonly restart?: ChildSpec['restart']; readonly register?: string } = {},
): ChildSpec {
  return {
    id,
    type: 'supervisor',
    restart: options.restart ?? 'permanent',
    start: (parent) =>
      startSupervisor(specs, {
        ...options,
        parent,
        id,
        ...(options.register === undefined ? {} : { register: options.register }),
      }),
  };
}

/** A child spec that starts a nested dynamic supervisor. */
export function dynamicSupervisorSpec(
  id: string,
  options: DynamicSupervisorOptions & { readonly register?: string } = {},
): ChildSpec {
  return {
    id,
    type: 'supervisor',
    start: (parent) => startDynamicSupervisor({ ...options, parent, id }),
  };
}

// Calls into a supervisor wait as long as its children take to start; OTP uses infinity.
const SUPERVISOR_CALL_MS = 60_000;

export function startChild(sup: SupervisorPid, spec: ChildSpec): Promise<Result<Pid, StartChildError | CallError>> {
  return call<Result<Pid, StartChildError>, SupervisorProtocol>(sup, { type: 'start_child', spec }, SUPERVISOR_CALL_MS).then(
    (result) => (result.ok ? result.value : result),
  );
}

export function terminateChild(
  sup: SupervisorPid,
  id: string,
): Promise<Result<void, { readonly reason: 'not_found'; readonly id: string } | CallError>> {
  return call<Result<void, { reason: 'not_found'; id: string }>, SupervisorProtocol>(
    sup,
    { type: 'terminate_child', id },
    SUPERVISOR_CALL_MS,
  ).then((result) => (result.ok ? result.value : result));
}

export function whichChildren(sup: SupervisorPid): Promise<Result<ChildInfo[], CallError>> {
  return call<ChildInfo[], SupervisorProtocol>(sup, { type: 'which_children' });
}

export function countChildren(sup: SupervisorPid): Promise<Result<ChildCounts, CallError>> {
  return call<ChildCounts, SupervisorProtocol>(sup, { type: 'count_children' });
}

/** The subtree with kinds, restart counts and child counts; each supervisor lists at most `limit` children. */
export function snapshot(sup: SupervisorPid, limit = 1_000): Promise<Result<TreeSnapshot, CallError>> {
  return call<TreeSnapshot, SupervisorProtocol>(sup, { type: 'snapshot', limit }, SUPERVISOR_CALL_MS);
}
