import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { randomBytes } from 'node:crypto';
import { layoutWorkers, openFilesLimit, sourceAddresses } from './limits.js';
import type { LoadtestOptions } from './options.js';
import { fromWorkerSchema, type Plan, type Progress, type ToWorker, type WorkerReport } from './protocol.js';
import { summarize, type LoadtestResult } from './report.js';
import { announce, killSessions, residentBytes } from './server-api.js';

/**
 * The parent of a load test: lays out workers, drives them through the phases
 * (ramp and join, send, drain, report), kills sessions meanwhile if asked, and
 * sums up. The same function serves `npm run loadtest` and `npm run bench`.
 */

type Counter = keyof Omit<Progress, 'errors' | 'sendingDone'>;

/** The run as a hook sees it while it goes on: the workers' counters, summed (fresh every 500 ms). */
export interface RunView {
  total(counter: Counter): number;
  /** Resolves once `predicate` holds; rejects past `timeoutMs`, naming `what`. */
  until(what: string, predicate: (view: RunView) => boolean, timeoutMs: number): Promise<void>;
}

export interface RunHooks {
  /** Every socket has joined (or failed to); sending has not begun. */
  onJoined?(): Promise<void> | void;
  /**
   * Sending has begun; the run goes on meanwhile (the hook may kill the server,
   * say, and start it again). Draining waits for the hook to finish, and then
   * for every socket the server dropped to have rejoined.
   */
  onSending?(run: RunView): Promise<void> | void;
  /** Sending is over and deliveries have stopped; sockets are still open. */
  onDrained?(): Promise<void> | void;
  /** The --announce announcements have reached every socket, or stopped coming. */
  onAnnounced?(): Promise<void> | void;
  /** A progress line, about once a second. */
  onProgress?(line: string): void;
  /** The admin token for --kill-sessions and --announce (default: ADMIN_TOKEN from the environment). */
  adminToken?: string;
}

const PUSH_TIMEOUT_MS = 10_000;
const PROGRESS_POLL_MS = 500;
const QUIET_MS = 1_500;
const MAX_DRAIN_MS = 30_000;
const SETTLE_GRACE_MS = 60_000;
/**
 * After sending, for the sockets still out to come back. Generous: the goal is
 * 30 s, and a run past it should say by how much rather than fail to measure.
 */
const RECOVERY_GRACE_MS = 120_000;
const workerScript = fileURLToPath(new URL('./worker.js', import.meta.url));

function endpoints(url: string): { httpUrl: string; wsUrl: string; host: string } {
  const parsed = new URL(url);
  // 'localhost' may resolve to ::1 first; the source addresses are IPv4.
  const host = parsed.hostname === 'localhost' ? '127.0.0.1' : parsed.hostname;
  const hostPort = `${host.includes(':') && !host.startsWith('[') ? `[${host}]` : host}${parsed.port === '' ? '' : `:${parsed.port}`}`;
  const secure = parsed.protocol === 'https:' || parsed.protocol === 'wss:';
  return { httpUrl: `${secure ? 'https' : 'http'}://${hostPort}`, wsUrl: `${secure ? 'wss' : 'ws'}://${hostPort}/socket/websocket?vsn=2.0.0`, host };
}

class Worker {
  progress: Progress | undefined;
  report: WorkerReport | undefined;
  fatal: string | undefined;
  exited = false;
  constructor(readonly child: ChildProcess) {
    child.on('message', (raw) => {
      const parsed = fromWorkerSchema.safeParse(raw);
      if (!parsed.success) {
        this.fatal = `worker sent a malformed message: ${parsed.error.issues[0]?.message ?? ''}`;
        return;
      }
      const message = parsed.data;
      if (message.type === 'progress') this.progress = message.progress;
      else if (message.type === 'report') this.report = message.report;
      else this.fatal = message.message;
    });
    child.on('exit', (code) => {
      this.exited = true;
      if (code !== 0 && this.report === undefined) this.fatal ??= `worker exited with code ${String(code)}`;
    });
  }
  send(message: ToWorker): void {
    if (this.child.connected) this.child.send(message);
  }
}

function spawnWorker(raiseSoftLimitTo: number | undefined): Worker {
  const node = [process.execPath, ...process.execArgv, workerScript];
  const stdio: ['ignore', 'inherit', 'inherit', 'ipc'] = ['ignore', 'inherit', 'inherit', 'ipc'];
  // A process may raise its own soft open-files limit up to the hard one; node cannot, so a shell does it and execs node.
  const child =
    raiseSoftLimitTo === undefined
      ? spawn(node[0]!, node.slice(1), { stdio })
      : spawn('/bin/sh', ['-c', `ulimit -n ${raiseSoftLimitTo} && exec "$@"`, 'sh', ...node], { stdio });
  return new Worker(child);
}

