import { Histogram } from './histogram.js';
import type { WorkerReport } from './protocol.js';

/**
 * Turns the workers' reports into the run's figures. Expected deliveries of a
 * message = the members of its room when sending began (every socket that had
 * joined; one that is rejoining after a restart still is one, and must catch
 * up). A message is expected when the server said ok. One it never answered
 * (a push timed out, or its socket or node went down with it in flight) may or
 * may not be stored: it is expected nowhere, and where it shows up it is still
 * checked against doubles. A refused one (rate_limited...) is expected nowhere
 * and must show up nowhere.
 */

interface Quantiles {
  readonly p50: number | undefined;
  readonly p90: number | undefined;
  readonly p99: number | undefined;
  readonly max: number | undefined;
}

export interface LoadtestResult {
  /** `history`: messages the first joins' replies held, over all sockets. */
  readonly sockets: { readonly requested: number; readonly joined: number; readonly joinFailures: number; readonly history: number };
  readonly connectMs: Quantiles;
  readonly joinMs: Quantiles;
  readonly messages: {
    readonly sent: number;
    readonly accepted: number;
    readonly refused: number;
    readonly refusedReasons: Record<string, number>;
    /** No reply: lost in a crashed Session's mailbox or a dead node, or stored just before it died (Phoenix does the same). */
    readonly unanswered: number;
    /** Of the unanswered, those somebody got: stored after all (their deliveries are not in `delivered`). */
    readonly unansweredDelivered: number;
    /** Not sent because the sender's channel was rejoining at that moment. */
    readonly skipped: number;
    readonly expectedDeliveries: number;
    readonly delivered: number;
    readonly lost: number;
    readonly doubled: number;
  };
  readonly latencyMs: Quantiles;
  /** --announce: each made announcement is expected once on every socket joined when it was made. */
  readonly announcements: {
    readonly made: number;
    readonly expected: number;
    readonly delivered: number;
    readonly lost: number;
    readonly doubled: number;
    /** From the announcement's making to its arrival; max: until the last socket had it. */
    readonly latencyMs: Quantiles;
  };
  /** Presence frames (presence_state, presence_diff, presence_summary) every socket received, in all. */
  readonly presence: { readonly frames: number; readonly bytes: number };
  readonly restarts: { readonly phxErrors: number; readonly rejoins: number; readonly killed: number };
  /** Joined sockets the server dropped (its node died, or it closed them), and how they came back. */
  readonly storm: {
    readonly dropped: number;
    readonly rejoined: number;
    /** From the first drop until the last dropped socket had rejoined with its catch-up; undefined if none dropped, or one never came back. */
    readonly recoveredMs: number | undefined;
    /** Per outage: from the drop to the rejoin's reply. */
    readonly rejoinMs: Quantiles;
  };
  readonly errors: Record<string, number>;
  readonly serverRssBytes: { readonly before: number | undefined; readonly after: number | undefined };
  readonly seconds: { readonly ramp: number; readonly sending: number; readonly drain: number };
  /** Accepted messages per second, from the first send to the last ok reply. */
  readonly acceptedPerSec: number;
  /** Deliveries per second, from the first send to the last delivery. */
  readonly deliveriesPerSec: number;
  readonly failures: readonly string[];
}

const quantiles = (h: Histogram): Quantiles => ({ p50: h.quantile(0.5), p90: h.quantile(0.9), p99: h.quantile(0.99), max: h.total === 0 ? undefined : h.max });

const add = (into: Record<string, number>, from: Record<string, number>): void => {
  for (const [key, value] of Object.entries(from)) into[key] = (into[key] ?? 0) + value;
};

interface RunFacts {
  readonly requested: number;
  readonly killed: number;
  readonly killErrors: readonly string[];
  readonly rssBefore: number | undefined;
  readonly rssAfter: number | undefined;
  readonly rampSeconds: number;
  readonly sendingSeconds: number;
  readonly drainSeconds: number;
  readonly killing: boolean;
  readonly announcements: { readonly made: number; readonly expected: number; readonly errors: readonly string[] };
}

