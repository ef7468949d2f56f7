/**
 * One load-tester worker process: opens its share of the sockets (at its share
 * of the ramp, spread over source addresses), joins them, sends on its sender
 * sockets when told, and counts every delivery. It reports progress twice a
 * second and a full report when asked. Workers are processes, not threads,
 * because the open-files limit is per process.
 */
import { z } from 'zod';
import { LeanClient, type ClientEvents } from './client.js';
import type { Message } from './frames.js';
import { Histogram } from './histogram.js';
import { roomOf, roomTopic, toWorkerSchema, type FromWorker, type Plan, type Progress, type ToWorker } from './protocol.js';

const PROGRESS_MS = 500;
const SEND_TICK_MS = 5;
const HEARTBEAT_EVERY_S = 30;
/** After a Session restart: long enough that messages are stored meanwhile and must come by the rejoin's catch-up. */
const REJOIN_DELAY_MS = 100;

interface Sender {
  readonly index: number;
  readonly client: LeanClient;
  readonly room: number;
  /** Messages this sender's schedule has reached (sent or skipped). */
  scheduled: number;
  quota: number;
}

const progress: Progress = {
  opened: 0,
  connected: 0,
  joined: 0,
  joinFailures: 0,
  history: 0,
  settled: 0,
  sent: 0,
  accepted: 0,
  refused: 0,
  unanswered: 0,
  skipped: 0,
  delivered: 0,
  doubled: 0,
  restarts: 0,
  rejoins: 0,
  announced: 0,
  announceDoubled: 0,
  presenceFrames: 0,
  presenceBytes: 0,
  dropped: 0,
  recovered: 0,
  errors: {},
  sendingDone: false,
};
const connectMs = new Histogram();
const joinMs = new Histogram();
const latencyMs = new Histogram();
const announceMs = new Histogram();
const announcementSchema = z.object({ id: z.string(), at: z.number() });
/** From a joined socket's drop by the server to its rejoin (the catch-up in the reply). */
const recoveryMs = new Histogram();
const members: Record<string, number> = {};
const sentMessages: Record<string, [number, 'ok' | 'error' | 'timeout']> = {};
const deliveries: Record<string, number> = {};
const refusedReasons: Record<string, number> = {};
const timing: { firstSendUs: number | null; lastAcceptUs: number | null; lastDeliveryUs: number | null; firstDropUs: number | null; lastRecoveryUs: number | null } = {
  firstSendUs: null,
  lastAcceptUs: null,
  lastDeliveryUs: null,
  firstDropUs: null,
  lastRecoveryUs: null,
};

const clients: LeanClient[] = [];
const memberSockets = new Set<LeanClient>();
const senders = new Map<string, Sender>();
let plan: Plan | undefined;
let sending: { startedAt: number; durationMs: number; timer: NodeJS.Timeout | undefined } | undefined;

const post = (message: FromWorker): void => void process.send?.(message);
const nowMicros = (): number => {
  const [s, ns] = process.hrtime();
  return s * 1e6 + ns / 1e3;
};
const countError = (kind: string): void => {
  progress.errors[kind] = (progress.errors[kind] ?? 0) + 1;
};

// Bodies: "lt <run> <key> <sent at, us of the monotonic clock> xxxx". The clock is
// CLOCK_MONOTONIC, the same in every process of this machine, so any worker can time a delivery.
const BODY = /^lt (\S+) (\S+) (\d+(?:\.\d+)?) /;

function bodyFor(p: Plan, key: string): string {
  const head = `lt ${p.runId} ${key} ${nowMicros().toFixed(1)} `;
  return head + 'x'.repeat(Math.max(1, p.bodyBytes - head.length));
}

function onMessage(client: LeanClient, message: Message): void {
  if (plan === undefined) return;
  const match = BODY.exec(message.body);
  if (match === null || match[1] !== plan.runId) return countError('foreign_message');
  if (!memberSockets.has(client)) return; // joined after sending began: not expected to get it, not counted
  const key = match[2]!;
  deliveries[key] = (deliveries[key] ?? 0) + 1;
  progress.delivered += 1;
  const now = nowMicros();
  timing.lastDeliveryUs = now;
  latencyMs.record((now - Number(match[3])) / 1_000);
}

function send(sender: Sender): void {
  const p = plan;
  if (p === undefined) return;
  sender.scheduled += 1;
  const key = `${sender.index}.${sender.scheduled}`;
  if (!sender.client.push(bodyFor(p, key), key)) {
    progress.skipped += 1; // its Session is restarting: the message is not sent at all
    return;
  }
  sentMessages[key] = [sender.room, 'timeout'];
  progress.sent += 1;
  timing.firstSendUs ??= nowMicros();
}

