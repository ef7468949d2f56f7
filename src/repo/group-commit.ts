import { err, type Result } from '../../supervision/result.js';
import type { RepoError } from './errors.js';
import type { NewMessage, Stored } from './message-batch.js';
import type { MessageRow } from './rows.js';

/**
 * Group commit as pure state, beside the Repo actor that runs it (as the
 * presence tracker's state beside its actor): inserts that arrive together
 * make one batch, up to `pipeline` batches are written at once, and batches
 * complete (callers answered, stored rows told to the sink) strictly in the
 * order they were made, even when a younger one finishes first, so a room's
 * rows are announced in id order. A timed-out batch's callers are told at
 * once; its rows still go to the sink when it ends, and those after it wait.
 *
 * `C` is whoever waits for an answer: the actor's `From`, or a plain value in tests.
 */

export interface Limits {
  /** Inserts that may wait for a batch; past it an insert is refused. */
  readonly maxQueue: number;
  readonly maxBatch: number;
  /** Batches written at once. */
  readonly pipeline: number;
}

interface Pending<C> {
  readonly caller: C;
  readonly message: NewMessage;
}

export interface Batch<C> {
  readonly id: number;
  readonly items: ReadonlyArray<Pending<C>>;
}

type Results = ReadonlyArray<Result<Stored, RepoError>>;

interface Flight<C> extends Batch<C> {
  results: Results | undefined;
  timedOut: boolean;
  /** Waiters answered once this batch and those before it have completed. */
  readonly settled: C[];
}

/** What one batch's end comes to. */
export interface Completion<C> {
  /** Empty for a batch whose callers were already told it timed out. */
  readonly replies: ReadonlyArray<readonly [C, Result<Stored, RepoError>]>;
  /** What the sink is told: rows newly stored, in the batch's (id) order. */
  readonly stored: readonly MessageRow[];
  readonly settled: readonly C[];
  readonly timedOut: boolean;
}

export type Admission = 'queued' | 'flush' | 'full';

const NO_RESULT = err({ reason: 'query_failed' as const, detail: 'no result' });

/** Rows newly stored by a batch: a repeat (same user and nonce) was told of when it was first stored. */
export function freshRows(items: ReadonlyArray<{ readonly message: NewMessage }>, stored: ReadonlyArray<Stored | undefined>): MessageRow[] {
  return items.flatMap((item, i) => {
    const row = stored[i];
    return row === undefined || row.repeated === true ? [] : [{ ...row, user_name: item.message.userName }];
  });
}

export class GroupCommit<C> {
  private waiting: Array<Pending<C>> = [];
  /** Oldest first: the order they complete in. */
  private readonly flights: Array<Flight<C>> = [];
  private flushScheduled = false;
  private nextId = 1;
  batches = 0;
  batchedRows = 0;

  constructor(private readonly limits: Limits) {}

  get queued(): number {
    return this.waiting.length;
  }

  get inFlight(): number {
    return this.flights.length;
  }

  /** `flush`: the caller should start batches once the inserts already in its mailbox are queued too. */
  add(caller: C, message: NewMessage): Admission {
    if (this.waiting.length >= this.limits.maxQueue) return 'full';
    this.waiting.push({ caller, message });
    if (this.flushScheduled || this.flights.length >= this.limits.pipeline) return 'queued';
    this.flushScheduled = true;
    return 'flush';
  }

  /** The batches to write now, oldest first. */
  start(): Array<Batch<C>> {
    this.flushScheduled = false;
    const started: Array<Batch<C>> = [];
    while (this.flights.length < this.limits.pipeline && this.waiting.length > 0) {
      const items = this.waiting.slice(0, this.limits.maxBatch);
      this.waiting = this.waiting.slice(items.length);
      const flight: Flight<C> = { id: this.nextId++, items, results: undefined, timedOut: false, settled: [] };
      this.flights.push(flight);
      started.push(flight);
    }
    return started;
  }

  /** A batch's results (one per item, in order); what completes now, oldest first. */
  finish(id: number, results: Results): Array<Completion<C>> {
    const flight = this.flights.find((f) => f.id === id);
    if (flight === undefined || flight.results !== undefined) return [];
    flight.results = results;
    const done: Array<Completion<C>> = [];
    for (let head = this.flights[0]; head?.results !== undefined; head = this.flights[0]) {
      this.flights.shift();
      done.push(this.complete(head, head.results));
    }
    return done;
  }

  /** The batch took too long: its callers, to be told now. It still completes, in its turn, when it ends. */
  timeout(id: number): C[] {
    const flight = this.flights.find((f) => f.id === id);
    if (flight === undefined || flight.results !== undefined || flight.timedOut) return [];
    flight.timedOut = true;
    return flight.items.map((item) => item.caller);
  }

  /** true: answer now (nothing is being written); else the waiter is answered with the newest batch's completion. */
  settle(caller: C): boolean {
    const newest = this.flights.at(-1);
    if (newest === undefined) return true;
    newest.settled.push(caller);
    return false;
  }

  /** The database is down: the inserts not yet in a batch, to be refused now. */
  drain(): C[] {
    return this.waiting.splice(0).map((item) => item.caller);
  }

  private complete(flight: Flight<C>, results: Results): Completion<C> {
    if (results.some((r) => r.ok)) {
      this.batches += 1;
      this.batchedRows += flight.items.length;
    }
    const stored = freshRows(flight.items, results.map((r) => (r.ok ? r.value : undefined)));
    const replies = flight.timedOut ? [] : flight.items.map((item, i) => [item.caller, results[i] ?? NO_RESULT] as const);
    return { replies, stored, settled: flight.settled, timedOut: flight.timedOut };
  }
}
