import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { SupervisorEvent } from '../../supervision/index.js';
import { SupervisorLog } from './supervisor-log.js';

/**
 * The server's Prometheus metrics, one registry per process.
 *
 * Hot paths (every frame in and out, every push) only add to a plain number
 * here; prom-client sees the sums when /metrics is scraped (each counter's
 * collect adds what came since the last scrape). A prom-client inc() validates
 * its argument and hashes labels: fine per scrape, wasteful per frame.
 * Gauges that read actor state (sessions, mailboxes, the pool) are set by the
 * /metrics route right before it renders (see src/endpoint/metrics-route.ts).
 */

const registry = new Registry();
collectDefaultMetrics({ register: registry });

type Tally = 'messagesIn' | 'messagesOut' | 'joins' | 'joinsShed' | 'historyHeld' | 'rateLimited' | 'slowReaderDisconnects' | 'abusiveDisconnects';

const tallies: Record<Tally, number> = { messagesIn: 0, messagesOut: 0, joins: 0, joinsShed: 0, historyHeld: 0, rateLimited: 0, slowReaderDisconnects: 0, abusiveDisconnects: 0 };
const reported: Record<Tally, number> = { ...tallies };

function tallyCounter(name: string, help: string, tally: Tally): void {
  new Counter({
    name,
    help,
    registers: [registry],
    collect() {
      const delta = tallies[tally] - reported[tally];
      reported[tally] = tallies[tally];
      if (delta > 0) this.inc(delta);
    },
  });
}

tallyCounter('chat_messages_in_total', 'Frames received from clients (heartbeats included).', 'messagesIn');
tallyCounter('chat_messages_out_total', 'Frames written to clients; a fastlane broadcast counts once per subscribed socket.', 'messagesOut');
tallyCounter('chat_joins_total', 'Channel joins that succeeded.', 'joins');
tallyCounter('chat_joins_shed_total', 'Room joins refused with overloaded (too many joins in progress and waiting), to be retried by the client.', 'joinsShed');
tallyCounter('chat_join_history_held_total', 'Room joins whose history the node held from an earlier join (no query); the rest read the database.', 'historyHeld');
tallyCounter('chat_rate_limited_pushes_total', 'Frames refused by their socket\'s budget (rate_limited), before they were decoded.', 'rateLimited');
tallyCounter('chat_abusive_disconnects_total', 'Sockets closed with 1008 for sending past their limits after their patience ran out.', 'abusiveDisconnects');
tallyCounter(
  'chat_slow_reader_disconnects_total',
  'Sockets closed at the transport after the server saw their send buffer back up (SLOW_READER_BYTES).',
  'slowReaderDisconnects',
);

const fanout = new Histogram({
  name: 'chat_broadcast_fanout_seconds',
  help: 'Time to hand one broadcast to every subscribed socket (taps plus uWS topic publish).',
  // A publish to a few sockets takes microseconds; thousands, a millisecond or more.
  buckets: [0.000_005, 0.000_01, 0.000_025, 0.000_05, 0.000_1, 0.000_25, 0.000_5, 0.001, 0.002_5, 0.005, 0.01, 0.025, 0.1],
  registers: [registry],
});

const restarts = new Counter({
  name: 'chat_actor_restarts_total',
  help: 'Restarts of supervised actors, by path (sessions grouped as /app/endpoint/sessions/*).',
  labelNames: ['actor'],
  registers: [registry],
});

const giveUps = new Counter({
  name: 'chat_actor_give_ups_total',
  help: 'Times a supervisor gave up on a child past its restart intensity, by path.',
  labelNames: ['actor'],
  registers: [registry],
});

const authRefused = new Counter({
  name: 'chat_auth_refused_total',
  help: 'WebSocket upgrades refused for their signed token, by reason (missing, malformed, bad_signature, expired, bad_claims).',
  labelNames: ['reason'],
  registers: [registry],
});

