/**
 * Admission of joins on one node: at most `concurrent` in progress, up to
 * `waiting` more waiting their turn in arrival order, the rest shed at once,
 * and a waiter shed once it has waited `maxWaitMs`. A reconnect storm brings
 * every client of a dead node back in the same second; each join costs
 * database queries (sign-in, history), and unbounded, they would queue in the
 * Repo until their calls time out, still be run after their callers gave up,
 * and the retries would queue behind them. Bounded, the database works at its
 * pace on joins that will be answered, and the rest are told to come back
 * (their clients retry with backoff). Pure: the clock is passed in.
 */
import { Fifo } from '../../supervision/fifo.js';

export interface JoinLimits {
  readonly concurrent: number;
  readonly waiting: number;
  readonly maxWaitMs: number;
}

interface Waiter<T> {
  readonly item: T;
  readonly since: number;
}

export type Admission = 'start' | 'wait' | 'shed';

export class JoinQueue<T> {
  private running = 0;
  private readonly waiters = new Fifo<Waiter<T>>();

  constructor(private readonly limits: JoinLimits) {}

  get inProgress(): number {
    return this.running;
  }

  get queued(): number {
    return this.waiters.length;
  }

  /** The moment the oldest waiter is due to be shed; undefined when none waits. */
  get nextDeadline(): number | undefined {
    const oldest = this.waiters.peek();
    return oldest === undefined ? undefined : oldest.since + this.limits.maxWaitMs;
  }

  admit(item: T, now: number): Admission {
    // Nobody overtakes a waiter: a slot freed is handed on in finish().
    if (this.running < this.limits.concurrent && this.queued === 0) {
      this.running += 1;
      return 'start';
    }
    if (this.queued >= this.limits.waiting) return 'shed';
    this.waiters.push({ item, since: now });
    return 'wait';
  }

  /** A join in progress is over: the waiters that start in its place, and those that waited too long. */
  finish(now: number): { readonly start: readonly T[]; readonly shed: readonly T[] } {
    this.running = Math.max(0, this.running - 1);
    const shed = this.expire(now);
    const start: T[] = [];
    while (this.running < this.limits.concurrent) {
      const waiter = this.waiters.shift();
      if (waiter === undefined) break;
      start.push(waiter.item);
      this.running += 1;
    }
    return { start, shed };
  }

  /** Waiters past their wait, oldest first (they are at the head: arrival order is deadline order). */
  expire(now: number): T[] {
    const shed: T[] = [];
    for (let oldest = this.waiters.peek(); oldest !== undefined && now - oldest.since >= this.limits.maxWaitMs; oldest = this.waiters.peek()) {
      this.waiters.shift();
      shed.push(oldest.item);
    }
    return shed;
  }
}