/** Closed loop: one push in flight per sender, the next as soon as it is answered (and its channel is joined). */
function sendClosedLoop(sender: Sender): void {
  if (sending === undefined || progress.sendingDone || sender.scheduled >= sender.quota) return;
  if (sender.client.inFlight === 0 && sender.client.joined) send(sender);
}

function events(index: number, client: () => LeanClient): ClientEvents {
  let settled = false;
  let heard: Set<string> | undefined;
  /** When the server dropped this joined socket, until it has rejoined: one outage, however many reconnects it takes. */
  let droppedAt: number | undefined;
  const settle = (): void => {
    if (settled) return;
    settled = true;
    progress.settled += 1;
  };
  return {
    connected: (ms) => {
      if (!settled) connectMs.record(ms);
    },
    joined: (ms, rejoin, held) => {
      if (rejoin) progress.rejoins += 1;
      else {
        joinMs.record(ms);
        progress.history += held;
      }
      if (droppedAt !== undefined) {
        const now = nowMicros();
        recoveryMs.record((now - droppedAt) / 1_000);
        timing.lastRecoveryUs = now;
        progress.recovered += 1;
        droppedAt = undefined;
      }
      settle();
    },
    joinFailed: (reason, final) => {
      countError(`join_${reason}`);
      if (!final) return; // retried with backoff, as phoenix.js does
      progress.joinFailures += 1;
      settle();
    },
    message: (message) => onMessage(client(), message),
    doubled: () => {
      if (memberSockets.has(client())) progress.doubled += 1;
    },
    pushReply: (key, status, response) => {
      const entry = sentMessages[key];
      if (entry !== undefined) entry[1] = status;
      if (status === 'ok') {
        progress.accepted += 1;
        timing.lastAcceptUs = nowMicros();
      }
      else if (status === 'timeout') progress.unanswered += 1;
      else {
        progress.refused += 1;
        const reason = typeof response['reason'] === 'string' ? response['reason'] : 'unknown';
        refusedReasons[reason] = (refusedReasons[reason] ?? 0) + 1;
      }
      const sender = senders.get(String(index));
      // As fast as accepted: the next push goes when this one is answered.
      if (sender !== undefined && plan?.ratePerSender === 0) sendClosedLoop(sender);
    },
    restarted: () => {
      progress.restarts += 1;
    },
    presence: (bytes) => {
      progress.presenceFrames += 1;
      progress.presenceBytes += bytes;
    },
    announcement: (payload) => {
      const announcement = announcementSchema.safeParse(payload);
      if (!announcement.success) return countError('bad_announcement');
      heard ??= new Set();
      if (heard.has(announcement.data.id)) {
        progress.announceDoubled += 1;
        return;
      }
      heard.add(announcement.data.id);
      progress.announced += 1;
      announceMs.record(Math.max(0, Date.now() - announcement.data.at));
    },
    error: (kind) => {
      countError(kind);
      if (kind === 'closed_by_server' && client().hasJoined && droppedAt === undefined) {
        droppedAt = nowMicros();
        timing.firstDropUs ??= droppedAt;
        progress.dropped += 1;
      }
      // A connection that failed before its first join settles the socket: the ramp does not wait for its retries.
      if (kind !== 'closed_by_server' && !client().hasJoined) settle();
    },
  };
}

function open(p: Plan): void {
  const ws = new URL(p.wsUrl);
  const token = `loadtest${p.usersId}token`.padEnd(16, '0');
  let index = p.worker;
  const started = performance.now();
  const ramp = setInterval(() => {
    const due = Math.min(p.sockets, p.worker + Math.floor(((performance.now() - started) / 1_000) * p.ramp + 1) * p.workers);
    while (index < due) {
      const i = index;
      index += p.workers;
      const address = p.localAddresses.length === 0 ? undefined : p.localAddresses[i % p.localAddresses.length];
      let client: LeanClient;
      client = new LeanClient(
        {
          url: ws.toString(),
          topic: roomTopic(p.runId, roomOf(i, p.rooms)),
          username: `lt${p.usersId}u${i}`,
          token,
          reconnect: true,
          pushTimeoutMs: p.pushTimeoutMs,
          rejoinDelayMs: REJOIN_DELAY_MS,
          ...(address === undefined ? {} : { localAddress: address }),
        },
        events(i, () => client),
      );
      clients.push(client);
      progress.opened += 1;
      if (i < p.senders) senders.set(String(i), { index: i, client, room: roomOf(i, p.rooms), scheduled: 0, quota: Number.MAX_SAFE_INTEGER });
      client.connect();
    }
    if (index >= p.sockets) clearInterval(ramp);
  }, 10);
}

