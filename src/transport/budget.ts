import { fullBucket, take, type Bucket, type RateLimit } from './rate-limit.js';

/**
 * What one socket may send, decided in the uWS message callback before a frame
 * is decoded or queued, so that abuse is refused before it costs anything.
 * Every frame but a heartbeat takes a token from the socket's bucket; joins also
 * take one from a bucket of their own; heartbeats have a small allowance apart,
 * so a client at its limit is still kept alive. A refusal uses up patience,
 * which comes back at the push rate: a socket that keeps sending past its limit
 * runs out of it and is closed. Pure, the clock passed in.
 */

interface BudgetLimits {
  readonly frames: RateLimit;
  readonly joins: RateLimit;
  /** Refusals a socket may collect before it is closed; they come back at the push rate. */
  readonly patience: RateLimit;
}

export type FrameKind = 'heartbeat' | 'join' | 'push';
type Verdict = 'admit' | 'refuse' | 'close';

/** phoenix.js beats every 30 s; this is room for a client that beats every second. */
const HEARTBEATS: RateLimit = { perSecond: 1, burst: 5 };

/** Made once for every socket: patience is never fewer refusals than a rejoin storm may meet. */
export const budgetLimits = (frames: RateLimit, joins: RateLimit): BudgetLimits => ({
  frames,
  joins,
  patience: { perSecond: frames.perSecond, burst: Math.max(50, 4 * frames.burst) },
});

export class Budget {
  private readonly frames: Bucket;
  private readonly joins: Bucket;
  private readonly heartbeats: Bucket;
  private readonly patience: Bucket;

  constructor(
    private readonly limits: BudgetLimits,
    now: number,
  ) {
    this.frames = fullBucket(limits.frames, now);
    this.joins = fullBucket(limits.joins, now);
    this.heartbeats = fullBucket(HEARTBEATS, now);
    this.patience = fullBucket(limits.patience, now);
  }

  admit(kind: FrameKind, now: number): Verdict {
    if (kind === 'heartbeat' && take(this.heartbeats, HEARTBEATS, now)) return 'admit';
    const admitted = take(this.frames, this.limits.frames, now) && (kind !== 'join' || take(this.joins, this.limits.joins, now));
    return admitted ? 'admit' : this.refusal(now);
  }

  /** A frame refused for another reason (its Session's queue is full): it uses up patience all the same. */
  refusal(now: number): 'refuse' | 'close' {
    return take(this.patience, this.limits.patience, now) ? 'refuse' : 'close';
  }
}
