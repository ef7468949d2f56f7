import type { Logger } from 'pino';
import postgres from 'postgres';
import {
  call,
  name,
  reply,
  send,
  startServer,
  type ChildSpec,
  type Ctx,
  type From,
  type GenServer,
} from '../../supervision/index.js';
import { err, ok, type Result } from '../../supervision/result.js';
import { classify, fromCallError, type RepoError } from './errors.js';
import { freshRows, GroupCommit, type Completion } from './group-commit.js';
import { writeBatch, type InCommitNotify, type NewMessage, type Stored } from './message-batch.js';
import { probeUntilUp } from './probe.js';
import type { MessageRow, StoredMessageRow } from './rows.js';

/**
 * The Repo owns the postgres.js pool; every query in the program goes through it.
 *
 * It never waits on a query in its handler (nact would then serve one request at
 * a time): it starts the query, returns, and replies when a completion message
 * comes back to its own mailbox. Concurrency is bounded by the pool; what cannot
 * start waits in a bounded queue.
 *
 * Message inserts that arrive together are written by one multi-row INSERT
 * (group commit), each batch in a transaction that holds its rooms' locks (see
 * message-batch.ts), up to PIPELINE batches at once: within a room, ids follow
 * commit order on every node. So a client that has seen id N of a room has
 * seen, or can read, every lower id of it. What was stored goes to the sink
 * the Repo is given at start (application.ts wires it to PubSub): on one node
 * `onCommitted`, once committed, in id order; with CLUSTER=1 `notifyInCommit`,
 * NOTIFYs made inside the transaction, which every node, this one too, delivers
 * when they come back, so all nodes deliver a room in id order.
 */

export type Job<T> = (sql: postgres.Sql) => Promise<T>;

type Call =
  | { readonly type: 'run'; readonly job: Job<unknown> }
  | { readonly type: 'insert_message'; readonly message: NewMessage }
  | { readonly type: 'settled' }
  | { readonly type: 'stats' };

type BatchResults = ReadonlyArray<Result<Stored, RepoError>>;

type Info =
  | { readonly type: 'flush' }
  | { readonly type: 'job_done'; readonly from: From; readonly result: Result<unknown, RepoError> }
  | { readonly type: 'batch_done'; readonly id: number; readonly results: BatchResults }
  | { readonly type: 'batch_timeout'; readonly id: number }
  | { readonly type: 'db_up' };

type RepoProtocol = { readonly call: Call; readonly cast: never; readonly info: Info };

interface PendingJob {
  readonly from: From;
  readonly job: Job<unknown>;
}

export interface RepoStats {
  readonly running: number;
  readonly queued: number;
  readonly batchWaiting: number;
  readonly poolSize: number;
  readonly batches: number;
  readonly batchedRows: number;
}

interface State {
  readonly sql: postgres.Sql;
  readonly args: RepoArgs;
  running: number;
  readonly queue: PendingJob[];
  /** What goes in which batch, and what completes when (pure; this actor runs what it decides). */
  readonly commits: GroupCommit<From>;
  /** Settles once the newest batch holds its rooms and ids: the next one starts after it. */
  locked: Promise<void>;
  /** Set while the database is taken for down (the breaker is open): how to stop probing it. */
  stopProbe: (() => void) | undefined;
}

export interface RepoArgs {
  readonly url: string;
  readonly poolSize: number;
  readonly timeoutMs: number;
  /** Run once in init with a connection of its own (migrations). */
  readonly onStart?: (sql: postgres.Sql, log: Logger) => Promise<Result<unknown, string>>;
  /** Told of the messages each batch stored, once committed, in id order (never of a repeat, nor of a failed row). */
  readonly onCommitted?: (rows: readonly MessageRow[]) => void;
  /** CLUSTER=1, instead: NOTIFYs on `channel`, made of the stored messages inside the transaction that stores them. */
  readonly notifyInCommit?: { readonly channel: string; readonly payloads: (rows: readonly MessageRow[]) => readonly string[] };
}

const REPO = name<RepoProtocol>('repo');
const MAX_QUEUE = 10_000;
const MAX_BATCH = 1_000;
const PIPELINE = 3;

type RepoCtx = Ctx<RepoProtocol>;

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(Object.assign(new Error(`no answer within ${ms} ms`), { code: 'TIMEOUT' })), ms);
    promise.then(
      (value) => {
        clearTimeout(timer);
        resolve(value);
      },
      (error: unknown) => {
        clearTimeout(timer);
        reject(error);
      },
    );
  });
}

const DOWN = err({ reason: 'db_unavailable' as const, detail: 'database down; retrying it' });

/**
 * The breaker: after a query fails for want of the database (connection lost,
 * refused, timed out, shutting down), new calls get db_unavailable at once
 * rather than each waiting its timeout, and those waiting to start are told so
 * now, until a probe gets an answer.
 */
