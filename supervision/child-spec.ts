import { isAbnormal, type ExitReason } from './exit-reason.js';
import type { Parent, Pid, StartError } from './process.js';
import type { Result } from './result.js';

/**
 * permanent: always restarted; transient: restarted only after an abnormal exit
 * (a crash or a kill); temporary: never restarted.
 */
type Restart = 'permanent' | 'transient' | 'temporary';

/** Milliseconds the child gets for its terminate callback before it is killed, or 'brutal' to kill at once. */
type Shutdown = number | 'brutal';

export interface ChildSpec {
  readonly id: string;
  readonly start: (parent: Parent) => Promise<Result<Pid, StartError>>;
  readonly restart?: Restart;
  readonly shutdown?: Shutdown;
  /** Supervisors answer snapshot calls, so the tree can be drawn through them. */
  readonly type?: 'worker' | 'supervisor';
  /**
   * Called when a per-child restart intensity gives up on this child (see
   * DynamicSupervisor): the owner of an outside resource (a socket) can close it.
   */
  readonly onGiveUp?: (reason: ExitReason) => void;
}

const DEFAULT_WORKER_SHUTDOWN_MS = 5_000;
/** A supervisor gets as long as its own children need; this bounds a stuck tree. */
const DEFAULT_SUPERVISOR_SHUTDOWN_MS = 60_000;

export function shutdownOf(spec: ChildSpec): Shutdown {
  return spec.shutdown ?? (spec.type === 'supervisor' ? DEFAULT_SUPERVISOR_SHUTDOWN_MS : DEFAULT_WORKER_SHUTDOWN_MS);
}

export function shouldRestart(restart: Restart, reason: ExitReason): boolean {
  switch (restart) {
    case 'permanent':
      return true;
    case 'transient':
      return isAbnormal(reason);
    case 'temporary':
      return false;
  }
}