const socketsOpen = new Gauge({ name: 'chat_sockets_open', help: 'Open WebSockets.', registers: [registry] });
const sessions = new Gauge({ name: 'chat_sessions', help: 'Session actors (children of the Sessions supervisor).', registers: [registry] });
const mailbox = new Gauge({
  name: 'chat_mailbox_depth',
  help: 'Messages waiting in the mailbox of a core actor.',
  labelNames: ['actor'],
  registers: [registry],
});
const dbPoolSize = new Gauge({ name: 'chat_db_pool_size', help: "Connections in the Repo's pool.", registers: [registry] });
const dbInFlight = new Gauge({
  name: 'chat_db_queries_in_flight',
  help: 'Queries and insert batches the Repo has running on the pool.',
  registers: [registry],
});
const dbQueued = new Gauge({
  name: 'chat_db_queries_queued',
  help: 'Queries and inserts waiting in the Repo for a connection or the next batch.',
  registers: [registry],
});

/** What the /metrics route reads from the actors at scrape time. */
interface Sample {
  readonly socketsOpen: number;
  readonly sessions: number | undefined;
  readonly mailboxes: Readonly<Record<string, number | undefined>>;
  readonly db: { readonly poolSize: number; readonly inFlight: number; readonly queued: number } | undefined;
}

/** Restarts and give-ups so far, for the observer's charts (the counters above are per label), and the last of them. */
const supervised = { restarts: 0, giveUps: 0 };
const supervisorLog = new SupervisorLog();

/** A dynamic supervisor's children (sessions) are one series, not one per socket. */
const actorLabel = (event: SupervisorEvent): string => (event.dynamic ? `${event.supervisor}/*` : event.path);

export const Metrics = {
  messageIn(): void {
    tallies.messagesIn += 1;
  },
  messagesOut(count: number): void {
    tallies.messagesOut += count;
  },
  join(): void {
    tallies.joins += 1;
  },
  joinShed(): void {
    tallies.joinsShed += 1;
  },
  historyHeld(): void {
    tallies.historyHeld += 1;
  },
  rateLimited(): void {
    tallies.rateLimited += 1;
  },
  slowReaderDisconnect(): void {
    tallies.slowReaderDisconnects += 1;
  },
  abusiveDisconnect(): void {
    tallies.abusiveDisconnects += 1;
  },
  fanout(seconds: number): void {
    fanout.observe(seconds);
  },
  authRefused(reason: string): void {
    authRefused.inc({ reason });
  },
  /** The supervision tree's observer (see Parent.observer). */
  supervisorEvent(event: SupervisorEvent): void {
    (event.type === 'restarted' ? restarts : giveUps).inc({ actor: actorLabel(event) });
    if (event.type === 'restarted') supervised.restarts += 1;
    else supervised.giveUps += 1;
    supervisorLog.add(event, Date.now());
  },
  /** Running totals of the tallies /metrics reports, read by the observer's sampler. */
  totals(): { joins: number; messagesIn: number; messagesOut: number; restarts: number; giveUps: number } {
    return { joins: tallies.joins, messagesIn: tallies.messagesIn, messagesOut: tallies.messagesOut, ...supervised };
  },
  /** The last restarts and give-ups, newest first. */
  supervisorLog(): ReturnType<SupervisorLog['entries']> {
    return supervisorLog.entries();
  },
  /** Sets the gauges read from the actors; an actor that did not answer leaves its gauge out (it is restarting). */
  sample(sample: Sample): void {
    socketsOpen.set(sample.socketsOpen);
    if (sample.sessions === undefined) sessions.reset();
    else sessions.set(sample.sessions);
    mailbox.reset();
    for (const [actor, depth] of Object.entries(sample.mailboxes)) if (depth !== undefined) mailbox.set({ actor }, depth);
    for (const gauge of [dbPoolSize, dbInFlight, dbQueued]) gauge.reset();
    if (sample.db !== undefined) {
      dbPoolSize.set(sample.db.poolSize);
      dbInFlight.set(sample.db.inFlight);
      dbQueued.set(sample.db.queued);
    }
  },
  render(): Promise<string> {
    return registry.metrics();
  },
  contentType: registry.contentType,
};