const sum = (workers: readonly Worker[], field: Counter): number =>
  workers.reduce((total, w) => total + (w.progress?.[field] ?? 0), 0);

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function progressLine(workers: readonly Worker[], phase: string): string {
  const errors = workers.reduce((total, w) => total + Object.values(w.progress?.errors ?? {}).reduce((a, b) => a + b, 0), 0);
  return (
    `[${phase}] connected ${sum(workers, 'connected')}/${sum(workers, 'opened')}  joined ${sum(workers, 'joined')}` +
    `  sent ${sum(workers, 'sent')}  accepted ${sum(workers, 'accepted')}  delivered ${sum(workers, 'delivered')}` +
    `  restarts ${sum(workers, 'restarts')}  errors ${errors}`
  );
}

export async function runLoadtest(options: LoadtestOptions, hooks: RunHooks = {}): Promise<LoadtestResult> {
  const layout = layoutWorkers(options.sockets, options.workers, openFilesLimit());
  if (!layout.ok) throw new Error(layout.error);
  const adminToken = hooks.adminToken ?? process.env['ADMIN_TOKEN'];
  if ((options['kill-sessions'] > 0 || options.announce > 0) && (adminToken === undefined || adminToken === '')) {
    throw new Error(`--${options.announce > 0 ? 'announce' : 'kill-sessions'} needs the admin token: set ADMIN_TOKEN to the server's ADMIN_TOKEN`);
  }
  const { httpUrl, wsUrl, host } = endpoints(options.url);
  const runId = options['run-id'] ?? randomBytes(3).toString('hex');
  const rssBefore = await residentBytes(httpUrl);
  const workers = Array.from({ length: layout.workers }, () => spawnWorker(layout.raiseSoftLimitTo));
  const fatal = (): string | undefined => workers.find((w) => w.fatal !== undefined)?.fatal;
  let phase = 'ramp';
  const ticker = setInterval(() => hooks.onProgress?.(progressLine(workers, phase)), 1_000);
  const killErrors: string[] = [];
  let killed = 0;
  try {
    const addresses = sourceAddresses(options.sockets, host);
    const ratePerSender = options.senders === 0 ? 0 : options.rate / options.senders;
    workers.forEach((worker, i) => {
      const plan: Plan = {
        worker: i,
        workers: layout.workers,
        runId,
        usersId: options.users ?? runId,
        wsUrl,
        sockets: options.sockets,
        rooms: options.rooms,
        senders: options.senders,
        ratePerSender,
        ramp: options.ramp / layout.workers,
        localAddresses: addresses,
        bodyBytes: options['body-bytes'],
        pushTimeoutMs: PUSH_TIMEOUT_MS,
      };
      worker.send({ type: 'plan', plan });
    });

    // Ramp: every socket joined, refused, or failed to connect.
    const rampStart = performance.now();
    // Joins may lag the connections: a server that joins at a quarter of the ramp still gets measured.
    const rampDeadline = rampStart + (options.sockets / options.ramp) * 4_000 + SETTLE_GRACE_MS;
    while (sum(workers, 'settled') < options.sockets) {
      const problem = fatal();
      if (problem !== undefined) throw new Error(problem);
      if (performance.now() > rampDeadline) break;
      await sleep(100);
    }
    const rampSeconds = (performance.now() - rampStart) / 1_000;
    await hooks.onJoined?.();

    // Sending.
    phase = 'send';
    const quotas = options.messages === undefined ? undefined : quotaPerSender(options.messages, options.senders);
    const durationMs = options.messages === undefined ? options.duration * 1_000 : 0;
    const sendStart = performance.now();
    for (const worker of workers) worker.send({ type: 'send', durationMs, ...(quotas === undefined ? {} : { quotas }) });
    let hookFailure: string | undefined;
    const hookDone = Promise.resolve()
      .then(() => hooks.onSending?.(view(workers)))
      .catch((error: unknown) => {
        hookFailure = `onSending: ${error instanceof Error ? error.message : String(error)}`;
      });
    const problems = (): string | undefined => fatal() ?? hookFailure;
    let killBudget = 0;
    let lastKill = performance.now();
    const sendDeadline = sendStart + (durationMs > 0 ? durationMs : 3_600_000) + PUSH_TIMEOUT_MS + 5_000;
    while (!workers.every((w) => w.progress?.sendingDone === true)) {
      const problem = problems();
      if (problem !== undefined) throw new Error(problem);
      if (performance.now() > sendDeadline) throw new Error('senders did not finish in time');
      if (options['kill-sessions'] > 0 && adminToken !== undefined) {
        const now = performance.now();
        killBudget += ((now - lastKill) / 1_000) * options['kill-sessions'];
        lastKill = now;
        if (killBudget >= 1) {
          const count = Math.floor(killBudget);
          killBudget -= count;
          const result = await killSessions(httpUrl, adminToken, count);
          if (result.ok) killed += result.killed;
          else killErrors.push(result.error);
        }
      }
      await sleep(100);
    }
    const sendingSeconds = (performance.now() - sendStart) / 1_000;
    await hookDone;
    if (hookFailure !== undefined) throw new Error(hookFailure);
    // Sockets the server dropped come back before the drain starts: their catch-up is part of what is counted.
    const recoveryDeadline = performance.now() + RECOVERY_GRACE_MS;
    while (sum(workers, 'recovered') < sum(workers, 'dropped') && performance.now() < recoveryDeadline) {
      const problem = fatal();
      if (problem !== undefined) throw new Error(problem);
      await sleep(PROGRESS_POLL_MS);
    }

    // Drain: until deliveries stop coming (rejoins catching up included).
    phase = 'drain';
    const drainStart = performance.now();
    await quiet(() => false, () => sum(workers, 'delivered'), PROGRESS_POLL_MS);
    const drainSeconds = (performance.now() - drainStart) / 1_000;
    await hooks.onDrained?.();
    phase = 'announce';
    const announcements = { made: 0, expected: 0, errors: [] as string[] };
    for (let k = 0; k < options.announce && adminToken !== undefined; k++) {
      const before = sum(workers, 'announced');
      const expected = sum(workers, 'joined');
      const made = await announce(httpUrl, adminToken, `loadtest ${runId} announcement ${k + 1}`);
      if (!made.ok) {
        announcements.errors.push(made.error);
        break;
      }
      announcements.made += 1;
      announcements.expected += expected;
      await quiet(() => sum(workers, 'announced') - before >= expected, () => sum(workers, 'announced'), 50);
    }
    await hooks.onAnnounced?.();
    const rssAfter = await residentBytes(httpUrl);

    phase = 'report';
    for (const worker of workers) worker.send({ type: 'report' });
    const reportDeadline = performance.now() + 30_000;
    while (!workers.every((w) => w.report !== undefined)) {
      const problem = fatal();
      if (problem !== undefined) throw new Error(problem);
      if (performance.now() > reportDeadline) throw new Error('workers did not report in time');
      await sleep(50);
    }
    return summarize(
      workers.map((w) => w.report!),
      {
        requested: options.sockets,
        killed,
        killErrors,
        rssBefore,
        rssAfter,
        rampSeconds,
        sendingSeconds,
        drainSeconds,
        killing: options['kill-sessions'] > 0,
        announcements,
      },
    );
  } finally {
    clearInterval(ticker);
    for (const worker of workers) worker.send({ type: 'close' });
    const closeDeadline = performance.now() + 5_000;
    while (!workers.every((w) => w.exited) && performance.now() < closeDeadline) await sleep(50);
    for (const worker of workers) if (!worker.exited) worker.child.kill('SIGKILL');
  }
}

