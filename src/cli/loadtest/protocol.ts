import { z } from 'zod';

/**
 * What the load tester's parent and its worker processes say to each other over
 * the IPC channel. Both sides parse what they receive: a worker that dies half
 * way through writing, or a version mismatch, must be an error, not a NaN.
 */

const histogram = z.object({ counts: z.array(z.number()), max: z.number() });
const n = z.number().int().nonnegative();

const planSchema = z.object({
  worker: n,
  workers: z.number().int().positive(),
  runId: z.string(),
  /** Names users lt<usersId>u<n>, each with a token of that id: the run id unless asked otherwise. */
  usersId: z.string(),
  wsUrl: z.string(),
  /** Global socket indices of this worker: worker, worker + workers, ... below sockets. */
  sockets: n,
  rooms: z.number().int().positive(),
  senders: n,
  /** Messages/s per sender; 0 = as fast as accepted (one push in flight). */
  ratePerSender: z.number().nonnegative(),
  /** Connections/s for this worker. */
  ramp: z.number().positive(),
  /** Source addresses to spread this worker's sockets over; empty = let the kernel pick. */
  localAddresses: z.array(z.string()),
  bodyBytes: z.number().int().positive(),
  pushTimeoutMs: z.number().int().positive(),
});
export type Plan = z.infer<typeof planSchema>;

export const toWorkerSchema = z.discriminatedUnion('type', [
  z.object({ type: z.literal('plan'), plan: planSchema }),
  /** Start sending: stop after `durationMs` or after `quota` messages of global senders (index -> count). */
  z.object({ type: z.literal('send'), durationMs: z.number().nonnegative(), quotas: z.record(z.string(), n).optional() }),
  z.object({ type: z.literal('report') }),
  z.object({ type: z.literal('close') }),
]);
export type ToWorker = z.infer<typeof toWorkerSchema>;

const progressSchema = z.object({
  opened: n,
  connected: n,
  joined: n,
  joinFailures: n,
  /** Messages the first joins' replies held: the rooms' history. */
  history: n,
  /** Sockets whose first join is answered or whose connection failed: the ramp is over when all are. */
  settled: n,
  sent: n,
  accepted: n,
  refused: n,
  unanswered: n,
  skipped: n,
  delivered: n,
  doubled: n,
  restarts: n,
  rejoins: n,
  /** Sockets that got an announcement (each counted once per announcement), and the ones that got one again. */
  announced: n,
  announceDoubled: n,
  /** Presence frames received, and their bytes. */
  presenceFrames: n,
  presenceBytes: n,
  /** Outages: a joined socket dropped by the server (closed, or its node died), counted once until it has rejoined. */
  dropped: n,
  /** Outages over: the dropped socket rejoined and its catch-up came. */
  recovered: n,
  errors: z.record(z.string(), n),
  sendingDone: z.boolean(),
});
export type Progress = z.infer<typeof progressSchema>;

const reportSchema = z.object({
  progress: progressSchema,
  connectMs: histogram,
  joinMs: histogram,
  latencyMs: histogram,
  /** From the announcement's `at` (the server's clock, this machine's) to its arrival. */
  announceMs: histogram,
  recoveryMs: histogram,
  /** room index -> sockets of this worker joined when sending began. */
  members: z.record(z.string(), n),
  /** key -> [room index, outcome]. */
  sentMessages: z.record(z.string(), z.tuple([n, z.enum(['ok', 'error', 'timeout'])])),
  /** key -> members of this worker that got it (once). */
  deliveries: z.record(z.string(), n),
  refusedReasons: z.record(z.string(), n),
  /** Monotonic-clock microseconds (the same clock in every process): rates are timed from these, not from progress ticks. */
  firstSendUs: z.number().nullable(),
  lastAcceptUs: z.number().nullable(),
  lastDeliveryUs: z.number().nullable(),
  /** The first outage's start and the last one's end: a storm's recovery time spans them. */
  firstDropUs: z.number().nullable(),
  lastRecoveryUs: z.number().nullable(),
});
export type WorkerReport = z.infer<typeof reportSchema>;

export const fromWorkerSchema = z.discriminatedUnion('type', [
  z.object({ type: z.literal('progress'), worker: n, progress: progressSchema }),
  z.object({ type: z.literal('report'), worker: n, report: reportSchema }),
  z.object({ type: z.literal('fatal'), worker: n, message: z.string() }),
]);
export type FromWorker = z.infer<typeof fromWorkerSchema>;

/** Socket index -> room index; socket i -> room i % rooms, so every room gets members and the first sockets are the senders. */
export const roomOf = (socket: number, rooms: number): number => socket % rooms;
/** Rooms are per run, so a run's joins do not fetch an earlier run's history. */
export const roomTopic = (runId: string, room: number): string => `room:lt${runId}-${room}`;
