import { hostname } from 'node:os';
import { fileURLToPath } from 'node:url';
import { SHUTDOWN, describeReason, describeStartError, onExit, rootParent, startSupervisor, stop } from '../supervision/index.js';
import { startApplication } from './application.js';
import { parseConfig } from './config.js';
import { createLogger } from './log.js';
import { nativeUws } from './endpoint/uws.js';
import { databaseChildren } from './repo/database.js';
import { startWorkers } from './workers.js';
import { installProcessGuard } from './process-guard.js';

/** Entry point: config -> logger -> database -> the supervision tree; signals stop it in reverse order. */
const parsed = parseConfig(process.env);
if (!parsed.ok) {
  const log = createLogger('info');
  for (const problem of parsed.error) log.fatal({ variable: problem.variable }, `invalid configuration: ${problem.variable}: ${problem.message}`);
  log.flush();
  process.exit(2);
}
const config = parsed.value;
const nodeName = config.NODE_NAME ?? `${hostname()}-${process.pid}`;
const log = createLogger(config.LOG_LEVEL, nodeName);

// Never the pure-JS fallback: without a native uWS for this Node and libc there is nothing worth serving.
const native = nativeUws();
if (!native.ok) {
  log.fatal({ reason: native.error.reason, platform: native.error.platform }, native.error.message);
  log.flush();
  process.exit(1);
}
log.info({ uws: native.value.build, skipped: native.value.skipped.map((build) => build.detail) }, 'uWebSockets.js native build loaded');

let stopping = false;
let stoppingSince = 0;
// npm may relay the terminal's Ctrl-C to us again: only a signal well after the first forces an exit.
const RELAYED_SIGNAL_MS = 2_000;

function exit(code: number): never {
  log.flush();
  process.exit(code);
}

interface Running {
  /** Stops this node's tree (the embedded database last), or the workers and then the database. */
  stop(): Promise<void>;
}

const TREE_STOP_MS = config.SHUTDOWN_TIMEOUT_MS + 2_000;

async function start(): Promise<Running> {
  const database = await databaseChildren(config, log);
  if (config.WORKERS > 1) {
    // The primary's own tree is the database alone (none with DATABASE_URL), supervised as in a node.
    const tree = await startSupervisor(database.children, { parent: rootParent(log), id: 'primary', strategy: 'one_for_one' });
    if (!tree.ok) {
      log.fatal({ reason: describeStartError(tree.error) }, 'database failed to start');
      exit(1);
    }
    const stopTree = () => stop(tree.value, SHUTDOWN, TREE_STOP_MS).then(() => undefined);
    const workers = startWorkers({
      count: config.WORKERS,
      databaseUrl: database.url,
      nodeName,
      entry: fileURLToPath(import.meta.url),
      log,
      onGiveUp: () => void workers.stop(config.SHUTDOWN_TIMEOUT_MS).then(stopTree).finally(() => exit(1)),
    });
    return { stop: () => workers.stop(TREE_STOP_MS).then(stopTree) };
  }
  const started = await startApplication(config, log, database.url, nodeName, database.children);
  if (!started.ok) {
    log.fatal({ reason: describeStartError(started.error) }, 'application failed to start');
    exit(1);
  }
  onExit(started.value, (reason) => {
    if (stopping) return;
    // The root gave up (restart intensity reached above it): nothing is left to decide, so the program ends.
    log.fatal({ reason: describeReason(reason) }, 'root supervisor exited; stopping the program');
    exit(1);
  });
  log.info('application started');
  const app = started.value;
  return { stop: () => stop(app, SHUTDOWN, TREE_STOP_MS).then(() => undefined) };
}

// Signals are handled from the first moment: one that comes during start-up stops what has started.
const running = start();

async function shutdown(signal: string, code = 0): Promise<void> {
  if (stopping) {
    if (Date.now() - stoppingSince < RELAYED_SIGNAL_MS) return;
    log.warn({ signal }, 'second signal: exiting at once');
    exit(1);
  }
  stopping = true;
  stoppingSince = Date.now();
  log.info({ signal }, 'shutting down');
  const bound = setTimeout(() => {
    log.error('shutdown took too long; exiting');
    exit(1);
  }, config.SHUTDOWN_TIMEOUT_MS + 5_000);
  bound.unref();
  await (await running).stop();
  log.info('stopped');
  exit(code);
}

process.on('SIGINT', () => void shutdown('SIGINT'));
process.on('SIGTERM', () => void shutdown('SIGTERM'));
// A worker (WORKERS>1) has an IPC channel to its primary: when it closes, the primary is gone, SIGKILL included.
process.on('disconnect', () => void shutdown('primary gone'));
installProcessGuard(log, (fault) => shutdown(fault.reason, 1));