function view(workers: readonly Worker[]): RunView {
  const run: RunView = {
    total: (counter) => sum(workers, counter),
    until: async (what, predicate, timeoutMs) => {
      const deadline = performance.now() + timeoutMs;
      // The counters change when a worker reports (every 500 ms): a look every 100 ms sees a change soon after.
      while (!predicate(run)) {
        if (performance.now() > deadline) throw new Error(`${what}: not within ${timeoutMs} ms`);
        await sleep(100);
      }
    },
  };
  return run;
}

/** N messages over S senders, as evenly as it goes: sender index -> count. */
function quotaPerSender(messages: number, senders: number): Record<string, number> {
  return Object.fromEntries(Array.from({ length: senders }, (_, i) => [String(i), Math.floor(messages / senders) + (i < messages % senders ? 1 : 0)]));
}

/**
 * Until `done`, or until `count` has not moved for QUIET_MS (what was coming has
 * come), at most MAX_DRAIN_MS, looking every `pollMs`: the drain and each announcement.
 */
async function quiet(done: () => boolean, count: () => number, pollMs: number): Promise<void> {
  const start = performance.now();
  let last = count();
  let lastChange = start;
  while (!done() && performance.now() - lastChange < QUIET_MS && performance.now() - start < MAX_DRAIN_MS) {
    await sleep(pollMs);
    const now = count();
    if (now !== last) {
      last = now;
      lastChange = performance.now();
    }
  }
}
