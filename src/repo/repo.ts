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
import { reserveIds, writeBatch, type NewMessage } from './message-batch.js';
import type { StoredMessageRow } from './rows.js';

/**
 * The Repo owns the postgres.js pool; every query in the program goes through it.
 *
 * It never waits on a query in its handler (nact would then serve one request at
 * a time): it starts the query, returns, and replies when a completion message
 * comes back to its own mailbox. Concurrency is bounded by the pool; what cannot
 * start waits in a bounded queue.
 *
 * Message inserts that arrive together are written by one multi-row INSERT
 * (group commit). Up to PIPELINE batches are written at once, but each takes its
 * ids from the sequence before the next one does, and batches complete strictly
 * in that order: callers hear back, and onCommitted callbacks run, in id order.
 * That is what lets a room's broadcasts leave in id order, and a client that has
 * seen id N know that every lower id is already committed.
 */

export type Job<T> = (sql: postgres.Sql) => Promise<T>;

interface InsertRequest {
  readonly message: NewMessage;
  /** Runs inside the Repo, in commit (= id) order, before the caller hears back. */
  readonly onCommitted?: (row: StoredMessageRow) => void;
}

type Call =
  | { readonly type: 'run'; readonly job: Job<unknown> }
  | { readonly type: 'insert_message'; readonly request: InsertRequest }
  | { readonly type: 'stats' };

type BatchResults = ReadonlyArray<Result<StoredMessageRow, RepoError>>;

type Info =
  | { readonly type: 'flush' }
  | { readonly type: 'job_done'; readonly from: From; readonly result: Result<unknown, RepoError> }
  | { readonly type: 'batch_done'; readonly seq: number; readonly results: BatchResults };

type RepoProtocol = { readonly call: Call; readonly cast: never; readonly info: Info };

interface PendingInsert {
  readonly from: From;
  readonly request: InsertRequest;
}

interface PendingJob {
  readonly from: From;
  readonly job: Job<unknown>;
}

interface Flight {
  readonly seq: number;
  readonly items: readonly PendingInsert[];
  results: BatchResults | undefined;
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
  batch: PendingInsert[];
  /** Batches being written, oldest first; they complete in this order. */
  readonly flights: Flight[];
  /** Settles when the newest batch has its ids: the next batch reserves after it. */
  reservations: Promise<unknown>;
  seq: number;
  flushScheduled: boolean;
  batches: number;
  batchedRows: number;
}

export interface RepoArgs {
  readonly url: string;
  readonly poolSize: number;
  readonly timeoutMs: number;
  /** Run once in init with a connection of its own (migrations). */
  readonly onStart?: (sql: postgres.Sql, log: Logger) => Promise<Result<unknown, string>>;
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

function flush(state: State, ctx: RepoCtx): void {
  state.flushScheduled = false;
  while (state.flights.length < PIPELINE && state.batch.length > 0) {
    const items = state.batch.slice(0, MAX_BATCH);
    state.batch = state.batch.slice(items.length);
    const seq = ++state.seq;
    state.flights.push({ seq, items, results: undefined });
    const messages = items.map((item) => item.request.message);
    const reserved = state.reservations.then(() => reserveIds(state.sql, messages.length));
    state.reservations = reserved.catch(() => undefined);
    withTimeout(
      reserved.then((ids) => writeBatch(state.sql, messages, ids)),
      state.args.timeoutMs,
    ).then(
      (results) => send(ctx.self, { type: 'batch_done', seq, results }),
      (error: unknown) => send(ctx.self, { type: 'batch_done', seq, results: messages.map(() => err(classify(error))) }),
    );
  }
}

function deliver(item: PendingInsert, result: Result<StoredMessageRow, RepoError>, ctx: RepoCtx): void {
  if (result.ok) {
    try {
      item.request.onCommitted?.(result.value);
    } catch (error) {
      // The row is stored: a failing callback is the caller's bug, not a reason to lose the reply.
      ctx.log.error({ err: error, id: result.value.id }, 'onCommitted callback failed');
    }
  }
  reply(item.from, result);
}

function onBatchDone(state: State, seq: number, results: BatchResults, ctx: RepoCtx): void {
  const flight = state.flights.find((f) => f.seq === seq);
  if (flight !== undefined) flight.results = results;
  // Only the oldest batch may complete: a younger one that finished first waits for it.
  for (let head = state.flights[0]; head?.results !== undefined; head = state.flights[0]) {
    state.flights.shift();
    const done = head.results;
    if (done.some((r) => r.ok)) {
      state.batches += 1;
      state.batchedRows += head.items.length;
    }
    head.items.forEach((item, i) => deliver(item, done[i] ?? err({ kind: 'query_failed', detail: 'no result' }), ctx));
  }
  flush(state, ctx);
}

const repo: GenServer<RepoArgs, State, RepoProtocol> = {
  async init(args, ctx) {
    const sql = postgres(args.url, {
      max: args.poolSize,
      // The server gives up on a statement when the caller does: a timed-out insert is rolled back, not stored unseen.
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
      batch: [],
      flights: [],
      reservations: Promise.resolve(),
      seq: 0,
      flushScheduled: false,
      batches: 0,
      batchedRows: 0,
    };
  },
  handleCall(message, from, state, ctx) {
    switch (message.type) {
      case 'run':
        if (state.queue.length >= MAX_QUEUE) {
          return { state, reply: err({ kind: 'db_unavailable', detail: 'repo queue full' }) };
        }
        state.queue.push({ from, job: message.job });
        pump(state, ctx);
        return { state, noreply: true };
      case 'insert_message':
        if (state.batch.length >= MAX_QUEUE) {
          return { state, reply: err({ kind: 'db_unavailable', detail: 'repo insert queue full' }) };
        }
        state.batch.push({ from, request: message.request });
        // The flush message queues behind inserts already in the mailbox, so they join this batch.
        if (state.flights.length < PIPELINE && !state.flushScheduled) {
          state.flushScheduled = true;
          send(ctx.self, { type: 'flush' });
        }
        return { state, noreply: true };
      case 'stats': {
        const stats: RepoStats = {
          running: state.running + state.flights.length,
          queued: state.queue.length,
          batchWaiting: state.batch.length,
          poolSize: state.args.poolSize,
          batches: state.batches,
          batchedRows: state.batchedRows,
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
        pump(state, ctx);
        break;
      case 'batch_done':
        onBatchDone(state, message.seq, message.results, ctx);
        break;
      case 'DOWN':
        break;
    }
    return state;
  },
  async terminate(_reason, state) {
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

/** Stores a message through group commit; onCommitted runs in id order inside the Repo. */
export async function insertMessage(
  message: NewMessage,
  onCommitted?: (row: StoredMessageRow) => void,
): Promise<Result<StoredMessageRow, RepoError>> {
  const request: InsertRequest = onCommitted === undefined ? { message } : { message, onCommitted };
  const result = await call<Result<StoredMessageRow, RepoError>, RepoProtocol>(
    REPO,
    { type: 'insert_message', request },
    callTimeout(queryTimeoutMs),
  );
  return result.ok ? result.value : err(fromCallError(result.error));
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