function trip(state: State, ctx: RepoCtx, error: RepoError): void {
  if (error.reason !== 'db_unavailable' || state.stopProbe !== undefined) return;
  ctx.log.warn({ detail: error.detail }, 'database unavailable; answering db_unavailable until it is back');
  state.stopProbe = probeUntilUp(state.args.url, state.args.timeoutMs, () => send(ctx.self, { type: 'db_up' }));
  for (const job of state.queue.splice(0)) reply(job.from, DOWN);
  for (const from of state.commits.drain()) reply(from, DOWN);
}

/** Plain jobs leave room in the pool for the batches being written. */
const jobSlots = (state: State): number => Math.max(1, state.args.poolSize - PIPELINE);

function pump(state: State, ctx: RepoCtx): void {
  while (state.running < jobSlots(state) && state.queue.length > 0) {
    const next = state.queue.shift();
    if (next === undefined) return;
    state.running += 1;
    withTimeout(next.job(state.sql), state.args.timeoutMs).then(
      (value) => send(ctx.self, { type: 'job_done', from: next.from, result: ok(value) }),
      (error: unknown) => send(ctx.self, { type: 'job_done', from: next.from, result: err(classify(error)) }),
    );
  }
}

/** The sink is the application's code: if it throws, the messages are still stored and their callers still hear back. */
function tell<T>(ctx: RepoCtx, fallback: T, sink: () => T): T {
  try {
    return sink();
  } catch (error) {
    ctx.log.error({ err: error }, 'the sink of stored messages failed');
    return fallback;
  }
}

/** NOTIFY payloads for the rows a batch stored, made inside its transaction (CLUSTER=1). */
function inCommitNotify(state: State, ctx: RepoCtx): InCommitNotify | undefined {
  const inCommit = state.args.notifyInCommit;
  if (inCommit === undefined) return undefined;
  return {
    channel: inCommit.channel,
    payloads: (messages, stored) => tell(ctx, [], () => inCommit.payloads(freshRows(messages.map((message) => ({ message })), stored))),
  };
}

/**
 * Writes the batches the pipeline hands out. Each starts once the one before it
 * holds its rooms' locks and its ids, so ids follow the order batches were
 * made, and batches sharing a room commit in that order.
 */
function flush(state: State, ctx: RepoCtx): void {
  for (const batch of state.commits.start()) {
    const previous = state.locked;
    let locked = (): void => {};
    state.locked = new Promise<void>((resolve) => (locked = resolve));
    const timer = setTimeout(() => send(ctx.self, { type: 'batch_timeout', id: batch.id }), state.args.timeoutMs);
    previous
      .then(() => writeBatch(state.sql, batch.items.map((item) => item.message), inCommitNotify(state, ctx), locked))
      .catch((error: unknown) => batch.items.map(() => err(classify(error))))
      .then((results) => {
        locked();
        clearTimeout(timer);
        send(ctx.self, { type: 'batch_done', id: batch.id, results });
      });
  }
}

function carryOut(state: State, done: Completion<From>, ctx: RepoCtx): void {
  // Its callers were told it failed, but it was stored: it is announced all the same, as it is to every other node.
  if (done.timedOut && done.stored.length > 0) ctx.log.warn({ rows: done.stored.length }, 'a batch was stored after its callers timed out');
  const onCommitted = state.args.onCommitted;
  if (onCommitted !== undefined && state.args.notifyInCommit === undefined && done.stored.length > 0) tell(ctx, undefined, () => onCommitted(done.stored));
  for (const [from, result] of done.replies) reply(from, result);
  for (const from of done.settled) reply(from, undefined);
}

