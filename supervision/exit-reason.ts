/**
 * Why a process stopped. `normal` and `shutdown` are clean exits: a transient
 * child is not restarted for them. Everything else is abnormal.
 */
export type ExitReason =
  | { readonly kind: 'normal' }
  | { readonly kind: 'shutdown'; readonly detail?: string }
  | { readonly kind: 'killed'; readonly detail?: string }
  | { readonly kind: 'noproc' }
  | { readonly kind: 'crash'; readonly error: Error };

export const SHUTDOWN: ExitReason = { kind: 'shutdown' };
export const KILLED: ExitReason = { kind: 'killed' };

export const isAbnormal = (reason: ExitReason): boolean => reason.kind !== 'normal' && reason.kind !== 'shutdown';

export function crash(error: unknown): ExitReason {
  return { kind: 'crash', error: error instanceof Error ? error : new Error(String(error)) };
}

/** One line a person can read in a log or an admin page. */
export function describeReason(reason: ExitReason): string {
  switch (reason.kind) {
    case 'crash':
      return `crash: ${reason.error.message}`;
    case 'shutdown':
    case 'killed':
      return reason.detail === undefined ? reason.kind : `${reason.kind}: ${reason.detail}`;
    default:
      return reason.kind;
  }
}