export function summarize(reports: readonly WorkerReport[], facts: RunFacts): LoadtestResult {
  const connect = new Histogram();
  const join = new Histogram();
  const latency = new Histogram();
  const announceLatency = new Histogram();
  let announced = 0;
  let presenceFrames = 0;
  let presenceBytes = 0;
  let announceDoubled = 0;
  const recovery = new Histogram();
  const members: Record<string, number> = {};
  const deliveries: Record<string, number> = {};
  const errors: Record<string, number> = {};
  const refusedReasons: Record<string, number> = {};
  const sent: WorkerReport['sentMessages'] = {};
  let joined = 0;
  let joinFailures = 0;
  let history = 0;
  let doubled = 0;
  let skipped = 0;
  let phxErrors = 0;
  let rejoins = 0;
  let dropped = 0;
  let recovered = 0;
  const firstSend = Math.min(...reports.map((r) => r.firstSendUs ?? Number.POSITIVE_INFINITY));
  const lastAccept = Math.max(...reports.map((r) => r.lastAcceptUs ?? Number.NEGATIVE_INFINITY));
  const lastDelivery = Math.max(...reports.map((r) => r.lastDeliveryUs ?? Number.NEGATIVE_INFINITY));
  const firstDrop = Math.min(...reports.map((r) => r.firstDropUs ?? Number.POSITIVE_INFINITY));
  const lastRecovery = Math.max(...reports.map((r) => r.lastRecoveryUs ?? Number.NEGATIVE_INFINITY));
  // Rates over the time the traffic really took; 0 when there was none.
  const rate = (count: number, endUs: number): number => (Number.isFinite(firstSend) && endUs > firstSend ? count / ((endUs - firstSend) / 1e6) : 0);
  for (const report of reports) {
    connect.merge(report.connectMs);
    join.merge(report.joinMs);
    latency.merge(report.latencyMs);
    announceLatency.merge(report.announceMs);
    announced += report.progress.announced;
    presenceFrames += report.progress.presenceFrames;
    presenceBytes += report.progress.presenceBytes;
    announceDoubled += report.progress.announceDoubled;
    recovery.merge(report.recoveryMs);
    add(members, report.members);
    add(deliveries, report.deliveries);
    add(errors, report.progress.errors);
    add(refusedReasons, report.refusedReasons);
    Object.assign(sent, report.sentMessages);
    joined += Object.values(report.members).reduce((a, b) => a + b, 0);
    joinFailures += report.progress.joinFailures;
    history += report.progress.history;
    doubled += report.progress.doubled;
    skipped += report.progress.skipped;
    phxErrors += report.progress.restarts;
    rejoins += report.progress.rejoins;
    dropped += report.progress.dropped;
    recovered += report.progress.recovered;
  }
  let accepted = 0;
  let refused = 0;
  let unanswered = 0;
  let unansweredDelivered = 0;
  let expected = 0;
  let delivered = 0;
  let lost = 0;
  for (const [key, [room, status]] of Object.entries(sent)) {
    const got = deliveries[key] ?? 0;
    if (status === 'error') {
      refused += 1;
      if (got > 0) errors['refused_but_delivered'] = (errors['refused_but_delivered'] ?? 0) + 1;
      continue;
    }
    if (status === 'timeout') {
      unanswered += 1;
      if (got > 0) unansweredDelivered += 1;
      continue;
    }
    delivered += got;
    accepted += 1;
    const want = members[String(room)] ?? 0;
    expected += want;
    lost += Math.max(0, want - got);
  }
  const failures: string[] = [];
  if (lost > 0) failures.push(`${lost} expected deliveries lost`);
  if (doubled > 0) failures.push(`${doubled} deliveries doubled`);
  if (joined < facts.requested) failures.push(`only ${joined} of ${facts.requested} sockets joined`);
  if (recovered < dropped) failures.push(`${dropped - recovered} of ${dropped} sockets dropped by the server never rejoined`);
  if (facts.killing && facts.killed === 0) failures.push('--kill-sessions was given but no session was killed');
  for (const error of new Set([...facts.killErrors, ...facts.announcements.errors])) failures.push(error);
  const announceLost = Math.max(0, facts.announcements.expected - announced);
  if (announceLost > 0) failures.push(`${announceLost} announcement deliveries lost`);
  if (announceDoubled > 0) failures.push(`${announceDoubled} announcement deliveries doubled`);
  const sentCount = Object.keys(sent).length;
  return {
    sockets: { requested: facts.requested, joined, joinFailures, history },
    connectMs: quantiles(connect),
    joinMs: quantiles(join),
    messages: { sent: sentCount, accepted, refused, refusedReasons, unanswered, unansweredDelivered, skipped, expectedDeliveries: expected, delivered, lost, doubled },
    latencyMs: quantiles(latency),
    announcements: {
      made: facts.announcements.made,
      expected: facts.announcements.expected,
      delivered: announced,
      lost: announceLost,
      doubled: announceDoubled,
      latencyMs: quantiles(announceLatency),
    },
    presence: { frames: presenceFrames, bytes: presenceBytes },
    restarts: { phxErrors, rejoins, killed: facts.killed },
    storm: {
      dropped,
      rejoined: recovered,
      recoveredMs: dropped > 0 && recovered === dropped ? (lastRecovery - firstDrop) / 1_000 : undefined,
      rejoinMs: quantiles(recovery),
    },
    errors,
    serverRssBytes: { before: facts.rssBefore, after: facts.rssAfter },
    seconds: { ramp: facts.rampSeconds, sending: facts.sendingSeconds, drain: facts.drainSeconds },
    acceptedPerSec: rate(accepted, lastAccept),
    deliveriesPerSec: rate(delivered, lastDelivery),
    failures,
  };
}

