import nact from 'nact';
import type { Logger } from 'pino';
import { KILLED, crash, describeReason, type ExitReason } from './exit-reason.js';
import { Fifo } from './fifo.js';
import { forgetLastImmediate, shareEmptyChildren } from './nact-actor.js';
import { err, ok, type Result } from './result.js';

/**
 * The process layer: OTP processes over nact actors.
 *
 * nact runs each actor one message at a time; this file keeps each process's
 * mailbox itself and hands nact turns, in each of which a process takes what is
 * waiting, up to a budget, as a BEAM process runs until its reductions are spent.
 * It adds what OTP has and nact lacks: pids that die (a message to a dead incarnation is
 * dropped, never delivered to its restarted successor), calls that fail fast when
 * the callee dies, monitors with DOWN notices, named registration, and links from a
 * supervisor to its children.
 *
 * Every nact actor is spawned directly under the nact system, named by its pid
 * number. The supervision tree is kept here, not in nact's parent/child tree,
 * because nact copies an actor's whole children map into the context of every
 * message it handles: a Sessions supervisor with 19,000 nact children would copy
 * 19,000 entries per session start. Logical paths (/app/endpoint/sessions/s1)
 * are ours and appear in every log line.
 */

/** What a process accepts: the messages of call, cast and plain sends (info). */
export interface Protocol {
  readonly call: unknown;
  readonly cast: unknown;
  readonly info: unknown;
}

/** A process identifier. Valid for one incarnation only, as in Erlang. */
export interface Pid<P extends Protocol = Protocol> {
  readonly id: number;
  readonly path: string;
  /** Phantom: lets the compiler check what is sent to this pid. */
  readonly protocol?: P;
}

/** A registered name: resolves to whichever incarnation holds it now. */
interface Name<P extends Protocol = Protocol> {
  readonly registered: string;
  readonly protocol?: P;
}

type Dest<P extends Protocol> = Pid<P> | Name<P>;

export const name = <P extends Protocol>(registered: string): Name<P> => ({ registered });

export interface MonitorRef {
  readonly id: number;
  readonly pid: Pid;
}

/** The notice a monitoring process receives in handleInfo when the target stops. */
export interface Down {
  readonly type: 'DOWN';
  readonly ref: MonitorRef;
  readonly pid: Pid;
  readonly reason: ExitReason;
}

export type CallError =
  | { readonly reason: 'timeout'; readonly ms: number }
  | { readonly reason: 'noproc' }
  | { readonly reason: 'exit'; readonly exit: ExitReason };

export function describeCallError(error: CallError): string {
  switch (error.reason) {
    case 'timeout':
      return `no reply within ${error.ms} ms`;
    case 'noproc':
      return 'process not alive';
    case 'exit':
      return `process exited (${describeReason(error.exit)})`;
  }
}

/** Where a reply goes. Opaque to handlers: pass it to reply(). */
export interface From {
  readonly callee: Proc;
  readonly id: number;
}

export type StartError =
  | { readonly reason: 'init_failed'; readonly exit: ExitReason }
  | { readonly reason: 'already_registered'; readonly registered: string }
  | { readonly reason: 'parent_exited' };

export function describeStartError(error: StartError): string {
  switch (error.reason) {
    case 'init_failed':
      return `init failed (${describeReason(error.exit)})`;
    case 'already_registered':
      return `name ${error.registered} is already registered`;
    case 'parent_exited':
      return 'parent supervisor has exited';
  }
}

/** Where a new process goes in the tree: its path prefix, the logger it binds its path to, its supervisor. */
export interface Parent {
  readonly path: string;
  readonly log: Logger;
  readonly supervisor?: Proc;
  /** Told of every restart and give-up in the tree below (metrics); supervisors pass it down to their children. */
  readonly observer?: SupervisorObserver;
}

/** What a supervisor tells its observer. `path` is the child's; `reason` and `restarts` as in the log line. */
export interface SupervisorEvent {
  readonly type: 'restarted' | 'gave_up';
  readonly supervisor: string;
  readonly child: string;
  readonly path: string;
  readonly reason: string;
  readonly restarts: number;
  /** Children of a dynamic supervisor are many and short-lived: an observer may group them. */
  readonly dynamic: boolean;
}

