/**
 * A log-bucketed histogram of durations in milliseconds: ~1% resolution from
 * 1 us to 1,000 s in under 2,100 counters, so a worker can record millions of
 * latencies in constant memory and the parent can merge workers by adding.
 */

const MIN_MS = 0.001;
const GROWTH = 1.01;
const LOG_GROWTH = Math.log(GROWTH);
const BUCKETS = Math.ceil(Math.log(1_000_000 / MIN_MS) / LOG_GROWTH) + 1;

interface HistogramData {
  readonly counts: number[];
  readonly max: number;
}

export class Histogram {
  readonly counts = new Array<number>(BUCKETS).fill(0);
  max = 0;
  total = 0;

  record(ms: number): void {
    const value = Math.max(ms, MIN_MS);
    const bucket = Math.min(BUCKETS - 1, Math.floor(Math.log(value / MIN_MS) / LOG_GROWTH));
    this.counts[bucket]! += 1;
    this.total += 1;
    if (ms > this.max) this.max = ms;
  }

  merge(data: HistogramData): void {
    data.counts.forEach((count, i) => {
      this.counts[i]! += count;
      this.total += count;
    });
    this.max = Math.max(this.max, data.max);
  }

  /** Upper edge of the bucket holding the q-quantile (q in 0..1); undefined when empty. */
  quantile(q: number): number | undefined {
    if (this.total === 0) return undefined;
    const rank = Math.max(1, Math.ceil(q * this.total));
    let seen = 0;
    for (let i = 0; i < BUCKETS; i++) {
      seen += this.counts[i]!;
      if (seen >= rank) return Math.min(this.max, MIN_MS * GROWTH ** (i + 1));
    }
    return this.max;
  }

  /** For IPC and --json: a plain object the parent can merge. */
  toJSON(): HistogramData {
    return { counts: this.counts, max: this.max };
  }
}