const int = (n: number): string => Math.round(n).toLocaleString('en-US');
const ms = (n: number | undefined): string => (n === undefined ? 'n/a' : n < 10 ? n.toFixed(2) : n.toFixed(1));
const mib = (n: number | undefined): string => (n === undefined ? 'n/a' : `${(n / 1_048_576).toFixed(1)} MiB`);

export function formatTable(result: LoadtestResult): string {
  const m = result.messages;
  const rows: Array<[string, string]> = [
    ['sockets joined', `${int(result.sockets.joined)} of ${int(result.sockets.requested)}${result.sockets.joinFailures > 0 ? ` (${int(result.sockets.joinFailures)} join errors)` : ''}`],
    ['connect ms p50 / p99', `${ms(result.connectMs.p50)} / ${ms(result.connectMs.p99)}`],
    ['join ms p50 / p99', `${ms(result.joinMs.p50)} / ${ms(result.joinMs.p99)}`],
    ['history in the join replies', `${int(result.sockets.history)} messages`],
    ['messages sent', int(m.sent)],
    ['  accepted (stored)', `${int(m.accepted)}  (${int(result.acceptedPerSec)}/s)`],
    ['  refused', m.refused === 0 ? '0' : `${int(m.refused)} ${JSON.stringify(m.refusedReasons)}`],
    ['  unanswered (delivered anyway)', `${int(m.unanswered)} (${int(m.unansweredDelivered)})`],
    ['  skipped (sender rejoining)', int(m.skipped)],
    ['deliveries expected', int(m.expectedDeliveries)],
    ['delivered', `${int(m.delivered)}  (${int(result.deliveriesPerSec)}/s)`],
    ['lost', int(m.lost)],
    ['doubled', int(m.doubled)],
    ['fan-out latency ms p50 / p90', `${ms(result.latencyMs.p50)} / ${ms(result.latencyMs.p90)}`],
    ['fan-out latency ms p99 / max', `${ms(result.latencyMs.p99)} / ${ms(result.latencyMs.max)}`],
    ...(result.announcements.made === 0
      ? []
      : ([
          ['announcements made / expected', `${int(result.announcements.made)} / ${int(result.announcements.expected)}`],
          ['  delivered / lost / doubled', `${int(result.announcements.delivered)} / ${int(result.announcements.lost)} / ${int(result.announcements.doubled)}`],
          ['  latency ms p50 / p99 / max', `${ms(result.announcements.latencyMs.p50)} / ${ms(result.announcements.latencyMs.p99)} / ${ms(result.announcements.latencyMs.max)}`],
        ] as Array<[string, string]>)),
    ['presence frames / bytes received', `${int(result.presence.frames)} / ${mib(result.presence.bytes)}`],
    ['server RSS before / after', `${mib(result.serverRssBytes.before)} / ${mib(result.serverRssBytes.after)}`],
    ['restarts seen (phx_error) / rejoins', `${int(result.restarts.phxErrors)} / ${int(result.restarts.rejoins)}`],
    ['sessions killed', int(result.restarts.killed)],
    ['sockets dropped by the server / rejoined', `${int(result.storm.dropped)} / ${int(result.storm.rejoined)}`],
    ['  recovered in ms (first drop to last rejoin)', ms(result.storm.recoveredMs)],
    ['  rejoin after drop ms p50 / p99', `${ms(result.storm.rejoinMs.p50)} / ${ms(result.storm.rejoinMs.p99)}`],
    ['errors', Object.keys(result.errors).length === 0 ? 'none' : JSON.stringify(result.errors)],
    ['seconds ramp / sending / drain', `${result.seconds.ramp.toFixed(1)} / ${result.seconds.sending.toFixed(1)} / ${result.seconds.drain.toFixed(1)}`],
  ];
  const width = Math.max(...rows.map(([label]) => label.length));
  const lines = rows.map(([label, value]) => `${label.padEnd(width)}  ${value}`);
  lines.push(result.failures.length === 0 ? 'result: OK' : `result: FAILED: ${result.failures.join('; ')}`);
  return lines.join('\n');
}
