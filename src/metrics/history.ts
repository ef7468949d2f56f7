import { Ring } from './ring.js';

/**
 * The observer's charts: once a second the sampler reads the same tallies
 * /metrics reads (running totals) and the gauges; this keeps the last 300
 * samples as per-second rates. Pure: the time comes with each reading.
 */

/** One reading: gauges as they are now, counters as running totals since the process started. */
export interface Reading {
  readonly at: number;
  readonly sockets: number;
  readonly sessions: number;
  readonly joins: number;
  readonly messagesIn: number;
  readonly messagesOut: number;
  readonly restarts: number;
}

/** One point of the charts: gauges, and counters as per second since the reading before. */
export type Point = Reading;

export const RATES = ['joins', 'messagesIn', 'messagesOut', 'restarts'] as const;
export const SERIES = ['sockets', 'sessions', ...RATES] as const;
export type SeriesName = (typeof SERIES)[number];

/** Columns, one value per point, oldest first: what the page draws and /admin/stats sends. */
export type Series = { readonly at: number[] } & { readonly [K in SeriesName]: number[] };

export const HISTORY_POINTS = 300;

const perSecond = (delta: number, ms: number): number => Math.round((Math.max(0, delta) * 1000 * 10) / ms) / 10;

export class History {
  private readonly points: Ring<Point>;
  private previous: Reading | undefined = undefined;

  constructor(
    capacity = HISTORY_POINTS,
    /** Ticks that queued up behind a slow one (a restart storm) come in a burst: those closer than this are dropped. */
    private readonly minGapMs = 500,
  ) {
    this.points = new Ring(capacity);
  }

  /** Adds a point from `reading`; the first reading only sets where the rates start. */
  record(reading: Reading): Point | undefined {
    const before = this.previous;
    if (before !== undefined && reading.at - before.at < this.minGapMs) return undefined;
    this.previous = reading;
    const ms = before === undefined ? 0 : reading.at - before.at;
    if (before === undefined) return undefined;
    const point: Point = {
      at: reading.at,
      sockets: reading.sockets,
      sessions: reading.sessions,
      joins: perSecond(reading.joins - before.joins, ms),
      messagesIn: perSecond(reading.messagesIn - before.messagesIn, ms),
      messagesOut: perSecond(reading.messagesOut - before.messagesOut, ms),
      restarts: perSecond(reading.restarts - before.restarts, ms),
    };
    this.points.push(point);
    return point;
  }

  latest(): Point | undefined {
    return this.points.last();
  }

  series(): Series {
    const points = this.points.toArray();
    const column = (key: keyof Point): number[] => points.map((p) => p[key]);
    return {
      at: column('at'),
      sockets: column('sockets'),
      sessions: column('sessions'),
      joins: column('joins'),
      messagesIn: column('messagesIn'),
      messagesOut: column('messagesOut'),
      restarts: column('restarts'),
    };
  }
}
