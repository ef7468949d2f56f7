import { hostname } from 'node:os';
import { SHUTDOWN, describeReason, describeStartError, onExit, stop } from '../supervision/index.js';
import { startApplication } from './application.js';
import { parseConfig } from './config.js';
import { createLogger } from './log.js';

/** Entry point: config -> logger -> the supervision tree; signals stop it in reverse order. */
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

let stopping = false;
const started = await startApplication(config, log, nodeName);
if (!started.ok) {
  log.fatal({ reason: describeStartError(started.error) }, 'application failed to start');
  log.flush();
  process.exit(1);
}
const app = started.value;
log.info('application started');

onExit(app, (reason) => {
  if (stopping) return;
  // The root gave up (restart intensity reached above it): nothing is left to decide, so the program ends.
  log.fatal({ reason: describeReason(reason) }, 'root supervisor exited; stopping the program');
  log.flush();
  process.exit(1);
});

async function shutdown(signal: string): Promise<void> {
  if (stopping) {
    log.warn({ signal }, 'second signal: exiting at once');
    process.exit(1);
  }
  stopping = true;
  log.info({ signal }, 'shutting down');
  const bound = setTimeout(() => {
    log.error('shutdown took too long; exiting');
    process.exit(1);
  }, config.SHUTDOWN_TIMEOUT_MS + 5_000);
  bound.unref();
  await stop(app, SHUTDOWN, config.SHUTDOWN_TIMEOUT_MS + 2_000);
  log.info('stopped');
  log.flush();
  process.exit(0);
}

process.on('SIGINT', () => void shutdown('SIGINT'));
process.on('SIGTERM', () => void shutdown('SIGTERM'));
