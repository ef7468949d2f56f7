import type { SupervisorEvent } from '../../supervision/index.js';
import { Ring } from './ring.js';

/** The last 100 restarts and give-ups in the tree, for the observer page. Sessions restart too: a ring, not a list. */

export const SUPERVISOR_LOG_SIZE = 100;

export interface SupervisorLogEntry {
  readonly at: number;
  readonly type: SupervisorEvent['type'];
  readonly path: string;
  readonly reason: string;
  readonly restarts: number;
}

export class SupervisorLog {
  private readonly ring = new Ring<SupervisorLogEntry>(SUPERVISOR_LOG_SIZE);

  add(event: SupervisorEvent, at: number): void {
    this.ring.push({ at, type: event.type, path: event.path, reason: event.reason, restarts: event.restarts });
  }

  /** Newest first. */
  entries(): SupervisorLogEntry[] {
    return this.ring.toArray().reverse();
  }
}