const repo: GenServer<RepoArgs, State, RepoProtocol> = {
  async init(args, ctx) {
    const sql = postgres(args.url, {
      max: args.poolSize,
      // Every statement is bounded on the server too: a stuck batch ends, and those queued behind it go on.
      connection: { statement_timeout: args.timeoutMs },
      connect_timeout: Math.max(1, Math.ceil(args.timeoutMs / 1000)),
      idle_timeout: 60,
      onnotice: () => {},
    });
    ctx.owns(() => void sql.end({ timeout: 0 }));
    if (args.onStart !== undefined) {
      const started = await args.onStart(sql, ctx.log);
      if (!started.ok) throw new Error(started.error);
    }
    ctx.log.info({ poolSize: args.poolSize }, 'repo ready');
    return {
      sql,
      args,
      running: 0,
      queue: [],
      commits: new GroupCommit<From>({ maxQueue: MAX_QUEUE, maxBatch: MAX_BATCH, pipeline: PIPELINE }),
      locked: Promise.resolve(),
      stopProbe: undefined,
    };
  },
  handleCall(message, from, state, ctx) {
    if (state.stopProbe !== undefined && (message.type === 'run' || message.type === 'insert_message')) return { state, reply: DOWN };
    switch (message.type) {
      case 'run':
        if (state.queue.length >= MAX_QUEUE) {
          return { state, reply: err({ reason: 'db_unavailable', detail: 'repo queue full' }) };
        }
        state.queue.push({ from, job: message.job });
        pump(state, ctx);
        return { state, noreply: true };
      case 'insert_message': {
        const admitted = state.commits.add(from, message.message);
        if (admitted === 'full') return { state, reply: err({ reason: 'db_unavailable', detail: 'repo insert queue full' }) };
        // The flush message queues behind inserts already in the mailbox, so they join this batch.
        if (admitted === 'flush') send(ctx.self, { type: 'flush' });
        return { state, noreply: true };
      }
      case 'settled':
        return state.commits.settle(from) ? { state, reply: undefined } : { state, noreply: true };
      case 'stats': {
        const stats: RepoStats = {
          running: state.running + state.commits.inFlight,
          queued: state.queue.length,
          batchWaiting: state.commits.queued,
          poolSize: state.args.poolSize,
          batches: state.commits.batches,
          batchedRows: state.commits.batchedRows,
        };
        return { state, reply: stats };
      }
    }
  },
  handleInfo(message, state, ctx) {
    switch (message.type) {
      case 'flush':
        flush(state, ctx);
        break;
      case 'job_done':
        state.running -= 1;
        reply(message.from, message.result);
        if (!message.result.ok) trip(state, ctx, message.result.error);
        pump(state, ctx);
        break;
      case 'db_up':
        state.stopProbe = undefined;
        ctx.log.info('database answers again');
        pump(state, ctx);
        break;
      case 'batch_done': {
        for (const result of message.results) if (!result.ok) trip(state, ctx, result.error);
        for (const done of state.commits.finish(message.id, message.results)) carryOut(state, done, ctx);
        flush(state, ctx);
        break;
      }
      case 'batch_timeout': {
        const told = state.commits.timeout(message.id);
        if (told.length === 0) break;
        const error = { reason: 'db_unavailable' as const, detail: `no answer within ${state.args.timeoutMs} ms` };
        for (const from of told) reply(from, err(error));
        trip(state, ctx, error);
        break;
      }
      case 'DOWN':
        break;
    }
    return state;
  },
  async terminate(_reason, state) {
    state.stopProbe?.();
    await state.sql.end({ timeout: 5 });
  },
};

export function repoSpec(args: RepoArgs): ChildSpec {
  queryTimeoutMs = args.timeoutMs;
  return {
    id: 'repo',
    start: (parent) => startServer(repo, args, { parent, id: 'repo', register: REPO.registered }),
  };
}

// Callers wait a little longer than the Repo's own query timeout, so the Repo's answer wins.
const callTimeout = (ms: number) => ms + 1_000;
let queryTimeoutMs = 5_000;

/** Runs a query job on the pool. Errors (database down, Repo restarting, constraint) come back as values. */
export async function run<T>(job: Job<T>): Promise<Result<T, RepoError>> {
  const result = await call<Result<T, RepoError>, RepoProtocol>(REPO, { type: 'run', job: job as Job<unknown> }, callTimeout(queryTimeoutMs));
  return result.ok ? result.value : err(fromCallError(result.error));
}

/**
 * Stores a message through group commit. Once it is committed the sink is told
 * of it, in id order with a room's others; never of a message not stored.
 */
export async function insertMessage(message: NewMessage): Promise<Result<StoredMessageRow, RepoError>> {
  const result = await call<Result<StoredMessageRow, RepoError>, RepoProtocol>(REPO, { type: 'insert_message', message }, callTimeout(queryTimeoutMs));
  return result.ok ? result.value : err(fromCallError(result.error));
}

/**
 * Resolves once the sink has been told of every message committed when it was
 * called (on one node: onCommitted has returned). A join that read history calls it so that it
 * never subscribes ahead of the broadcast of a message the history holds.
 */
export async function settled(): Promise<Result<void, RepoError>> {
  const result = await call<void, RepoProtocol>(REPO, { type: 'settled' }, callTimeout(queryTimeoutMs));
  return result.ok ? ok(undefined) : err(fromCallError(result.error));
}

export async function stats(): Promise<Result<RepoStats, RepoError>> {
  const result = await call<RepoStats, RepoProtocol>(REPO, { type: 'stats' });
  return result.ok ? result : err(fromCallError(result.error));
}

/** Whether the database answers within `timeoutMs` (for /health). */
export function ping(timeoutMs: number): Promise<boolean> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(false), timeoutMs);
    void run((sql) => sql`select 1`).then((result) => {
      clearTimeout(timer);
      resolve(result.ok);
    });
  });
}