type SupervisorObserver = (event: SupervisorEvent) => void;

interface PendingCall {
  readonly resolve: (result: Result<unknown, CallError>) => void;
  readonly timer: NodeJS.Timeout;
}

/**
 * One monitor, kept by its target only. For a process watcher it is also the
 * MonitorRef handed out (and carried by the Down). The watcher keeps no index of
 * what it watches: demonitor finds the target by pid, and entries of a watcher
 * that died are skipped when they fire and pruned as the target gains new ones.
 * With 19,000 sessions each watched by its supervisor, PubSub and Presence, a
 * Map per session and one per watcher cost ~350 bytes a session.
 */
type Watcher = { readonly id: number; readonly pid: Pid; readonly proc: Proc } | { readonly id: number; readonly fn: (reason: ExitReason) => void };

const CALL = 0;
const CAST = 1;
const INFO = 2;
const STOP = 3;
const INIT = 4;

type Envelope =
  | { readonly t: typeof CALL; readonly m: unknown; readonly from: From }
  | { readonly t: typeof CAST; readonly m: unknown }
  | { readonly t: typeof INFO; readonly m: unknown }
  | { readonly t: typeof STOP; readonly reason: ExitReason }
  | { readonly t: typeof INIT; readonly run: () => unknown };

/** What nact is handed: "take your turn"; the envelopes wait in Proc.mailbox. */
const TURN = 0;
/**
 * Envelopes a process takes in one turn before it yields to the others and to I/O,
 * as the BEAM counts reductions: a busy process handles what piled up in few loop
 * iterations, and one with a flood of messages still cannot starve the rest.
 */
const TURN_BUDGET = 64;

// One empty list shared by every process: each `[]` is an object of its own, per session.
const NONE: readonly never[] = Object.freeze([]);
const procs = new Map<number, Proc>();
const kept = <T>(list: readonly T[], keep: (item: T) => boolean): readonly T[] => {
  const left = list.filter(keep);
  return left.length === 0 ? NONE : left;
};
const registry = new Map<string, Proc>();
let system: nact.ActorSystemRef | undefined;
let seq = 0;

function nactSystem(): nact.ActorSystemRef {
  system ??= nact.start();
  return system;
}

function lookup<P extends Protocol>(dest: Dest<P>): Proc | undefined {
  return 'registered' in dest ? registry.get(dest.registered) : procs.get(dest.id);
}

export function whereis<P extends Protocol>(dest: Name<P>): Pid<P> | undefined {
  return registry.get(dest.registered)?.pid as Pid<P> | undefined;
}

export function isAlive(pid: Pid): boolean {
  return procs.has(pid.id);
}

/**
 * Every envelope goes through here, into the process's own mailbox; nact is handed
 * one turn at a time (see runTurn). Handed each envelope, nact would run one per
 * event-loop iteration (a setImmediate each): a PubSub publishing a batch of
 * stored messages would then make a loop iteration, and a write to every
 * subscriber, per message, where uWS writes one iteration's publishes together.
 */
function post(proc: Proc, envelope: Envelope): void {
  if (proc.mailbox !== undefined) {
    proc.mailbox.push(envelope);
    return;
  }
  proc.mailbox = new Fifo([envelope]);
  nact.dispatch(proc.actor, TURN);
}

/** Envelopes posted to the process and not yet taken. */
const waiting = (proc: Proc): number => proc.mailbox?.length ?? 0;

/**
 * Messages waiting in a process's mailbox (the one being handled not included),
 * as Erlang's message_queue_len; undefined when no such process is alive.
 */
export function mailboxLength<P extends Protocol>(dest: Dest<P>): number | undefined {
  const proc = lookup(dest);
  return proc === undefined ? undefined : waiting(proc);
}

/** Sends a plain message (handled by handleInfo). Dropped if the process is dead, as in Erlang. */
export function send<P extends Protocol>(dest: Dest<P>, message: P['info']): void {
  const proc = lookup(dest);
  if (proc !== undefined) post(proc, { t: INFO, m: message });
}

