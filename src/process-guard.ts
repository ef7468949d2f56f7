import type { Logger } from 'pino';

/**
 * The last line of defence: a promise rejection nobody handled, or an exception
 * nobody caught, is a bug whose damage is unknown. As a supervisor past its
 * restart intensity does, the program logs it (with its stack), stops the tree
 * in order (sockets closed, database released) and exits 1 for its service
 * manager to start it afresh. Node's default would exit at once, stopping nothing.
 */
type Fault =
  | { readonly reason: 'unhandled_rejection'; readonly error: unknown }
  | { readonly reason: 'uncaught_exception'; readonly error: unknown };

const MESSAGES: Record<Fault['reason'], string> = {
  unhandled_rejection: 'unhandled promise rejection; stopping the tree',
  uncaught_exception: 'uncaught exception; stopping the tree',
};

/** pino prints an Error's stack under `err`; a rejection with a non-Error value has none, so its value is shown instead. */
function describe(error: unknown): Record<string, unknown> {
  return error instanceof Error ? { err: error } : { value: String(error) };
}

/**
 * Installs the handlers; `stop` is called once, on the first fault (later ones are logged only),
 * and is expected to exit. Returns the uninstaller.
 */
export function installProcessGuard(log: Logger, stop: (fault: Fault) => Promise<void>): () => void {
  let faulted = false;
  const onFault = (fault: Fault): void => {
    log.fatal({ reason: fault.reason, ...describe(fault.error), alreadyStopping: faulted }, MESSAGES[fault.reason]);
    if (faulted) return;
    faulted = true;
    // Whatever happens next (the loop running dry, a stop that fails), this process ends with 1.
    process.exitCode = 1;
    stop(fault).catch((error: unknown) => {
      log.fatal({ reason: 'stop_failed', ...describe(error) }, 'stopping after a fault failed; exiting');
      log.flush();
      process.exit(1);
    });
  };
  const onRejection = (error: unknown): void => onFault({ reason: 'unhandled_rejection', error });
  const onException = (error: unknown): void => onFault({ reason: 'uncaught_exception', error });
  process.on('unhandledRejection', onRejection);
  process.on('uncaughtException', onException);
  return () => {
    process.off('unhandledRejection', onRejection);
    process.off('uncaughtException', onException);
  };
}