function startSending(p: Plan, durationMs: number, quotas: Record<string, number> | undefined): void {
  clients.forEach((client, k) => {
    if (!client.hasJoined) return;
    memberSockets.add(client);
    const room = String(roomOf(p.worker + k * p.workers, p.rooms));
    members[room] = (members[room] ?? 0) + 1;
  });
  for (const sender of senders.values()) sender.quota = quotas?.[String(sender.index)] ?? Number.MAX_SAFE_INTEGER;
  const startedAt = performance.now();
  sending = { startedAt, durationMs, timer: undefined };
  const list = [...senders.values()];
  sending.timer = setInterval(() => {
    const elapsed = performance.now() - startedAt;
    const timeUp = durationMs > 0 && elapsed >= durationMs;
    // Closed loop: replies drive it; this only restarts a sender whose channel was rejoining.
    if (p.ratePerSender === 0 && !timeUp) for (const sender of list) sendClosedLoop(sender);
    if (p.ratePerSender > 0 && !timeUp) {
      list.forEach((sender, k) => {
        // Senders are spread over the period so their messages do not all leave in one tick.
        const offsetMs = (k / Math.max(1, list.length) / p.ratePerSender) * 1_000;
        const due = Math.min(sender.quota, Math.max(0, Math.floor(((elapsed - offsetMs) / 1_000) * p.ratePerSender) + 1));
        while (sender.scheduled < due) send(sender);
      });
    }
    const quotasDone = list.every((sender) => sender.scheduled >= sender.quota);
    if (timeUp || quotasDone) {
      for (const sender of list) sender.quota = Math.min(sender.quota, sender.scheduled);
      if (list.every((sender) => sender.client.inFlight === 0)) {
        progress.sendingDone = true;
        clearInterval(sending?.timer);
      }
    }
  }, SEND_TICK_MS);
}

function report(): void {
  progress.connected = clients.reduce((sum, client) => sum + (client.connected ? 1 : 0), 0);
  progress.joined = clients.reduce((sum, client) => sum + (client.joined ? 1 : 0), 0);
  post({
    type: 'report',
    worker: plan?.worker ?? 0,
    report: {
      progress,
      connectMs: connectMs.toJSON(),
      joinMs: joinMs.toJSON(),
      latencyMs: latencyMs.toJSON(),
      announceMs: announceMs.toJSON(),
      recoveryMs: recoveryMs.toJSON(),
      members,
      sentMessages,
      deliveries,
      refusedReasons,
      ...timing,
    },
  });
}

function close(): void {
  for (const client of clients) client.close();
  setTimeout(() => process.exit(0), 500).unref();
}

function handle(message: ToWorker): void {
  switch (message.type) {
    case 'plan':
      plan = message.plan;
      open(message.plan);
      return;
    case 'send':
      if (plan !== undefined) startSending(plan, message.durationMs, message.quotas);
      return;
    case 'report':
      return report();
    case 'close':
      return close();
  }
}

let tick = 0;
setInterval(() => {
  tick += 1;
  const now = performance.now();
  for (let i = 0; i < clients.length; i++) {
    const client = clients[i]!;
    client.expire(now);
    // Each socket beats every 30 s (the server closes a socket silent for 60), a thirtieth of them per second.
    if (tick % 2 === 0 && i % HEARTBEAT_EVERY_S === (tick / 2) % HEARTBEAT_EVERY_S) client.heartbeat();
  }
}, PROGRESS_MS);
setInterval(() => {
  progress.connected = clients.reduce((sum, client) => sum + (client.connected ? 1 : 0), 0);
  progress.joined = clients.reduce((sum, client) => sum + (client.joined ? 1 : 0), 0);
  post({ type: 'progress', worker: plan?.worker ?? 0, progress });
}, PROGRESS_MS);

process.on('message', (raw) => {
  const parsed = toWorkerSchema.safeParse(raw);
  if (!parsed.success) {
    post({ type: 'fatal', worker: plan?.worker ?? 0, message: `bad message from the parent: ${parsed.error.message}` });
    return;
  }
  handle(parsed.data);
});
// The parent is gone (killed, or it crashed): nobody will ever say close.
process.on('disconnect', () => process.exit(0));
process.on('uncaughtException', (error) => {
  post({ type: 'fatal', worker: plan?.worker ?? 0, message: error.stack ?? error.message });
  setTimeout(() => process.exit(1), 100);
});