/**
 * Sends one message to many processes (a broadcast's fan-out): one envelope is
 * shared by all, so 10,000 subscribers cost 10,000 dispatches and no more.
 */
export function sendAll<P extends Protocol>(pids: Iterable<Pid<P>>, message: P['info'], except?: Pid): void {
  const envelope: Envelope = { t: INFO, m: message };
  for (const pid of pids) {
    if (pid.id === except?.id) continue;
    const proc = procs.get(pid.id);
    if (proc !== undefined) post(proc, envelope);
  }
}

export function cast<P extends Protocol>(dest: Dest<P>, message: P['cast']): void {
  const proc = lookup(dest);
  if (proc !== undefined) post(proc, { t: CAST, m: message });
}

/**
 * A request with a typed reply. Fails with a value, never hangs: a timeout, a dead
 * callee, or a callee that dies while the call is pending each resolve at once.
 */
export function call<R, P extends Protocol = Protocol>(
  dest: Dest<P>,
  message: P['call'],
  timeoutMs = 5_000,
): Promise<Result<R, CallError>> {
  const proc = lookup(dest);
  if (proc === undefined) return Promise.resolve(err({ reason: 'noproc' }));
  return new Promise((resolve) => {
    const id = ++seq;
    const timer = setTimeout(() => {
      proc.pending?.delete(id);
      resolve(err({ reason: 'timeout', ms: timeoutMs }));
    }, timeoutMs);
    (proc.pending ??= new Map()).set(id, { resolve: resolve as PendingCall['resolve'], timer });
    post(proc, { t: CALL, m: message, from: { callee: proc, id } });
  });
}

/** Answers a call, now or later (a handler that returned no reply keeps `from` to answer on completion). */
export function reply(from: From, value: unknown): void {
  const pending = from.callee.pending?.get(from.id);
  if (pending === undefined) return;
  from.callee.pending?.delete(from.id);
  clearTimeout(pending.timer);
  pending.resolve(ok(value));
}

const watcherGone = (watcher: Watcher): boolean => 'proc' in watcher && watcher.proc.exited;

function addMonitor(target: Proc, watcher: Watcher): void {
  target.monitors = target.monitors.filter((other) => !watcherGone(other)).concat([watcher]);
}

function removeMonitor(target: Proc, id: number): void {
  target.monitors = kept(target.monitors, (watcher) => watcher.id !== id);
}

/** Called by `watcher`: it receives a Down in handleInfo when `target` stops, or at once if already dead. */
export function monitor(watcher: Proc, target: Pid): MonitorRef {
  const ref = { id: ++seq, pid: target, proc: watcher };
  const proc = procs.get(target.id);
  if (proc === undefined) {
    post(watcher, { t: INFO, m: { type: 'DOWN', ref, pid: target, reason: { kind: 'noproc' } } });
  } else {
    addMonitor(proc, ref);
  }
  return ref;
}

export function demonitor(_watcher: Proc, ref: MonitorRef): void {
  const target = procs.get(ref.pid.id);
  if (target !== undefined) removeMonitor(target, ref.id);
}

/**
 * For code outside any process (the socket layer, tests): runs `fn` once when
 * the process stops, or soon if it is already dead. Returns a cancel function.
 */
export function onExit(pid: Pid, fn: (reason: ExitReason) => void): () => void {
  const proc = procs.get(pid.id);
  if (proc === undefined) {
    queueMicrotask(() => fn({ kind: 'noproc' }));
    return () => {};
  }
  const id = ++seq;
  addMonitor(proc, { id, fn });
  return () => removeMonitor(proc, id);
}

export function awaitExit(pid: Pid): Promise<ExitReason> {
  return new Promise((resolve) => onExit(pid, resolve));
}

/**
 * Asks a process to stop: it runs terminate, then exits with `reason`. If it has not
 * exited after `timeoutMs` it is killed ('brutal' kills at once, without terminate).
 */
