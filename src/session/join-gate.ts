import { err, ok, type Result } from '../../supervision/result.js';
import { JoinQueue, type JoinLimits } from './join-queue.js';

/**
 * The node's joins through JoinQueue: a join awaits its turn, and either runs
 * (then releases it, whatever happened) or is shed. One per node, shared by
 * every Session; the queue decides, this only keeps the promises and the timer
 * that sheds waiters nothing else wakes.
 */

export type Turn = Result<() => void, { readonly reason: 'overloaded' }>;
type Wake = (turn: Turn) => void;

const SHED: Turn = err({ reason: 'overloaded' });

export class JoinGate {
  private readonly queue: JoinQueue<Wake>;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    limits: JoinLimits,
    private readonly now: () => number = () => performance.now(),
  ) {
    this.queue = new JoinQueue(limits);
  }

  get queued(): number {
    return this.queue.queued;
  }

  enter(): Promise<Turn> {
    return new Promise<Turn>((wake) => {
      const admission = this.queue.admit(wake, this.now());
      if (admission === 'start') wake(ok(this.release()));
      else if (admission === 'shed') wake(SHED);
      else this.arm();
    });
  }

  /** The turn's release: once, however often it is called. */
  private release(): () => void {
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const { start, shed } = this.queue.finish(this.now());
      for (const wake of shed) wake(SHED);
      for (const wake of start) wake(ok(this.release()));
      this.arm();
    };
  }

  /**
   * A timer for the oldest waiter's deadline. The head's deadline only moves
   * later as waiters leave, so a timer armed for an earlier one just fires early and re-arms.
   */
  private arm(): void {
    const deadline = this.queue.nextDeadline;
    if (this.timer !== undefined || deadline === undefined) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      for (const wake of this.queue.expire(this.now())) wake(SHED);
      this.arm();
    }, Math.max(0, deadline - this.now()));
    // Waiters are Sessions' business: they must not keep a stopping node's event loop alive.
    this.timer.unref();
  }
}
