/**
 * A token bucket: `burst` at once, refilled at `perSecond`. Pure data, kept by
 * the socket's budget (src/endpoint/budget.ts), so a restarted Session changes nothing.
 */
export interface Bucket {
  tokens: number;
  at: number;
}

export interface RateLimit {
  readonly perSecond: number;
  readonly burst: number;
}

export const fullBucket = (limit: RateLimit, now: number): Bucket => ({ tokens: limit.burst, at: now });

/** Takes one token if there is one; false means the push is over the limit. */
export function take(bucket: Bucket, limit: RateLimit, now: number): boolean {
  bucket.tokens = Math.min(limit.burst, bucket.tokens + ((now - bucket.at) / 1000) * limit.perSecond);
  bucket.at = now;
  if (bucket.tokens < 1) return false;
  bucket.tokens -= 1;
  return true;
}