export function stop(pid: Pid, reason: ExitReason, timeoutMs: number | 'brutal'): Promise<ExitReason> {
  const proc = procs.get(pid.id);
  if (proc === undefined) return Promise.resolve({ kind: 'noproc' });
  const exited = awaitExit(pid);
  if (timeoutMs === 'brutal') {
    kill(pid, { kind: 'killed', detail: 'brutal shutdown' });
    return exited;
  }
  post(proc, { t: STOP, reason });
  const timer = setTimeout(() => {
    proc.log.warn({ timeoutMs }, 'did not stop within its shutdown time; killing it');
    kill(pid, { kind: 'killed', detail: `shutdown timeout ${timeoutMs} ms` });
  }, timeoutMs);
  return exited.finally(() => clearTimeout(timer));
}

/** Kills at once, like Process.exit(pid, :kill): no terminate, pending calls fail, monitors get DOWN. */
export function kill(pid: Pid, reason: ExitReason = KILLED): boolean {
  const proc = procs.get(pid.id);
  if (proc === undefined || proc.exited) return false;
  proc.exit ??= reason;
  nact.stop(proc.actor);
  return true;
}

/**
 * Makes a process crash for real: its next message throws inside its own handler,
 * so the crash goes the same way as any bug (nact fault, terminate, DOWN, supervisor).
 */
export function crashProcess(pid: Pid, message: string): boolean {
  const proc = procs.get(pid.id);
  if (proc === undefined) return false;
  post(proc, {
    t: INIT,
    run: () => {
      throw new Error(message);
    },
  });
  return true;
}

function finalize(proc: Proc, reason: ExitReason): void {
  if (proc.exited) return;
  proc.exited = true;
  procs.delete(proc.pid.id);
  proc.mailbox = undefined;
  const releases = proc.releases;
  proc.releases = NONE;
  for (const release of releases) {
    try {
      release();
    } catch (error) {
      proc.log.error({ err: error }, 'releasing a resource failed');
    }
  }
  if (proc.registered !== undefined && registry.get(proc.registered) === proc) registry.delete(proc.registered);
  for (const pending of proc.pending?.values() ?? []) {
    clearTimeout(pending.timer);
    pending.resolve(err({ reason: 'exit', exit: reason }));
  }
  proc.pending?.clear();
  // A monitor fires once, as in Erlang; the Down names only the pid, so the watcher does not keep this dead process reachable.
  const monitors = proc.monitors;
  proc.monitors = NONE;
  for (const watcher of monitors) {
    if ('fn' in watcher) watcher.fn(reason);
    else if (!watcher.proc.exited) post(watcher.proc, { t: INFO, m: { type: 'DOWN', ref: watcher, pid: proc.pid, reason } satisfies Down });
  }
  proc.linkedTo?.links?.delete(proc);
  // A supervisor's children do not outlive it (in OTP they are linked to it).
  for (const child of proc.links ?? []) kill(child.pid, { kind: 'shutdown', detail: 'supervisor exited' });
  const waiters = proc.exitWaiters;
  proc.exitWaiters = NONE;
  for (const waiter of waiters) waiter(reason);
}

async function afterNactStop(proc: Proc): Promise<void> {
  const reason = proc.exit ?? KILLED;
  if (reason.kind === 'crash') {
    proc.log.error({ err: reason.error }, 'crashed');
    await proc.runTerminate(reason);
  }
  finalize(proc, reason);
}

export const isPromise = (value: unknown): value is Promise<unknown> =>
  typeof value === 'object' && value !== null && typeof (value as { then?: unknown }).then === 'function';

/** What a process's handlers can do to themselves. */
export interface Ctx<P extends Protocol> {
  readonly self: Pid<P>;
  readonly log: Logger;
  /** The process record, for monitor/demonitor and for spawning linked children. */
  readonly proc: Proc;
  /** Exit after the current handler returns, running terminate with this reason. */
  stop(reason: ExitReason): void;
  /**
   * Ties an outside resource (a listen socket, a pool) to this process: `release`
   * runs when it exits for any reason, a kill included, as the BEAM closes the
   * ports of a dead process. Without it a killed Endpoint would keep its port.
   */
  owns(release: () => void): void;
}

/** The callbacks of a process, bound to its state by the GenServer layer. */
export interface Behaviour {
  init(): unknown;
  call(message: unknown, from: From): unknown;
  cast(message: unknown): unknown;
  info(message: unknown): unknown;
  terminate(reason: ExitReason): unknown;
}

