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
import { insertBatch, insertOne, type NewMessage } from './message-batch.js';
import type { StoredMessageRow } from './rows.js';

/**
 * The Repo owns the postgres.js pool; every query in the program goes through it.
 *
 * It never waits on a query in its handler (nact would then serve one request at
 * a time): it starts the query, returns, and replies when a completion message
 * comes back to its own mailbox. Concurrency is bounded by the pool; what cannot
 * start waits in a bounded queue. Message inserts that arrive together are
 * written by one multi-row INSERT (group commit), one batch at a time, so ids are
 * committed in increasing order and each batch's onCommitted callbacks run in id
 * order: that is what lets a room's broadcasts leave in id order.
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

type Info =
  | { readonly type: 'flush' }
  | { readonly type: 'job_done'; readonly from: From; readonly result: Result<unknown, RepoError> }
  | { readonly type: 'batch_done'; readonly items: readonly PendingInsert[]; readonly rows: Result<StoredMessageRow[], unknown> }
  | { readonly type: 'isolated_done'; readonly item: PendingInsert; readonly row: Result<StoredMessageRow, RepoError> };

type RepoProtocol = { readonly call: Call; readonly cast: never; readonly info: Info };

interface PendingInsert {
  readonly from: From;
  readonly request: InsertRequest;
}

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
  batch: PendingInsert[];
  batchInFlight: boolean;
  /** Rows of a failed batch being written one by one (the batch stays "in flight" meanwhile). */
  isolating: readonly PendingInsert[];
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

/** The pool is shared by plain jobs and the one batch in flight; one connection is kept for the batch. */
const jobSlots = (state: State): number => Math.max(1, state.args.poolSize - 1);

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
  if (state.batchInFlight || state.batch.length === 0) return;
  const items = state.batch.slice(0, MAX_BATCH);
  state.batch = state.batch.slice(items.length);
  state.batchInFlight = true;
  withTimeout(
    insertBatch(
      state.sql,
      items.map((item) => item.request.message),
    ),
    state.args.timeoutMs,
  ).then(
    (rows) => send(ctx.self, { type: 'batch_done', items, rows: ok(rows) }),
    (error: unknown) => send(ctx.self, { type: 'batch_done', items, rows: err(error) }),
  );
}

function commitRow(item: PendingInsert, row: StoredMessageRow, ctx: RepoCtx): void {
  try {
    item.request.onCommitted?.(row);
  } catch (error) {
    // The row is stored: a failing callback is the caller's bug, not a reason to lose the reply.
    ctx.log.error({ err: error, id: row.id }, 'onCommitted callback failed');
  }
  reply(item.from, ok(row));
}

function onBatchDone(state: State, message: Extract<Info, { type: 'batch_done' }>, ctx: RepoCtx): void {
  state.batchInFlight = false;
  if (message.rows.ok) {
    state.batches += 1;
    state.batchedRows += message.items.length;
    message.items.forEach((item, index) => {
      const row = message.rows.ok ? message.rows.value[index] : undefined;
      if (row !== undefined) commitRow(item, row, ctx);
    });
  } else {
    const error = classify(message.rows.error);
    if (error.kind === 'db_unavailable' || message.items.length === 1) {
      for (const item of message.items) reply(item.from, err(error));
    } else {
      // One bad row fails the whole statement; write them one by one so only it fails.
      ctx.log.warn({ rows: message.items.length, detail: error.detail }, 'batch insert failed; isolating rows');
      state.isolating = message.items;
      isolateNext(state, ctx);
      return;
    }
  }
  flush(state, ctx);
}

/** Writes a failed batch's rows one at a time, in order, so callbacks keep id order. */
function isolateNext(state: State, ctx: RepoCtx): void {
  const [item, ...rest] = state.isolating;
  state.isolating = rest;
  if (item === undefined) {
    state.batchInFlight = false;
    flush(state, ctx);
    return;
  }
  state.batchInFlight = true;
  withTimeout(insertOne(state.sql, item.request.message), state.args.timeoutMs).then(
    (row) => send(ctx.self, { type: 'isolated_done', item, row: ok(row) }),
    (error: unknown) => send(ctx.self, { type: 'isolated_done', item, row: err(classify(error)) }),
  );
}

const repo: GenServer<RepoArgs, State, RepoProtocol> = {
  async init(args, ctx) {
    const sql = postgres(args.url, {
      max: args.poolSize,
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
      batchInFlight: false,
      isolating: [],
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
        if (!state.batchInFlight && !state.flushScheduled) {
          state.flushScheduled = true;
          send(ctx.self, { type: 'flush' });
        }
        return { state, noreply: true };
      case 'stats': {
        const stats: RepoStats = {
          running: state.running + (state.batchInFlight ? 1 : 0),
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
        onBatchDone(state, message, ctx);
        break;
      case 'isolated_done':
        if (message.row.ok) commitRow(message.item, message.row.value, ctx);
        else reply(message.item.from, err(message.row.error));
        isolateNext(state, ctx);
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