/**
 * Runtime record of one live process, and the Ctx its handlers get.
 *
 * A class, and one handler function shared by every nact actor (the process
 * rides in as nact's actor state): with 19,000 sessions, per-process closures
 * would make every call site in the message path see thousands of different
 * functions, and V8 would stop inlining it.
 */
class Proc<P extends Protocol = Protocol> implements Ctx<P> {
  /** Who watches this process (a few: its supervisor, PubSub, Presence); replaced, never grown in place. */
  monitors: ReadonlyArray<Watcher> = NONE;
  // Made on first use: most processes (every session) are never called, never monitor anything, have no children.
  pending: Map<number, PendingCall> | undefined = undefined;
  links: Set<Proc> | undefined = undefined;
  // Replaced by concat, never pushed to: an array grown by push (or spread into) keeps room for 16 more, per process.
  exitWaiters: ReadonlyArray<(reason: ExitReason) => void> = NONE;
  releases: ReadonlyArray<() => void> = NONE;
  actor!: nact.Ref<typeof TURN>;
  registered: string | undefined;
  /** Set once the process is on its way out; the first reason wins. */
  exit: ExitReason | undefined = undefined;
  stopRequested: ExitReason | undefined = undefined;
  exited = false;
  /** Envelopes posted and not yet taken; undefined while no turn is due. */
  mailbox: Fifo<Envelope> | undefined = undefined;
  behaviour: Behaviour | undefined = undefined;
  private terminated = false;
  private logger: Logger | undefined = undefined;

  constructor(
    readonly self: Pid<P>,
    /** The logger without this process's bindings, handed to its children. */
    readonly baseLog: Logger,
    readonly linkedTo: Proc | undefined,
    private readonly logBindings: Record<string, unknown> | undefined,
  ) {}

  get pid(): Pid<P> {
    return this.self;
  }

  get proc(): Proc {
    return this as Proc;
  }

  /** Made on first use: most sessions never log, and a pino child per process is not free. */
  get log(): Logger {
    this.logger ??= this.baseLog.child({ actor: this.self.path, ...this.logBindings });
    return this.logger;
  }

  stop(reason: ExitReason): void {
    this.stopRequested ??= reason;
  }

  owns(release: () => void): void {
    this.releases = this.releases.concat([release]);
  }

  handle(envelope: Envelope): unknown {
    // Nothing runs once the process is on its way out (killed, or exiting after terminate).
    if (this.exit !== undefined) return undefined;
    const behaviour = this.behaviour;
    // The init envelope is always first in the mailbox, so behaviour is set for everything after it.
    if (behaviour === undefined) return envelope.t === INIT ? envelope.run() : undefined;
    switch (envelope.t) {
      case CALL:
        return this.settle(behaviour.call(envelope.m, envelope.from));
      case CAST:
        return this.settle(behaviour.cast(envelope.m));
      case INFO:
        return this.settle(behaviour.info(envelope.m));
      case STOP:
        this.stopRequested ??= envelope.reason;
        return this.commitStop();
      case INIT:
        return envelope.run();
    }
  }

  settle(result: unknown): unknown {
    if (isPromise(result)) return result.then(() => this.commitStop());
    return this.stopRequested === undefined ? undefined : this.commitStop();
  }

  /** After a handler: if it asked to stop, run terminate and exit. */
  commitStop(): Promise<void> | undefined {
    const reason = this.stopRequested;
    if (reason === undefined || this.exit !== undefined) return undefined;
    return this.runTerminate(reason).then(() => {
      this.exit ??= reason;
      nact.stop(this.actor);
    });
  }

  async runTerminate(reason: ExitReason): Promise<void> {
    if (this.terminated || this.behaviour === undefined) return;
    this.terminated = true;
    try {
      await this.behaviour.terminate(reason);
    } catch (error) {
      this.log.error({ err: error }, 'terminate failed');
    }
  }
}

export interface SpawnOptions {
  readonly parent: Parent;
  /** The last segment of the process's path: a child spec id, a session id. */
  readonly id: string;
  readonly register?: string;
  readonly logBindings?: Record<string, unknown>;
}

/** The one nact handler of every process: nact's actor state is the Proc itself. */
const onTurn = (proc: Proc, _turn: typeof TURN): Proc | Promise<Proc> => runTurn(proc, 0);

/** One turn: envelopes in order, each handler's promise awaited before the next is taken. */
function runTurn(proc: Proc, taken: number): Proc | Promise<Proc> {
  for (let n = taken; n < TURN_BUDGET; n++) {
    const envelope = proc.mailbox?.shift();
    if (envelope === undefined || proc.exit !== undefined) return idle(proc);
    const result = proc.handle(envelope);
    if (isPromise(result)) return result.then(() => runTurn(proc, n + 1));
  }
  if (waiting(proc) === 0) return idle(proc);
  nact.dispatch(proc.actor, TURN);
  return proc;
}

/** Nothing waits: the next post hands nact a new turn. */
function idle(proc: Proc): Proc {
  proc.mailbox = undefined;
  forgetLastImmediate(proc.actor);
  return proc;
}

// Shared by every actor rather than closures per process: with one process per session, a closure
// per process is memory per session for nothing.
function onNactCrash(_message: unknown, error: unknown, nctx: nact.SupervisionContext<typeof TURN, nact.ActorSystemRef>) {
  const proc = procs.get(Number(nctx.name.slice(ACTOR_PREFIX.length)));
  if (proc !== undefined) proc.exit ??= crash(error);
  return nctx.stop;
}

function onNactStop(proc: Proc): void {
  void afterNactStop(proc);
}

const ACTOR_PREFIX = 'p';
const nactOptions = (proc: Proc) => ({ initialState: proc, onCrash: onNactCrash, afterStop: onNactStop });

/**
 * Spawns a process and runs its init in its own mailbox; resolves once init is done.
 * A failing init, or a name already taken, is an error value and leaves no process behind.
 */
export function spawnProcess<P extends Protocol>(
  options: SpawnOptions,
  makeBehaviour: (ctx: Ctx<P>) => Behaviour,
): Promise<Result<Pid<P>, StartError>> {
  const { parent } = options;
  if (parent.supervisor?.exited === true) return Promise.resolve(err({ reason: 'parent_exited' }));
  if (options.register !== undefined && registry.has(options.register)) {
    return Promise.resolve(err({ reason: 'already_registered', registered: options.register }));
  }
  const id = ++seq;
  const pid: Pid<P> = { id, path: `${parent.path}/${options.id}` };
  const proc = new Proc<P>(pid, parent.log, parent.supervisor, options.logBindings);
  proc.registered = options.register;
  proc.actor = nact.spawn(nactSystem(), onTurn, `${ACTOR_PREFIX}${id}`, nactOptions(proc as Proc)) as nact.Ref<typeof TURN>;
  shareEmptyChildren(proc.actor);
  procs.set(id, proc as Proc);
  if (options.register !== undefined) registry.set(options.register, proc as Proc);
  if (parent.supervisor !== undefined) {
    (parent.supervisor.links ??= new Set()).add(proc as Proc);
    addMonitor(proc as Proc, { id: ++seq, pid, proc: parent.supervisor });
  }

  return new Promise((resolve) => {
    const failed = (reason: ExitReason): void => resolve(err({ reason: 'init_failed', exit: reason }));
    proc.exitWaiters = proc.exitWaiters.concat([failed]);
    const candidate = makeBehaviour(proc);
    post(proc as Proc, {
      t: INIT,
      run: () => {
        const done = (): unknown => {
          proc.behaviour = candidate;
          // Kept for the process's whole life, this waiter would hold the start's closures and promise.
          proc.exitWaiters = kept(proc.exitWaiters, (waiter) => waiter !== failed);
          resolve(ok(pid));
          return proc.commitStop();
        };
        const started = candidate.init();
        return isPromise(started) ? started.then(done) : done();
      },
    });
  });
}

/** The root of a tree: a parent with no supervisor. */
export function rootParent(log: Logger, path = ''): Parent {
  return { path, log };
}

/** A parent for the children of a supervisor process. */
export function childParent(ctx: Ctx<Protocol>): Parent {
  return { path: ctx.self.path, log: ctx.proc.baseLog, supervisor: ctx.proc };
}
